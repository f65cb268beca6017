/**
 * Node's on-disk compile cache for the CLI's own modules, so a second run starts faster. The cache
 * holds bytecode that Node runs, so it lives in a directory only this user owns (never a shared
 * temporary directory another user could have prepared).
 */
import { mkdirSync, statSync } from "node:fs";
import module from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

/** Enables the compile cache under the user's cache home; does nothing when that is not safe or possible. */
export function enableCompileCacheForUser(env: NodeJS.ProcessEnv): void {
  const enable = (module as { enableCompileCache?: (directory: string) => unknown }).enableCompileCache;
  if (enable === undefined || env.SANDPORT_NO_COMPILE_CACHE !== undefined) return;
  try {
    const cacheHome = env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
    const directory = join(cacheHome, "sandport", "node-compile-cache");
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const stats = statSync(directory);
    // Someone else's directory, or one others may write to: not a place to load code from.
    if (stats.uid !== process.getuid?.() || (stats.mode & 0o022) !== 0) return;
    enable(directory);
  } catch {
    // No writable cache home (a read-only home, say): run without the cache.
  }
}
