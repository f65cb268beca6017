/**
 * workerd, started through a small shell script that binds it to this process and caps its memory.
 * miniflare kills workerd when Node exits normally, but not when Node itself is killed (SIGKILL, an
 * OOM kill): then workerd would live on. Started through util-linux `setpriv --pdeathsig KILL`, the
 * kernel kills it with its parent. `ulimit -d` (RLIMIT_DATA) caps its writable memory, which V8's
 * heap limit leaves open (ArrayBuffers, WebAssembly memories); it works without root or cgroups.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

let setprivWorks: boolean | undefined;

/** The real workerd binary, as miniflare would start it. */
function workerdBinary(): string {
  const require = createRequire(import.meta.url);
  const fromMiniflare = require.resolve("workerd", { paths: [dirname(require.resolve("miniflare"))] });
  return (require(fromMiniflare) as { default: string }).default;
}

/** True when engines die with this process even when it is killed outright (Linux with `setpriv`). */
export function workerdBoundToParent(): boolean {
  if (setprivWorks === undefined) {
    setprivWorks =
      process.platform === "linux" &&
      spawnSync("setpriv", ["--pdeathsig", "KILL", "--", "true"], { stdio: "ignore" }).status === 0;
  }
  return setprivWorks;
}

/** Options of {@link workerdCommand}. */
export interface WorkerdCommandOptions {
  /** `RLIMIT_DATA` of the engine, bytes; `undefined` for none. */
  dataLimitBytes: number | undefined;
}

/**
 * A command that runs workerd bound to this process's life and under `dataLimitBytes`, or
 * `undefined` where neither applies (not Linux); miniflare then starts workerd itself.
 */
export function workerdCommand(options: WorkerdCommandOptions): string | undefined {
  if (process.platform !== "linux") return undefined;
  const lines = ["#!/bin/sh"];
  if (options.dataLimitBytes !== undefined) {
    // In KiB. A lower hard limit set by the operator already bounds it, so a refusal is fine.
    lines.push(`ulimit -d ${Math.ceil(options.dataLimitBytes / 1024)} 2>/dev/null || true`);
  }
  const binary = JSON.stringify(workerdBinary());
  // `exec` keeps one pid: sh becomes setpriv becomes workerd, all children of Node.
  if (workerdBoundToParent()) lines.push(`exec setpriv --pdeathsig KILL -- ${binary} "$@"`);
  else if (options.dataLimitBytes !== undefined) lines.push(`exec ${binary} "$@"`);
  else return undefined;
  return ownScript(`${lines.join("\n")}\n`);
}

let privateDirectory: string | undefined;

/** A directory only this user can write: the shared one, or a fresh one of this process. */
function scriptDirectory(): string {
  const uid = process.getuid?.() ?? 0;
  const directory = join(tmpdir(), `sandport-workerd-${uid}`);
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const stats = lstatSync(directory);
  if (stats.isDirectory() && stats.uid === uid && (stats.mode & 0o077) === 0) return directory;
  privateDirectory ??= mkdtempSync(join(tmpdir(), "sandport-workerd-"));
  return privateDirectory;
}

/**
 * The script, in a directory only this user can write, named after its content so every process
 * shares one file. A directory someone else made (in a shared /tmp) is never used.
 */
function ownScript(content: string): string {
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const directory = scriptDirectory();
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
