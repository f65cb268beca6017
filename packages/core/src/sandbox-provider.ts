/** The provider and sandbox interfaces every backend implements. */
import type { ProviderCapabilities } from "./capabilities.ts";
import type {
  CallOptions,
  Command,
  CreateSandboxRequest,
  ExecOptions,
  ExecResult,
  ExposedPort,
  FileInfo,
  ListFilesOptions,
  ListFilter,
  MakeDirectoryOptions,
  RemoveFileOptions,
  RunCodeOptions,
  SandboxInfo,
  SandboxProcess,
  SpawnOptions,
} from "./sandbox-request.ts";

// `as const` keeps the literal type when the value is copied into an object, e.g. `{ specificationVersion }`.
/** The specification version this package describes. A breaking change adds v2 beside v1. */
export const specificationVersion = "sandport.v1" as const;

/** The literal type of {@link specificationVersion}. */
export type SpecificationVersion = typeof specificationVersion;

/** A sandbox backend instance, e.g. the provider named `"daytona-eu"` in `sandport.json`. */
export interface SandboxProvider {
  readonly specificationVersion: SpecificationVersion;
  /** Instance name from config; prefixes every sandbox id this provider hands out. */
  readonly providerId: string;
  /** Honest, static description of what this provider can do. */
  readonly capabilities: ProviderCapabilities;
  /** Creates a sandbox. Fails with `UnsupportedCapabilityError` before creating anything it cannot honour. */
  create(request: CreateSandboxRequest, options?: CallOptions): Promise<Sandbox>;
  /** Reattaches to a sandbox by its id (`"<providerId>:<vendor id>"`); `not_found` when gone. */
  connect(sandboxId: string, options?: CallOptions): Promise<Sandbox>;
  /** Lists live sandboxes this provider can see; `filter.labels` must be applied, not ignored. */
  list?(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo>;
  /**
   * Releases what the provider holds (engines, connections, pools, supervisors). Sandboxes that
   * live on their own (files, a vendor's sandbox) are not destroyed. Callers that created the
   * provider call it once they are done; `Symbol.asyncDispose` does the same.
   */
  dispose?(): Promise<void>;
  [Symbol.asyncDispose]?(): Promise<void>;
}

/** One live sandbox. `await using sandbox = ...` destroys it at the end of the scope. */
export interface Sandbox extends AsyncDisposable {
  /** `"<providerId>:<vendor id>"`, so ownership survives process restarts. */
  readonly id: string;
  /**
   * Runs a command to completion. A non-zero exit is a result, not an error. Without `stdin` the
   * command reads end of input at once. `options.signal` kills the command and every process it
   * started, and rejects with `AbortedError`. A missing `cwd` is `InvalidRequestError`.
   */
  exec(command: Command, options?: ExecOptions): Promise<ExecResult>;
  /** Runs source code in the given language. */
  runCode?(code: string, options: RunCodeOptions): Promise<ExecResult>;
  /** Starts a background process (where `features.background` is declared). */
  spawn?(command: Command, options?: SpawnOptions): Promise<SandboxProcess>;
  /**
   * Reads a file; `not_found` when it does not exist. Relative paths resolve against the sandbox's
   * working directory; absolute paths name files of the sandbox's own filesystem where the
   * provider's file area covers them (a provider confined to its workspace refuses any other path,
   * by `..` or a link, with `InvalidRequestError`). A path through a link may be refused with
   * `InvalidRequestError`; nothing outside the sandbox is ever read. Directories, FIFOs, sockets
   * and devices are `InvalidRequestError`, a file over the provider's read cap `OutputLimitError`.
   */
  readFile(path: string, options?: CallOptions): Promise<Uint8Array>;
  /**
   * Writes (creates or truncates) a file, creating parent directories. Paths are as for
   * `readFile`; a path the sandbox cannot write is `InvalidRequestError`.
   */
  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void>;
  /**
   * Lists a directory: `not_found` when it does not exist, `InvalidRequestError` when it is not a
   * directory. Paths are as for `readFile`.
   */
  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]>;
  /** Describes a file or directory without following a final link; `not_found` when absent. */
  statFile(path: string, options?: CallOptions): Promise<FileInfo>;
  /**
   * Makes a directory. Without `recursive`, a missing parent is `not_found` and an existing entry
   * `InvalidRequestError`; with it, parents are created and an existing directory is fine.
   */
  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void>;
  /**
   * Removes a file, link or empty directory (a link itself, never its target); a non-empty
   * directory needs `recursive`. `not_found` when absent.
   */
  removeFile(path: string, options?: RemoveFileOptions): Promise<void>;
  /** Renames or moves a file or directory, replacing a file at `to`; `not_found` when `from` is absent. */
  renameFile(from: string, to: string, options?: CallOptions): Promise<void>;
  /**
   * Makes a TCP port inside the sandbox reachable from the caller (where `features.ports` is
   * declared). Nothing listening there is an error at first use of the URL, not here.
   */
  exposePort?(port: number, options?: CallOptions): Promise<ExposedPort>;
  /** Destroys the sandbox and everything in it. Idempotent. */
  destroy(options?: CallOptions): Promise<void>;
}
