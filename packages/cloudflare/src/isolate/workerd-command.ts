/**
 * workerd, started so that it dies with this process. miniflare kills workerd when Node exits
 * normally, but not when Node itself is killed (SIGKILL, an OOM kill): then workerd would live on.
 * Started through util-linux `setpriv --pdeathsig KILL`, the kernel kills it with its parent.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

let cached: string | null | undefined;

/** The real workerd binary, as miniflare would start it. */
function workerdBinary(): string {
  const require = createRequire(import.meta.url);
  const fromMiniflare = require.resolve("workerd", { paths: [dirname(require.resolve("miniflare"))] });
  return (require(fromMiniflare) as { default: string }).default;
}

/**
 * A command that runs workerd bound to this process's life, or `undefined` where that cannot be
 * done (no `setpriv` with `--pdeathsig`, not Linux); miniflare then starts workerd itself.
 */
export function workerdBoundToParent(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (process.platform !== "linux") return undefined;
  const probe = spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore" });
  if (probe.status !== 0) return undefined;
  // `exec` keeps one pid: sh becomes setpriv becomes workerd, all children of Node.
  const content = `#!/bin/sh\nexec setpriv --pdeathsig KILL -- ${JSON.stringify(workerdBinary())} "$@"\n`;
  const script = ownScript(content);
  cached = script ?? null;
  return script;
}

/**
 * The script, in a directory only this user can write, named after its content so every process
 * shares one file. A directory someone else made (in a shared /tmp) is never used.
 */
function ownScript(content: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const directory = join(tmpdir(), `sandport-workerd-${uid}`);
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
  }
  const stats = lstatSync(directory);
  if (!stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) return undefined;
  const script = join(directory, `workerd-${hash}`);
  try {
    if (readFileSync(script, "utf8") === content) return script;
  } catch {
    // Not written yet.
  }
  const temporary = `${script}.${process.pid}`;
  writeFileSync(temporary, content, { mode: 0o700 });
  renameSync(temporary, script);
  return script;
}
