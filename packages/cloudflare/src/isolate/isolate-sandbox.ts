/** What every isolate sandbox shares: the spec surface and the runCode checks. */
import {
  type CallOptions,
  type Command,
  type ExecOptions,
  type ExecResult,
  InvalidRequestError,
  parseCommand,
  type RunCodeOptions,
  type Sandbox,
  throwIfAborted,
  UnsupportedCapabilityError,
  workspaceRelativePath,
} from "@sandport/core";
import type { BridgeRunBody } from "./bridge-protocol.ts";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";
import { prepareRun } from "./run-request.ts";

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
    if ("result" in prepared) return prepared.result;
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

  abstract destroy(options?: CallOptions): Promise<void>;

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  /** Runs a prepared body. */
  protected abstract run(body: BridgeRunBody, options: RunCodeOptions): Promise<ExecResult>;

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

  #path(path: string): string {
    try {
      return workspaceRelativePath(path);
    } catch (error) {
      if (!InvalidRequestError.isInstance(error)) throw error;
      throw new InvalidRequestError(error.message, { providerId: this.settings.providerId });
    }
  }
}
