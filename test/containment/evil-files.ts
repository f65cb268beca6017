/**
 * Files an attacker prepares inside a sandbox, for request `env` to point at: scripts named like
 * every program a host launcher might exec, a preload library, shell rc files, a Node preload.
 * Each records on the host (in a marker directory only the host can reach) when the host runs it.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LocalSandbox } from "@sandport/local";
import { findHostPaths, uniqueName } from "./containment-support.ts";
import { compileC, compiler, preloadLibrarySource } from "./native-probes.ts";

/** Program names a host-side launch chain might look up through PATH. */
export const launcherToolNames = [
  "mount",
  "umount",
  "pivot_root",
  "unshare",
  "nsenter",
  "setpriv",
  "prlimit",
  "taskset",
  "sh",
  "bash",
  "dash",
  "bwrap",
  "node",
  "env",
  "cat",
  "chmod",
  "chown",
  "mkdir",
  "ln",
  "cp",
  "rm",
  "mv",
  "sleep",
  "true",
  "id",
  "newuidmap",
  "newgidmap",
  "ip",
  "systemd-run",
  "cgcreate",
  "cgexec",
] as const;

/** Names of launch-chain programs: none of them may ever load request data. */
export const launchChainPrograms = new Set([
  "setpriv",
  "prlimit",
  "unshare",
  "nsenter",
  "bwrap",
  "taskset",
  "mount",
  "umount",
  "pivot_root",
  "newuidmap",
  "newgidmap",
  "systemd-run",
  "cgexec",
]);

/** A script that records its run in `markerDirectory/hits` (host) and /workspace/path-hits (sandbox), then runs the real program. */
export function evilToolScript(markerDirectory: string): string {
  return `#!/bin/sh
# sandport containment test: a host-side launcher must never run this file.
saved_path=$PATH
PATH=/usr/bin:/bin
name=\${0##*/}
echo "$name uid=$(id -u) root=$(ls / | tr '\\n' ' ')" >> '${markerDirectory}/hits' 2>/dev/null
echo "$name" >> /workspace/path-hits 2>/dev/null
PATH=$saved_path
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  if [ -x "$dir/$name" ]; then exec "$dir/$name" "$@"; fi
done
echo "$name: not found" >&2
exit 127
`;
}

/** A shell rc file (BASH_ENV, ENV) that records where it was sourced. */
function evilRcScript(markerDirectory: string): string {
  return `echo "rc uid=$(/usr/bin/id -u)" >> '${markerDirectory}/hits' 2>/dev/null\n`;
}

/** A Node preload (NODE_OPTIONS=--require) that records where it ran. */
function evilNodePreload(markerDirectory: string): string {
  return `require("node:fs").appendFileSync(${JSON.stringify(`${markerDirectory}/hits`)}, "node-preload uid=" + process.getuid() + "\\n");\n`;
}

/** The evil files, as host bytes; the preload library is built once per marker directory. */
export interface EvilKit {
  markerDirectory: string;
  /** `relative path -> content`, all under `evil/`. */
  files: Map<string, Uint8Array | string>;
  /** Whether `evil/preload.so` is a real library (a C compiler was found) or junk bytes. */
  realPreload: boolean;
}

/** Prepares the evil files. `buildDirectory` is where the preload library is compiled. */
export function prepareEvilKit(markerDirectory: string, buildDirectory: string): EvilKit {
  const files = new Map<string, Uint8Array | string>();
  for (const name of launcherToolNames) files.set(`evil/${name}`, evilToolScript(markerDirectory));
  files.set("evil/rc.sh", evilRcScript(markerDirectory));
  files.set("evil/evil.cjs", evilNodePreload(markerDirectory));
  // GCONV_PATH: a module list naming the preload library as a charset converter.
  files.set(
    "evil/gconv-modules",
    "module  SANDPORT//  INTERNAL  preload  1\nmodule  INTERNAL  SANDPORT//  preload  1\n",
  );
  let realPreload = false;
  if (compiler !== undefined) {
    const library = compileC(buildDirectory, "preload.so", preloadLibrarySource(markerDirectory), "shared");
    files.set("evil/preload.so", new Uint8Array(readFileSync(library)));
    realPreload = true;
  } else {
    // Not an ELF object: a host-side loader that tries it prints "invalid ELF header".
    files.set("evil/preload.so", "not an ELF object, sandport containment test\n");
  }
  return { markerDirectory, files, realPreload };
}

/**
 * Writes the kit into the sandbox's workspace and returns the host directories where its
 * `evil/` directory shows up under `stateDirectory` (what an attacker learns from mountinfo or
 * the sandbox id). Empty when the workspace is not a plain host directory there.
 */
export async function installEvilKit(
  sandbox: LocalSandbox,
  kit: EvilKit,
  stateDirectory: string,
): Promise<string[]> {
  const locator = uniqueName("sandport-evil-locator");
  for (const [path, content] of kit.files) await sandbox.writeFile(path, content);
  await sandbox.writeFile(`evil/${locator}`, "");
  const chmod = await sandbox.exec(["/bin/chmod", "-R", "a+rX,u+w", "evil"], { env: {} });
  if (chmod.exitCode !== 0) throw new Error(`chmod in the sandbox failed: ${chmod.stderr}`);
  const executables = await sandbox.exec({
    shell: `cd evil && /bin/chmod 755 ${launcherToolNames.join(" ")}`,
  });
  if (executables.exitCode !== 0) throw new Error(`chmod in the sandbox failed: ${executables.stderr}`);
  return findHostPaths(stateDirectory, locator).map((path) => dirname(path));
}

/** Request env pointing every loader and shell hook at the evil files (host paths first). */
export function attackEnvironment(hostEvilDirectories: string[]): Record<string, string> {
  const directories = [...hostEvilDirectories, "/workspace/evil"];
  const first = directories[0] as string;
  return {
    PATH: [
      ...directories,
      "/usr/local/sbin",
      "/usr/local/bin",
      "/usr/sbin",
      "/usr/bin",
      "/sbin",
      "/bin",
    ].join(":"),
    LD_PRELOAD: directories.map((directory) => join(directory, "preload.so")).join(":"),
    LD_LIBRARY_PATH: directories.join(":"),
    LD_AUDIT: directories.map((directory) => join(directory, "preload.so")).join(":"),
    BASH_ENV: join(first, "rc.sh"),
    ENV: join(first, "rc.sh"),
    IFS: "/",
    GCONV_PATH: first,
    NODE_OPTIONS: `--require ${join(first, "evil.cjs")}`,
    SANDPORT_ATTACK_MARKER: uniqueName("value"),
  };
}

/** Lines of `env` output as a map. */
export function parseEnv(output: string): Map<string, string> {
  const variables = new Map<string, string>();
  for (const line of output.split("\n")) {
    const equals = line.indexOf("=");
    if (equals > 0) variables.set(line.slice(0, equals), line.slice(equals + 1));
  }
  return variables;
}

/** Writes the kit under `directory/evil` on the host (world-readable), for runs that cannot use a workspace. */
export function writeEvilKitToHost(kit: EvilKit, directory: string): string {
  const evil = join(directory, "evil");
  mkdirSync(evil, { recursive: true, mode: 0o755 });
  for (const [path, content] of kit.files) {
    const target = join(directory, path);
    writeFileSync(target, content);
    const name = path.slice("evil/".length);
    chmodSync(target, (launcherToolNames as readonly string[]).includes(name) ? 0o755 : 0o644);
  }
  chmodSync(directory, 0o755);
  return evil;
}
