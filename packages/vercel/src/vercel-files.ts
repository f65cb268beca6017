/**
 * The file calls Vercel's API has no route for (list, stat, make directory, remove, rename), done
 * with standard commands in the sandbox, as the SDK's own `fs` helpers do, but decided by exit
 * status alone, never by the text a command printed: each call runs one small `sh -c` script that
 * probes the path first and ends with a status of its own. Listings come from `find -printf` with
 * NUL-separated fields (the one byte a path cannot hold).
 *
 * Paths reach the scripts as arguments relative to the working directory /vercel/sandbox (where the
 * scripts run), never as part of their text.
 */
import {
  type ExecResult,
  type FileInfo,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  ProviderUnavailableError,
  SandboxFailedError,
  type SandportError,
  TimeoutError,
} from "@sandport/core";
import type { Session } from "@vercel/sandbox";
import { runVercelCommand } from "./vercel-exec.ts";
import { vercelWorkspaceRoot } from "./vercel-request-mapping.ts";
import type { VercelSdk } from "./vercel-settings.ts";

/** Exit statuses of the scripts: each names one outcome. Any other status is unexpected. */
export const fileScriptStatus = {
  ok: 0,
  missing: 40,
  notDirectory: 41,
  exists: 42,
  notEmpty: 43,
  targetIsDirectory: 44,
  refused: 45,
  parentMissing: 46,
  parentNotDirectory: 47,
} as const;

const entryFormat = "%y\\0%s\\0%T@\\0%p\\0";
const exists = (argument: string) => `{ [ -e "${argument}" ] || [ -L "${argument}" ]; }`;

const scripts = {
  // $1 directory, $2 recursive (1/0), $3 fields to keep.
  list: `export LC_ALL=C
${exists("$1")} || exit ${fileScriptStatus.missing}
[ -d "$1" ] || exit ${fileScriptStatus.notDirectory}
if [ "$2" = 1 ]; then
  find -H "$1" -mindepth 1 -printf '${entryFormat}' | head -z -n "$3"
else
  find -H "$1" -mindepth 1 -maxdepth 1 -printf '${entryFormat}' | head -z -n "$3"
fi`,
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
  rename: `${exists("$1")} || exit ${fileScriptStatus.missing}
[ "$1" = "$2" ] && exit 0
if [ ! -d "$3" ]; then
  ${exists("$3")} && exit ${fileScriptStatus.parentNotDirectory}
  exit ${fileScriptStatus.parentMissing}
fi
[ -d "$2" ] && [ ! -L "$2" ] && exit ${fileScriptStatus.targetIsDirectory}
if [ -d "$1" ] && [ ! -L "$1" ] && ${exists("$2")}; then exit ${fileScriptStatus.exists}; fi
mv -T -- "$1" "$2" || exit ${fileScriptStatus.refused}`,
} as const;

const maxListingBytes = 64 * 1024 * 1024;

/** What the file calls need from their sandbox. */
export interface VercelFileContext {
  session: Session;
  sdk: VercelSdk;
  providerId: string;
  /** Limit of one file call, ms. */
  timeoutMs: number;
}

/** An absolute /vercel/sandbox path as the scripts take it: relative to the working directory. */
function scriptPath(absolute: string): string {
  return absolute === vercelWorkspaceRoot ? "." : absolute.slice(vercelWorkspaceRoot.length + 1);
}

function parentOf(absolute: string): string {
  return absolute.slice(0, absolute.lastIndexOf("/")) || "/";
}

async function runScript(
  context: VercelFileContext,
  operation: string,
  script: keyof typeof scripts,
  argumentList: readonly string[],
  signal: AbortSignal | undefined,
  maxOutputBytes?: number,
): Promise<ExecResult> {
  const result = await runVercelCommand({
    session: context.session,
    sdk: context.sdk,
    context: { providerId: context.providerId, operation },
    argv: ["sh", "-c", scripts[script], "sandport", ...argumentList],
    cwd: vercelWorkspaceRoot,
    timeoutMs: context.timeoutMs,
    signal,
    maxOutputBytes,
  });
  if (result.timedOut) {
    throw new TimeoutError(`${operation}: no answer from the sandbox in ${context.timeoutMs} ms`, {
      providerId: context.providerId,
    });
  }
  return result;
}

function statusError(
  context: VercelFileContext,
  operation: string,
  result: ExecResult,
  messages: Partial<Record<number, [code: "not_found" | "invalid_request", message: string]>>,
): SandportError {
  const options = { providerId: context.providerId };
  const known = messages[result.exitCode];
  if (known !== undefined) {
    const [code, message] = known;
    return code === "not_found"
      ? new NotFoundError(`${operation}: ${message}`, options)
      : new InvalidRequestError(`${operation}: ${message}`, options);
  }
  const cause = { exitCode: result.exitCode, stderr: result.stderr.slice(0, 4096) };
  return new SandboxFailedError(
    `${operation}: the command in the sandbox failed unexpectedly (exit status ${result.exitCode})`,
    { ...options, cause },
  );
}

function refusal(result: ExecResult, what: string): [code: "invalid_request", message: string] {
  const detail = result.stderr.trim().split("\n")[0] ?? "";
  return ["invalid_request", `the sandbox refused to ${what}${detail === "" ? "" : ` (${detail})`}`];
}

/** Parses `find -printf` output into entries with absolute /vercel/sandbox paths. */
function parseEntries(context: VercelFileContext, operation: string, text: string): FileInfo[] {
  if (text === "") return [];
  const fields = text.split("\0");
  // The text ends with a NUL, so the last field is empty.
  if (fields.pop() !== "" || fields.length % 4 !== 0) {
    throw new ProviderUnavailableError(`${operation}: the sandbox's listing is malformed`, {
      providerId: context.providerId,
    });
  }
  const entries: FileInfo[] = [];
  for (let index = 0; index < fields.length; index += 4) {
    const [kind, size, seconds, found] = fields.slice(index, index + 4) as [string, string, string, string];
    const relative = found === "." ? "" : found.startsWith("./") ? found.slice(2) : found;
    const path = relative === "" ? vercelWorkspaceRoot : `${vercelWorkspaceRoot}/${relative}`;
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
export async function listVercelFiles(
  context: VercelFileContext,
  path: string,
  absolute: string,
  recursive: boolean,
  maxEntries: number,
  signal: AbortSignal | undefined,
): Promise<FileInfo[]> {
  const operation = `listFiles ${JSON.stringify(path)}`;
  const keepFields = String((Math.min(maxEntries, Number.MAX_SAFE_INTEGER / 4 - 1) + 1) * 4);
  const result = await runScript(
    context,
    operation,
    "list",
    [scriptPath(absolute), recursive ? "1" : "0", keepFields],
    signal,
    maxListingBytes,
  );
  if (result.exitCode !== fileScriptStatus.ok) {
    throw statusError(context, operation, result, {
      [fileScriptStatus.missing]: ["not_found", "no such directory"],
      [fileScriptStatus.notDirectory]: ["invalid_request", "not a directory"],
    });
  }
  if (result.truncated) {
    throw new OutputLimitError(`${operation}: the listing is larger than ${maxListingBytes} bytes`, {
      providerId: context.providerId,
    });
  }
  const entries = parseEntries(context, operation, result.stdout);
  if (entries.length > maxEntries) {
    throw new OutputLimitError(`${operation}: more than maxEntries (${maxEntries}) entries`, {
      providerId: context.providerId,
    });
  }
  return entries.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}

/** `statFile` of an absolute path (a link is described, not followed). */
export async function statVercelFile(
  context: VercelFileContext,
  path: string,
  absolute: string,
  signal: AbortSignal | undefined,
): Promise<FileInfo> {
  const operation = `statFile ${JSON.stringify(path)}`;
  const result = await runScript(context, operation, "stat", [scriptPath(absolute)], signal);
  if (result.exitCode !== fileScriptStatus.ok) {
    throw statusError(context, operation, result, {
      [fileScriptStatus.missing]: ["not_found", "no such file or directory"],
    });
  }
  const [entry] = parseEntries(context, operation, result.stdout);
  if (entry === undefined) {
    throw new ProviderUnavailableError(`${operation}: the sandbox described nothing`, {
      providerId: context.providerId,
    });
  }
  return entry;
}

/** `makeDirectory` of an absolute path. */
export async function makeVercelDirectory(
  context: VercelFileContext,
  path: string,
  absolute: string,
  recursive: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `makeDirectory ${JSON.stringify(path)}`;
  const result = await runScript(
    context,
    operation,
    "mkdir",
    [scriptPath(absolute), recursive ? "1" : "0", scriptPath(parentOf(absolute))],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(context, operation, result, {
    [fileScriptStatus.exists]: [
      "invalid_request",
      recursive ? "a file (not a directory) is in the way" : "it already exists",
    ],
    [fileScriptStatus.parentMissing]: ["not_found", "its parent directory does not exist (use recursive)"],
    [fileScriptStatus.parentNotDirectory]: ["invalid_request", "its parent is not a directory"],
    [fileScriptStatus.refused]: refusal(result, "make the directory"),
  });
}

/** `removeFile` of an absolute path (never the workspace itself). */
export async function removeVercelFile(
  context: VercelFileContext,
  path: string,
  absolute: string,
  recursive: boolean,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `removeFile ${JSON.stringify(path)}`;
  const result = await runScript(
    context,
    operation,
    "remove",
    [scriptPath(absolute), recursive ? "1" : "0"],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(context, operation, result, {
    [fileScriptStatus.missing]: ["not_found", "no such file or directory"],
    [fileScriptStatus.notEmpty]: ["invalid_request", "the directory is not empty (use recursive)"],
    [fileScriptStatus.refused]: refusal(result, "remove it"),
  });
}

/** `renameFile` between absolute paths (never the workspace itself). */
export async function renameVercelFile(
  context: VercelFileContext,
  from: string,
  to: string,
  absoluteFrom: string,
  absoluteTo: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const operation = `renameFile ${JSON.stringify(from)} -> ${JSON.stringify(to)}`;
  if (absoluteTo.startsWith(`${absoluteFrom}/`)) {
    throw new InvalidRequestError(`${operation}: cannot move a directory into itself`, {
      providerId: context.providerId,
    });
  }
  const result = await runScript(
    context,
    operation,
    "rename",
    [scriptPath(absoluteFrom), scriptPath(absoluteTo), scriptPath(parentOf(absoluteTo))],
    signal,
  );
  if (result.exitCode === fileScriptStatus.ok) return;
  throw statusError(context, operation, result, {
    [fileScriptStatus.missing]: ["not_found", "no such file or directory to rename"],
    [fileScriptStatus.parentMissing]: ["not_found", "the target's parent directory does not exist"],
    [fileScriptStatus.parentNotDirectory]: ["invalid_request", "the target's parent is not a directory"],
    [fileScriptStatus.targetIsDirectory]: [
      "invalid_request",
      "the target is an existing directory (only a file is replaced)",
    ],
    [fileScriptStatus.exists]: ["invalid_request", "a directory cannot replace the file at the target"],
    [fileScriptStatus.refused]: refusal(result, "rename it"),
  });
}
