/**
 * Small helpers shared by the containment attack tests: deadlines, temporary directories, error
 * codes, host tools and host-side observations (where a file landed, what a file hashes to).
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandportError } from "@sandport/core";
import { detectIsolation, type IsolationChoice } from "@sandport/local";

/** Rejects with a message naming `label` when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no result within ${ms} ms (deadline)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A name no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** A fresh host directory under the system temp directory. */
export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** Removes host paths, ignoring what is already gone. */
export function removePaths(...paths: (string | undefined)[]): void {
  for (const path of paths) {
    if (path !== undefined) rmSync(path, { recursive: true, force: true });
  }
}

/** How a promise ended: its value, or its error's sandport code (or the system code / message). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Awaits `promise` and describes how it ended, without throwing. */
export async function outcomeOf<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (SandportError.isInstance(error)) return { ok: false, code: error.code, message };
    const systemCode = (error as NodeJS.ErrnoException | undefined)?.code;
    return { ok: false, code: `non-sandport error ${systemCode ?? ""}`.trim(), message };
  }
}

// System directories are searched even when PATH lacks them (sbin is often missing).
const systemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Absolute path of a host program, or undefined when it is not installed. */
export function hostTool(name: string): string | undefined {
  const directories = [
    ...(process.env.PATH ?? "").split(":").filter((entry) => entry.startsWith("/")),
    ...systemDirectories,
  ];
  for (const directory of directories) {
    try {
      accessSync(join(directory, name), constants.X_OK);
      return join(directory, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether this process is root. */
export const runningAsRoot = process.getuid?.() === 0;

/** Host paths below `root` whose name passes `matches` (symlinks are not followed), `maxDepth` levels deep. */
function hostPathsWhere(root: string, matches: (name: string) => boolean, maxDepth: number): string[] {
  const found: string[] = [];
  const walk = (directory: string, depth: number) => {
    if (depth > maxDepth) return;
    let entries: string[];
    try {
      entries = readdirSync(directory);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(directory, entry);
      if (matches(entry)) found.push(path);
      try {
        if (lstatSync(path).isDirectory()) walk(path, depth + 1);
      } catch {
        // gone while we looked
      }
    }
  };
  walk(root, 0);
  return found;
}

/**
 * Host paths named `name` below `root` (symlinks are not followed), e.g. to find where a file
 * written through the API landed on the host. Walks at most `maxDepth` levels.
 */
export function findHostPaths(root: string, name: string, maxDepth = 10): string[] {
  return hostPathsWhere(root, (entry) => entry === name, maxDepth);
}

/** Every path below `root` whose name contains `fragment` (symlinks not followed). */
export function pathsContaining(root: string, fragment: string, maxDepth = 64): string[] {
  return hostPathsWhere(root, (entry) => entry.includes(fragment), maxDepth);
}

/** SHA-256 of a host file, hex. */
export function sha256OfFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Vendor id part of a sandbox id (`"local:abc"` -> `"abc"`). */
export function vendorIdOf(sandboxId: string): string {
  return sandboxId.slice(sandboxId.indexOf(":") + 1);
}

/**
 * The isolation settings to attack launch-chain classes with: every isolation tool usable here,
 * so the chain `auto` picks on another machine is covered too. `auto` when detection names none.
 */
export async function launchIsolations(): Promise<IsolationChoice[]> {
  const report = await detectIsolation();
  const usable = report.tools.filter((tool) => tool.usable).map((tool) => tool.name as IsolationChoice);
  return usable.length > 0 ? usable : ["auto"];
}

/** The uid the ordinary-user variants run as. */
export const ordinaryUid = 23456;

/**
 * Whether the ordinary-user variants can run: this process is root and uid {@link ordinaryUid}
 * can read the checkout and run this Node binary (not so under a 0700 parent directory).
 */
export const ordinaryUserAvailable =
  runningAsRoot &&
  hostTool("setpriv") !== undefined &&
  spawnSync("setpriv", [
    `--reuid=${ordinaryUid}`,
    `--regid=${ordinaryUid}`,
    "--clear-groups",
    "--",
    "sh",
    "-c",
    'test -r "$1/package.json" && test -r "$1/node_modules/@sandport/local/package.json" && test -x "$2"',
    "sh",
    process.cwd(),
    process.execPath,
  ]).status === 0;

/** What a host Node script printed, and how it ended. */
export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Command prefix that runs a program as uid {@link ordinaryUid}. */
export const asOrdinaryUser = [
  "setpriv",
  `--reuid=${ordinaryUid}`,
  `--regid=${ordinaryUid}`,
  "--clear-groups",
  "--",
];

/**
 * Runs an ES module script with this Node binary and the source export condition, from the
 * checkout (so `@sandport/*` imports resolve), behind an optional command `prefix` (e.g.
 * {@link asOrdinaryUser}). The child is killed, and the promise rejects, when `deadlineMs` passes.
 */
export function runNodeScript(
  script: string,
  options: { prefix?: string[]; env?: NodeJS.ProcessEnv; deadlineMs: number; label: string },
): Promise<ScriptResult> {
  const command = [
    ...(options.prefix ?? []),
    process.execPath,
    "--conditions=@sandport/source",
    "--input-type=module",
    "--eval",
    script,
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  const finished = new Promise<ScriptResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return withDeadline(finished, options.deadlineMs, options.label).catch((error: unknown) => {
    child.kill("SIGKILL");
    throw new Error(`${String(error)}\nstdout: ${stdout}\nstderr: ${stderr}`);
  });
}

function statusField(name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return match === null ? undefined : Number(match[1]) * 1024;
}

/**
 * Runs `action` and returns its outcome plus how far this process's resident memory rose above
 * where it started, at its peak (VmHWM, reset first through /proc/self/clear_refs; when that
 * cannot be reset, the resident size afterwards).
 */
export async function measurePeakRssGrowth<T>(
  action: () => Promise<T>,
): Promise<{ outcome: Outcome<T>; growthBytes: number }> {
  let peakReset = true;
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    peakReset = false;
  }
  const before = process.memoryUsage().rss;
  const outcome = await outcomeOf(action());
  const after = peakReset ? (statusField("VmHWM") ?? process.memoryUsage().rss) : process.memoryUsage().rss;
  return { outcome, growthBytes: after - before };
}
