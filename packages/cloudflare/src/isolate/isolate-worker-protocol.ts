/**
 * The HTTP protocol between the Node-side `cloudflare-isolate` provider and the isolate Worker
 * (`worker/`). Types only, so the Worker imports them without pulling Node code into its bundle.
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
 * Stateless route (local mode; the caller keeps the files and sends them with each run):
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
  | "not_configured"
  | "internal";

/** Body of every error response. */
export interface IsolateWorkerErrorBody {
  error: { code: IsolateWorkerErrorCode; message: string };
}
