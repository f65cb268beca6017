/**
 * The file calls a vendor API has no route for (list, stat, make directory, remove, rename, and
 * why a read failed), done with standard commands in the sandbox, for adapters whose backend only
 * runs commands. Each call runs one small `sh -c` script that probes the path first (`test -e`,
 * `-d`, `-L`) and ends with an exit status of its own, so outcomes map to errors by that status
 * alone, never by the text a command printed. Listings come from `find -printf` with NUL-separated
 * fields (the one byte a path cannot hold). Paths reach the scripts as arguments, never as part of
 * their text.
 */

import {
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  ProviderUnavailableError,
  SandboxFailedError,
  type SandportError,
  TimeoutError,
} from "./errors.ts";
import { defaultMaxOutputBytes } from "./output-buffer.ts";
import type { ExecResult, FileInfo } from "./sandbox-request.ts";

/** Exit statuses of the scripts: each names one outcome. Any other status is unexpected. */
export const fileScriptStatus = {
  ok: 0,
  /** The path (or `from`) does not exist. */
  missing: 40,
  /** A directory was expected (listFiles) and something else is there. */
  notDirectory: 41,
  /** Something exists where the call would create (makeDirectory; a directory onto a file). */
  exists: 42,
  /** The directory holds entries (removeFile without recursive). */
  notEmpty: 43,
  /** The target is an existing directory (renameFile). */
  targetIsDirectory: 44,
  /** The command itself refused (permissions, a read-only or full filesystem, a file in the way). */
  refused: 45,
  /** The parent directory does not exist. */
  parentMissing: 46,
  /** The parent exists and is not a directory. */
  parentNotDirectory: 47,
  /** The path is a directory (readFile's classification). */
  isDirectory: 48,
  /** The path exists and is not a regular file (readFile's classification). */
  notRegular: 49,
} as const;

/** One entry as `find -printf` writes it: type letter, size, mtime (seconds), path; NUL after each. */
const entryFormat = "%y\\0%s\\0%T@\\0%p\\0";

/** `test` of "exists, even as a dangling link". */
const exists = (argument: string) => `{ [ -e "${argument}" ] || [ -L "${argument}" ]; }`;

/**
 * The scripts, positional arguments first. `LC_ALL=C` keeps `find`'s number formats fixed. A
 * directory is one that is not a link (a link is removed, renamed or replaced as itself).
 */
const scripts = {
  // $1 directory, $2 recursive (1/0), $3 how many NUL-terminated fields to keep (entries past the
  // cap only need to show that there were more, so `head` stops `find` early).
  list: `export LC_ALL=C
${exists("$1")} || exit ${fileScriptStatus.missing}
[ -d "$1" ] || exit ${fileScriptStatus.notDirectory}
if [ "$2" = 1 ]; then
  find -H "$1" -mindepth 1 -printf '${entryFormat}' | head -z -n "$3"
else
  find -H "$1" -mindepth 1 -maxdepth 1 -printf '${entryFormat}' | head -z -n "$3"
fi`,
  // $1 path. `find` without -L describes a link itself.
  stat: `export LC_ALL=C
${exists("$1")} || exit ${fileScriptStatus.missing}
exec find "$1" -maxdepth 0 -printf '${entryFormat}'`,
  // $1 path, $2 recursive, $3 parent.
  mkdir: `if [ "$2" = 1 ]; then
  [ -d "$1" ] && exit 0
  ${exists("$1")} && exit ${fileScriptStatus.exists}
  mkdir -p -- "$1" || exit ${fileScriptStatus.refused}
  exit 0
fi
${exists("$1")} && exit ${fileScriptStatus.exists}
if [ ! -d "$3" ]; then
  ${exists("$3")} && exit ${fileScriptStatus.parentNotDirectory}
  exit ${fileScriptStatus.parentMissing}
fi
mkdir -- "$1" || exit ${fileScriptStatus.refused}`,
  // $1 path, $2 recursive.
  remove: `${exists("$1")} || exit ${fileScriptStatus.missing}
if [ -d "$1" ] && [ ! -L "$1" ]; then
  if [ "$2" = 1 ]; then
    rm -rf -- "$1" || exit ${fileScriptStatus.refused}
    exit 0
  fi
  [ -z "$(find "$1" -mindepth 1 -maxdepth 1 -printf x -quit)" ] || exit ${fileScriptStatus.notEmpty}
  rmdir -- "$1" || exit ${fileScriptStatus.refused}
  exit 0
fi
rm -f -- "$1" || exit ${fileScriptStatus.refused}`,
  // $1 from, $2 to, $3 parent of to. `mv -T` never moves into a directory named by `to`.
  rename: `${exists("$1")} || exit ${fileScriptStatus.missing}
[ "$1" = "$2" ] && exit 0
if [ ! -d "$3" ]; then
  ${exists("$3")} && exit ${fileScriptStatus.parentNotDirectory}
  exit ${fileScriptStatus.parentMissing}
fi
[ -d "$2" ] && [ ! -L "$2" ] && exit ${fileScriptStatus.targetIsDirectory}
if [ -d "$1" ] && [ ! -L "$1" ] && ${exists("$2")}; then exit ${fileScriptStatus.exists}; fi
mv -T -- "$1" "$2" || exit ${fileScriptStatus.refused}`,
  // $1 path: why a read failed.
  classify: `[ -d "$1" ] && exit ${fileScriptStatus.isDirectory}
${exists("$1")} || exit ${fileScriptStatus.missing}
[ -f "$1" ] || exit ${fileScriptStatus.notRegular}
exit 0`,
} as const;

/** Largest listing read back, bytes: far past 10,000 entries of long paths. */
const maxListingBytes = 64 * 1024 * 1024;

/** How an adapter runs the scripts in its sandbox. */
export interface ShellFileRunner {
  readonly providerId: string;
  /** Where the commands run, for messages: e.g. "the container". */
  readonly place: string;
  /** Limit of one file call, ms (named when a call passes it). */
  readonly timeoutMs: number;
  /**
   * Runs `argv` (`sh -c <script> sandport <arguments...>`) in the sandbox's working directory with
   * a timeout of `timeoutMs`, keeping at most `maxOutputBytes` of output.
   */
  run(
    operation: string,
    argv: readonly string[],
    signal: AbortSignal | undefined,
    maxOutputBytes: number,
  ): Promise<ExecResult>;
  /** An absolute path as the scripts take it. Default: unchanged. */
  scriptPath?(absolute: string): string;
  /** A path `find` printed, as the absolute path callers see. Default: unchanged. */
  foundPath?(found: string): string;
}

/** The message of a listing cut at `maxEntries`. */
export function tooManyEntriesMessage(path: string, maxEntries: number): string {
  return `listFiles ${JSON.stringify(path)}: more than ${maxEntries} entries (raise options.maxEntries, or list a subdirectory)`;
}

function quoted(path: string): string {
  return JSON.stringify(path);
}

function parentOf(absolute: string): string {
  const slash = absolute.lastIndexOf("/");
  return slash <= 0 ? "/" : absolute.slice(0, slash);
}

function scriptPathOf(runner: ShellFileRunner, absolute: string): string {
  return runner.scriptPath?.(absolute) ?? absolute;
}

/** Runs one script; a call past its time limit fails as `timeout`. */
async function runScript(
  runner: ShellFileRunner,
  operation: string,
  script: keyof typeof scripts,
  argumentList: readonly string[],
  signal: AbortSignal | undefined,
  maxOutputBytes = defaultMaxOutputBytes,
): Promise<ExecResult> {
  const result = await runner.run(
    operation,
    ["sh", "-c", scripts[script], "sandport", ...argumentList],
    signal,
    maxOutputBytes,
  );
  if (result.timedOut) {
    throw new TimeoutError(`${operation}: no answer from ${runner.place} in ${runner.timeoutMs} ms`, {
      providerId: runner.providerId,
    });
  }
  return result;
}

type StatusMessages = Partial<Record<number, [code: "not_found" | "invalid_request", message: string]>>;

/** The error of an outcome a script reported, or of a status it does not define. */
function statusError(
  runner: ShellFileRunner,
  operation: string,
  result: ExecResult,
  messages: StatusMessages,
): SandportError {
  const options = { providerId: runner.providerId };
  const known = messages[result.exitCode];
  if (known !== undefined) {
    const [code, message] = known;
    return code === "not_found"
      ? new NotFoundError(`${operation}: ${message}`, options)
      : new InvalidRequestError(`${operation}: ${message}`, options);
  }
  // Kept for debugging only; the outcome never depends on it.
  const cause = { exitCode: result.exitCode, stderr: result.stderr.slice(0, 4096) };
  return new SandboxFailedError(
    `${operation}: the command in ${runner.place} failed unexpectedly (exit status ${result.exitCode})`,
    { ...options, cause },
  );
}

/** `refused` carries the command's own complaint, for the person reading the message. */
function refusal(
  runner: ShellFileRunner,
  result: ExecResult,
  what: string,
): [code: "invalid_request", message: string] {
  const detail = result.stderr.trim().split("\n")[0] ?? "";
  return ["invalid_request", `${runner.place} refused to ${what}${detail === "" ? "" : ` (${detail})`}`];
}

/** Parses `find -printf` output (see {@link entryFormat}), from the exact bytes where there are some. */
function parseEntries(runner: ShellFileRunner, operation: string, result: ExecResult): FileInfo[] {
  const bytes = result.stdoutBytes ?? new TextEncoder().encode(result.stdout);
  const decoder = new TextDecoder();
  const fields: string[] = [];
  let start = 0;
  for (let index = 0; index < bytes.byteLength; index += 1) {
    if (bytes[index] !== 0) continue;
    fields.push(decoder.decode(bytes.subarray(start, index)));
    start = index + 1;
  }
  if (start !== bytes.byteLength || fields.length % 4 !== 0) {
    throw new ProviderUnavailableError(`${operation}: the listing from ${runner.place} is malformed`, {
      providerId: runner.providerId,
    });
  }
  const entries: FileInfo[] = [];
  for (let index = 0; index < fields.length; index += 4) {
    const [kind, size, seconds, found] = fields.slice(index, index + 4) as [string, string, string, string];
    const path = runner.foundPath?.(found) ?? found;
    const modifiedMs = Math.floor(Number(seconds) * 1000);
    entries.push({
      name: path.slice(path.lastIndexOf("/") + 1),
      path,
      type: kind === "f" ? "file" : kind === "d" ? "directory" : kind === "l" ? "symlink" : "other",
      size: Number(size),
      modifiedAt: new Date(Number.isFinite(modifiedMs) ? modifiedMs : 0),
    });
  }
  return entries;
}

/** `listFiles` of an absolute directory: at most `maxEntries` entries, sorted by path. */
export async function listFilesByShell(
  runner: ShellFileRunner,
  path: string,
  absolute: string,
  recursive: boolean,
  maxEntries: number,
  signal: AbortSignal | undefined,
): Promise<FileInfo[]> {
  const operation = `listFiles ${quoted(path)}`;
  const keepFields = String((Math.min(maxEntries, Number.MAX_SAFE_INTEGER / 4 - 1) + 1) * 4);
  const result = await runScript(
    runner,
    operation,
    "list",
    [scriptPathOf(runner, absolute), recursive ? "1" : "0", keepFields],
    signal,
    maxListingBytes,
  );
  if (result.exitCode !== fileScriptStatus.ok) {
    throw statusError(runner, operation, result, {
      [fileScriptStatus.missing]: ["not_found", "no such directory"],
      [fileScriptStatus.notDirectory]: ["invalid_request", "not a directory"],
    });
  }
  if (result.truncated) {
    throw new OutputLimitError(`${operation}: the listing is larger than ${maxListingBytes} bytes`, {
      providerId: runner.providerId,
    });
  }
  const entries = parseEntries(runner, operation, result);
  if (entries.length > maxEntries) {
    throw new OutputLimitError(tooManyEntriesMessage(path, maxEntries), { providerId: runner.providerId });
  }
  return entries.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}

/** `statFile` of an absolute path (a link is described, not followed). */
export async function statFileByShell(
  runner: ShellFileRunner,
  path: string,
  absolute: string,
  signal: AbortSignal | undefined,
): Promise<FileInfo> {
  const operation = `statFile ${quoted(path)}`;
  const result = await runScript(runner, operation, "stat", [scriptPathOf(runner, absolute)], signal);
  if (result.exitCode !== fileScriptStatus.ok) {
    throw statusError(runner, operation, result, {
      [fileScriptStatus.missing]: ["not_found", "no such file or directory"],
    });
  }
  const [entry] = parseEntries(runner, operation, result);
  if (entry === undefined) {
    throw new ProviderUnavailableError(`${operation}: ${runner.place} described nothing`, {
      providerId: runner.providerId,
    });
  }
  return entry;
}

/** `makeDirectory` of an absolute path. */
export async function makeDirectoryByShell(
  runner: ShellFileRunner,
  path: string,
  absolute: string,
  recursive: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `makeDirectory ${quoted(path)}`;
  const result = await runScript(
    runner,
    operation,
    "mkdir",
    [scriptPathOf(runner, absolute), recursive ? "1" : "0", scriptPathOf(runner, parentOf(absolute))],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(runner, operation, result, {
    [fileScriptStatus.exists]: [
      "invalid_request",
      recursive ? "a file (not a directory) is in the way" : "it already exists",
    ],
    [fileScriptStatus.parentMissing]: ["not_found", "its parent directory does not exist (use recursive)"],
    [fileScriptStatus.parentNotDirectory]: ["invalid_request", "its parent is not a directory"],
    [fileScriptStatus.refused]: refusal(
      runner,
      result,
      "make the directory (a file in the way, or no permission)",
    ),
  });
}

/** `removeFile` of an absolute path (never the working area itself: the caller checks). */
export async function removeFileByShell(
  runner: ShellFileRunner,
  path: string,
  absolute: string,
  recursive: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `removeFile ${quoted(path)}`;
  const result = await runScript(
    runner,
    operation,
    "remove",
    [scriptPathOf(runner, absolute), recursive ? "1" : "0"],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(runner, operation, result, {
    [fileScriptStatus.missing]: ["not_found", "no such file or directory"],
    [fileScriptStatus.notEmpty]: ["invalid_request", "the directory is not empty (use recursive)"],
    [fileScriptStatus.refused]: refusal(runner, result, "remove it"),
  });
}

/** `renameFile` between absolute paths (never the working area itself: the caller checks). */
export async function renameFileByShell(
  runner: ShellFileRunner,
  from: string,
  to: string,
  absoluteFrom: string,
  absoluteTo: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `renameFile ${quoted(from)} -> ${quoted(to)}`;
  if (absoluteTo.startsWith(`${absoluteFrom}/`)) {
    throw new InvalidRequestError(`${operation}: cannot move a directory into itself`, {
      providerId: runner.providerId,
    });
  }
  const result = await runScript(
    runner,
    operation,
    "rename",
    [
      scriptPathOf(runner, absoluteFrom),
      scriptPathOf(runner, absoluteTo),
      scriptPathOf(runner, parentOf(absoluteTo)),
    ],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(runner, operation, result, {
    [fileScriptStatus.missing]: ["not_found", "no such file or directory to rename"],
    [fileScriptStatus.parentMissing]: ["not_found", "the target's parent directory does not exist"],
    [fileScriptStatus.parentNotDirectory]: ["invalid_request", "the target's parent is not a directory"],
    [fileScriptStatus.targetIsDirectory]: [
      "invalid_request",
      "the target is an existing directory (only a file is replaced)",
    ],
    [fileScriptStatus.exists]: ["invalid_request", "a directory cannot replace the file at the target"],
    [fileScriptStatus.refused]: refusal(runner, result, "rename it"),
  });
}

/**
 * Why a read of an absolute path failed, asked of the sandbox: the error to report instead of the
 * vendor's, or `undefined` when the path is a regular file after all (the vendor's error stands).
 */
export async function classifyUnreadableByShell(
  runner: ShellFileRunner,
  path: string,
  absolute: string,
  signal: AbortSignal | undefined,
): Promise<SandportError | undefined> {
  const operation = `readFile ${quoted(path)}`;
  const result = await runScript(runner, operation, "classify", [scriptPathOf(runner, absolute)], signal, 0);
  if (result.exitCode === fileScriptStatus.ok) return undefined;
  return statusError(runner, operation, result, {
    [fileScriptStatus.isDirectory]: ["invalid_request", "it is a directory, not a file"],
    [fileScriptStatus.missing]: ["not_found", "no such file"],
    [fileScriptStatus.notRegular]: ["invalid_request", "it is not a regular file"],
  });
}
