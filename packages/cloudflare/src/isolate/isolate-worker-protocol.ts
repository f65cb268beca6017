/**
 * The HTTP protocol between the Node-side `cloudflare-isolate` provider and the isolate Worker
 * (`worker/`), and the limits both sides enforce with the checks of what a run reports (the Worker
 * checks its runner's reply, the Node side checks the Worker's answer again). No imports and no
 * Node code, so the Worker loads it as it is.
 *
 * `GET /v1/health` -> `{ ok, protocol, limits }`. Every route needs `Authorization: Bearer <token>`. Bodies are JSON unless stated; file bodies are
 * raw bytes. Errors answer with a status and an {@link IsolateWorkerErrorBody}.
 *
 * Stateful routes (remote mode; state lives in one Durable Object per sandbox):
 * - `POST   /v1/sandboxes`                  {@link IsolateWorkerCreateBody} -> {@link IsolateWorkerSandboxInfo}
 * - `GET    /v1/sandboxes?labels={json}`    -> {@link IsolateWorkerSandboxList} (live ones carrying the labels)
 * - `GET    /v1/sandboxes/{id}`             -> {@link IsolateWorkerSandboxInfo} (404 when gone)
 * - `POST   /v1/sandboxes/{id}/run`         {@link IsolateWorkerRunBody} -> {@link IsolateWorkerRunResult}
 * - `PUT    /v1/sandboxes/{id}/files/{path}` raw bytes -> 204
 * - `GET    /v1/sandboxes/{id}/files/{path}` -> raw bytes (404 when missing, 400 for a directory)
 * - `POST   /v1/sandboxes/{id}/fs/list`     {@link IsolateWorkerListBody} -> {@link IsolateWorkerFileList}
 * - `POST   /v1/sandboxes/{id}/fs/stat`     {@link IsolateWorkerPathBody} -> {@link IsolateWorkerFileEntry}
 * - `POST   /v1/sandboxes/{id}/fs/mkdir`    {@link IsolateWorkerRecursiveBody} -> 204
 * - `POST   /v1/sandboxes/{id}/fs/remove`   {@link IsolateWorkerRecursiveBody} -> 204
 * - `POST   /v1/sandboxes/{id}/fs/rename`   {@link IsolateWorkerRenameBody} -> 204
 * - `DELETE /v1/sandboxes/{id}`             -> 204 (also when already gone)
 *
 * File paths are relative to the workspace, `/`-separated, without empty, `.` or `..` segments;
 * in the `fs` bodies `""` names the workspace itself. A missing path answers 404 `not_found`, a
 * path of the wrong kind (a directory to read, a file to list) 400 `invalid_request`.
 *
 * Stateless route (local mode; the caller keeps the files and sends them with each run; a deployed
 * Worker answers it 404, since only a local engine is stopped with a run that timed out):
 * - `POST   /v1/execute`                    {@link IsolateWorkerExecuteBody} -> {@link IsolateWorkerExecuteResult}
 */

/** What code in the sandbox may reach over the network. */
export type IsolateWorkerEgress = "none" | "open" | { allow: string[] };

/** Limits a deployment enforces (its variables, reported by `GET /v1/health`). */
export interface IsolateWorkerLimits {
  /** Largest `code` accepted, bytes. */
  maxCodeBytes: number;
  /** Total size of the sandbox's files, bytes. */
  maxFilesBytes: number;
}

/** Body of `POST /v1/sandboxes`. */
export interface IsolateWorkerCreateBody {
  env: Record<string, string>;
  egress: IsolateWorkerEgress;
  labels: Record<string, string>;
  /** Lifetime; the isolate Worker deletes the sandbox's state when it ends. */
  ttlMs?: number;
  /** Total size of the sandbox's files, bytes, below the isolate Worker's own limit. */
  maxFilesBytes?: number;
}

/** A sandbox as the isolate Worker reports it. */
export interface IsolateWorkerSandboxInfo {
  id: string;
  createdAt: number;
  expiresAt?: number;
  labels: Record<string, string>;
}

/** Answer of `GET /v1/sandboxes`. */
export interface IsolateWorkerSandboxList {
  sandboxes: IsolateWorkerSandboxInfo[];
}

/** Body of `POST /v1/sandboxes/{id}/run`. */
export interface IsolateWorkerRunBody {
  /** A JavaScript module (TypeScript types already stripped by the caller). */
  code: string;
  /** Extra environment for this run, over the sandbox's own. */
  env: Record<string, string>;
  /** Wall-clock limit of the run, ms. */
  timeoutMs: number;
  /** Per-stream cap of captured output, bytes. */
  maxOutputBytes: number;
  /**
   * The code may use `node:fs`: the workspace is mounted and collected afterwards even when it is
   * empty. Mounting costs a few ms, so runs that cannot reach the filesystem skip it.
   */
  filesystem: boolean;
  /**
   * The code names `process`: its env, `exit` and `stdout`/`stderr` are set up for it. The first
   * touch of `process` costs a few ms per isolate, so code that cannot reach it skips that.
   */
  process: boolean;
}

/** Outcome of one run. */
export interface IsolateWorkerRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
  /** The module's default export (or what a default-exported function returned), as JSON text. */
  valueJson?: string;
  /** stdout and stderr as kept, interleaved in the order the code wrote them. */
  output?: string;
}

/** Body of `POST /v1/execute`: a run together with the sandbox state it needs. */
export interface IsolateWorkerExecuteBody extends IsolateWorkerRunBody {
  egress: IsolateWorkerEgress;
  /** The workspace, path (relative) -> base64 bytes. */
  files: Record<string, string>;
  /** Directories of the workspace (relative), so empty ones exist for the code too. */
  directories?: string[];
  /** Total size the files may reach after the run, bytes. */
  maxFilesBytes: number;
}

/** Result of `POST /v1/execute`. */
export interface IsolateWorkerExecuteResult extends IsolateWorkerRunResult {
  /** The whole workspace after the run (base64), or absent when it was not mounted. */
  files?: Record<string, string>;
  /** Every directory of the workspace after the run, when it was mounted. */
  directories?: string[];
}

/** Body of `POST /v1/sandboxes/{id}/fs/stat`. */
export interface IsolateWorkerPathBody {
  /** Relative to the workspace; `""` is the workspace itself. */
  path: string;
}

/** Body of `POST /v1/sandboxes/{id}/fs/mkdir` and `.../fs/remove`. */
export interface IsolateWorkerRecursiveBody extends IsolateWorkerPathBody {
  recursive: boolean;
}

/** Body of `POST /v1/sandboxes/{id}/fs/list`. */
export interface IsolateWorkerListBody extends IsolateWorkerRecursiveBody {
  /** The isolate Worker answers at most one entry more than this, so the caller can tell there were more. */
  maxEntries: number;
}

/** Body of `POST /v1/sandboxes/{id}/fs/rename`. */
export interface IsolateWorkerRenameBody {
  from: string;
  to: string;
}

/** One entry of the workspace. */
export interface IsolateWorkerFileEntry {
  /** Relative to the workspace; `""` is the workspace itself. */
  path: string;
  type: "file" | "directory";
  /** Bytes; 0 for a directory. */
  size: number;
  /** Last modification, ms since the epoch. */
  modifiedAt: number;
}

/** Answer of `POST /v1/sandboxes/{id}/fs/list`: sorted by path. */
export interface IsolateWorkerFileList {
  entries: IsolateWorkerFileEntry[];
}

/** Stable error codes the isolate Worker answers with. */
export type IsolateWorkerErrorCode =
  | "unauthorized"
  | "not_found"
  | "invalid_request"
  | "files_too_large"
  | "quota_exceeded"
  | "rate_limited"
  | "not_configured"
  | "internal";

/** Body of every error response. */
export interface IsolateWorkerErrorBody {
  error: { code: IsolateWorkerErrorCode; message: string };
}

// Limits and checks shared by both sides.

/**
 * Default total size of one sandbox's files, bytes: 24 MiB. A run carries the whole workspace to
 * its isolate over RPC, which workerd and Cloudflare cap at 32 MiB per message; the rest is room
 * for the code (1 MiB by default), env and the paths.
 */
export const defaultMaxFilesBytes = 24 * 1024 * 1024;

/** Most files and directories one sandbox may hold. */
export const maxWorkspaceEntries = 10_000;

/** Longest path of one file or directory, UTF-8 bytes. */
export const maxPathBytes = 4096;

/** Bounds of `labels`: entries, and UTF-8 bytes of all keys and values together. */
export const labelBounds = { maxEntries: 64, maxBytes: 16 * 1024 } as const;

/** Bounds of `env` (a sandbox's and a run's, each): entries and total UTF-8 bytes. */
export const envBounds = { maxEntries: 1024, maxBytes: 256 * 1024 } as const;

/** Largest JSON body of a route that carries no files, bytes. */
export const maxSmallBodyBytes = 1024 * 1024;

/**
 * Header of an engine's answer asking local mode's pool to stop that engine before it takes
 * another request: the Worker sets it when a run timed out, so whatever the run's isolate still
 * does (timers, fetches) ends with the engine. "Timed out" then means stopped.
 */
export const engineStopHeader = "sandport-stop-engine";

const encoder = new TextEncoder();

/** UTF-8 length of `text`. */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * Why `record` (labels or env) is over `bounds`, naming `field`, or `undefined` when it fits.
 * Keys and values both count toward the bytes.
 */
export function recordBoundsProblem(
  record: Record<string, string>,
  field: string,
  bounds: { maxEntries: number; maxBytes: number },
): string | undefined {
  const entries = Object.entries(record);
  if (entries.length > bounds.maxEntries) {
    return `${field} has ${entries.length} entries, over the limit of ${bounds.maxEntries}`;
  }
  let bytes = 0;
  for (const [key, value] of entries) bytes += utf8Bytes(key) + utf8Bytes(value);
  if (bytes > bounds.maxBytes) return `${field} takes ${bytes} bytes, over the limit of ${bounds.maxBytes}`;
  return undefined;
}

/**
 * What a workspace costs against its size limit: every file's bytes plus the UTF-8 bytes of every
 * file's and directory's path, so thousands of empty files with long names count too.
 */
export function workspaceUsageBytes(
  files: Iterable<readonly [string, Uint8Array]>,
  directories: Iterable<string>,
): number {
  let total = 0;
  for (const [path, bytes] of files) total += bytes.byteLength + utf8Bytes(path);
  for (const path of directories) total += utf8Bytes(path);
  return total;
}

/** Whether `path` is a workspace path: relative, `/`-separated, no empty, `.` or `..` segment, not too long. */
export function validWorkspacePath(path: unknown): path is string {
  if (typeof path !== "string" || path === "" || path.includes("\0")) return false;
  if (utf8Bytes(path) > maxPathBytes) return false;
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") return false;
  }
  return true;
}

/**
 * Why a workspace (files and directories a run left, or a caller sent) is not one a filesystem
 * could hold within `limit`, or `undefined` when it is fine: an invalid or duplicate path, a file
 * where another entry needs a directory (`a` and `a/b`), too many entries, or too many bytes.
 */
export function workspaceProblem(
  files: ReadonlyMap<string, Uint8Array>,
  directories: Iterable<string>,
  limit: number,
): string | undefined {
  const directorySet = new Set<string>();
  for (const path of directories) {
    if (!validWorkspacePath(path)) return "a directory path is not a valid workspace path";
    if (files.has(path)) return `"${path}" is both a file and a directory`;
    directorySet.add(path);
  }
  for (const [path, bytes] of files) {
    if (!validWorkspacePath(path)) return "a file path is not a valid workspace path";
    if (!(bytes instanceof Uint8Array)) return `"${path}" holds something that is not bytes`;
  }
  for (const path of [...files.keys(), ...directorySet]) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      if (files.has(path.slice(0, slash)))
        return `"${path.slice(0, slash)}" is a file, so "${path}" cannot exist`;
    }
  }
  const entries = files.size + directorySet.size;
  if (entries > maxWorkspaceEntries) {
    return `the workspace holds ${entries} files and directories, over the limit of ${maxWorkspaceEntries}`;
  }
  const usage = workspaceUsageBytes(files, directorySet);
  if (usage > limit) {
    return `the files take ${usage} bytes (contents and paths), over the sandbox's limit of ${limit} bytes`;
  }
  return undefined;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes on a character boundary, and whether it was cut. */
export function capText(text: string, maxBytes: number): { text: string; cut: boolean } {
  // Fast path: every UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return { text, cut: false };
  const encoded = encoder.encode(text);
  if (encoded.byteLength <= maxBytes) return { text, cut: false };
  return { text: new TextDecoder().decode(encoded.subarray(0, maxBytes), { stream: true }), cut: true };
}

/** A run's outcome fields as both sides check them. */
export interface CheckedRunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  output?: string;
  truncated: boolean;
  valueJson?: string;
}

/**
 * Checks the output fields of what the runner (or the Worker) reported, never trusting them: types,
 * an integer exit code, and every text and the value's JSON within `maxOutputBytes`. A value over
 * the cap is dropped and the result marked truncated. `undefined` when the shape is wrong.
 */
export function checkRunOutput(reply: unknown, maxOutputBytes: number): CheckedRunOutput | undefined {
  if (typeof reply !== "object" || reply === null) return undefined;
  const { exitCode, stdout, stderr, output, truncated, valueJson } = reply as Record<string, unknown>;
  if (typeof exitCode !== "number" || !Number.isSafeInteger(exitCode)) return undefined;
  if (typeof stdout !== "string" || typeof stderr !== "string") return undefined;
  if (output !== undefined && output !== null && typeof output !== "string") return undefined;
  if (typeof truncated !== "boolean") return undefined;
  if (valueJson !== undefined && valueJson !== null && typeof valueJson !== "string") return undefined;
  const out = capText(stdout, maxOutputBytes);
  const err = capText(stderr, maxOutputBytes);
  const combined = typeof output === "string" ? capText(output, maxOutputBytes) : undefined;
  const valueFits = typeof valueJson === "string" && utf8Bytes(valueJson) <= maxOutputBytes;
  const valueCut = typeof valueJson === "string" && !valueFits;
  return {
    exitCode,
    stdout: out.text,
    stderr: err.text,
    ...(combined === undefined ? {} : { output: combined.text }),
    truncated: truncated || out.cut || err.cut || combined?.cut === true || valueCut,
    ...(valueFits ? { valueJson } : {}),
  };
}
