/** What every isolate sandbox shares: the spec surface and the runCode checks. */
import {
  type CallOptions,
  type Command,
  type ExecOptions,
  type ExecResult,
  type FileInfo,
  InvalidRequestError,
  type ListFilesOptions,
  type MakeDirectoryOptions,
  NotFoundError,
  OutputLimitError,
  parseCommand,
  type RemoveFileOptions,
  type RunCodeOptions,
  type Sandbox,
  type SandportError,
  throwIfAborted,
  tooManyEntriesMessage,
  UnsupportedCapabilityError,
  workspaceRelativePath,
} from "@sandport/core";
import {
  fileInfoOf,
  parseCallOptions,
  parseListFilesOptions,
  parseRecursiveOptions,
  workspaceEntryPath,
} from "../file-call-arguments.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import type { IsolateWorkerRunBody } from "./isolate-worker-protocol.ts";
import { prepareRun } from "./run-request.ts";
import type { EntryFailure, WorkspaceEntry } from "./workspace-entries.ts";

/** Base of the local and remote isolate sandboxes. */
export abstract class IsolateSandbox implements Sandbox {
  readonly id: string;
  protected readonly settings: ResolvedIsolateSettings;

  constructor(id: string, settings: ResolvedIsolateSettings) {
    this.id = id;
    this.settings = settings;
  }

  /** Isolates run code, not commands: there is no shell. */
  async exec(command: Command, _options?: ExecOptions): Promise<ExecResult> {
    // A malformed command is the caller's error whatever the backend.
    parseCommand(command);
    throw new UnsupportedCapabilityError(
      "exec: an isolate has no shell or processes; use runCode with javascript or typescript",
      { providerId: this.settings.providerId },
    );
  }

  async runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    throwIfAborted(options?.signal, this.settings.providerId);
    const prepared = await prepareRun(code, options, this.settings);
    if ("result" in prepared) {
      // The code did not compile: the message goes to the callbacks like any output would.
      if (prepared.result.stderr !== "") options.onStderr?.(prepared.result.stderr);
      return prepared.result;
    }
    return this.run(prepared.body, options);
  }

  async readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    const relative = this.#path(path);
    throwIfAborted(options?.signal, this.settings.providerId);
    return this.readWorkspaceFile(relative, path, options);
  }

  async writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array", {
        providerId: this.settings.providerId,
      });
    }
    const relative = this.#path(path);
    throwIfAborted(options?.signal, this.settings.providerId);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.writeWorkspaceFile(relative, bytes, options);
  }

  async listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    const providerId = this.settings.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, maxEntries, signal } = parseListFilesOptions(options, providerId);
    throwIfAborted(signal, providerId);
    const entries = await this.listEntries(relative, recursive, maxEntries, signal);
    if (entries.length > maxEntries) {
      throw new OutputLimitError(tooManyEntriesMessage(path, maxEntries), { providerId });
    }
    return entries.map(fileInfoOfEntry);
  }

  async statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    const providerId = this.settings.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const signal = parseCallOptions(options, providerId);
    throwIfAborted(signal, providerId);
    return fileInfoOfEntry(await this.statEntry(relative, signal));
  }

  async makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    const providerId = this.settings.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, signal } = parseRecursiveOptions(options, providerId);
    throwIfAborted(signal, providerId);
    await this.makeEntryDirectory(relative, recursive, signal);
  }

  async removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    const providerId = this.settings.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, signal } = parseRecursiveOptions(options, providerId);
    if (relative === "") {
      throw new InvalidRequestError(`path "${path}": the workspace itself cannot be removed`, { providerId });
    }
    throwIfAborted(signal, providerId);
    await this.removeEntry(relative, recursive, signal);
  }

  async renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    const providerId = this.settings.providerId;
    const source = workspaceEntryPath(from, "from", providerId);
    const target = workspaceEntryPath(to, "to", providerId);
    const signal = parseCallOptions(options, providerId);
    if (source === "" || target === "") {
      throw new InvalidRequestError("renameFile: the workspace itself cannot be renamed or replaced", {
        providerId,
      });
    }
    throwIfAborted(signal, providerId);
    await this.renameEntry(source, target, signal);
  }

  abstract destroy(options?: CallOptions): Promise<void>;

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Runs a prepared body. */
  protected abstract run(body: IsolateWorkerRunBody, options: RunCodeOptions): Promise<ExecResult>;

  /** Reads a workspace file by its relative path (`path` is the caller's, for messages). */
  protected abstract readWorkspaceFile(
    relative: string,
    path: string,
    options?: CallOptions,
  ): Promise<Uint8Array>;

  /** Writes a workspace file by its relative path. */
  protected abstract writeWorkspaceFile(
    relative: string,
    bytes: Uint8Array,
    options?: CallOptions,
  ): Promise<void>;

  /** Lists a directory (`""`: the workspace): at most `maxEntries + 1` entries, sorted by path. */
  protected abstract listEntries(
    relative: string,
    recursive: boolean,
    maxEntries: number,
    signal: AbortSignal | undefined,
  ): Promise<WorkspaceEntry[]>;

  /** Describes one entry. */
  protected abstract statEntry(relative: string, signal: AbortSignal | undefined): Promise<WorkspaceEntry>;

  /** Makes a directory. */
  protected abstract makeEntryDirectory(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void>;

  /** Removes a file or directory (never the workspace itself). */
  protected abstract removeEntry(
    relative: string,
    recursive: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void>;

  /** Renames a file or directory (never the workspace itself). */
  protected abstract renameEntry(from: string, to: string, signal: AbortSignal | undefined): Promise<void>;

  /** The sandport error of a failed file call. */
  protected entryError(failure: EntryFailure): SandportError {
    const options = { providerId: this.settings.providerId };
    return failure.code === "not_found"
      ? new NotFoundError(failure.message, options)
      : new InvalidRequestError(failure.message, options);
  }

  #path(path: string): string {
    try {
      return workspaceRelativePath(path);
    } catch (error) {
      if (!InvalidRequestError.isInstance(error)) throw error;
      throw new InvalidRequestError(error.message, { providerId: this.settings.providerId });
    }
  }
}

function fileInfoOfEntry(entry: WorkspaceEntry): FileInfo {
  return fileInfoOf(entry.path, entry.type, entry.size, new Date(entry.modifiedAt));
}
