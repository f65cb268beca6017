/**
 * One sandbox of the `cloudflare-container` provider: a container behind the sandbox bridge, addressed by id.
 */
import {
  type CallOptions,
  type Command,
  classifyUnreadableByShell,
  codeCommand,
  type ExecOptions,
  type ExecResult,
  encodeSandboxId,
  type FileInfo,
  InvalidRequestError,
  type ListFilesOptions,
  listFilesByShell,
  type MakeDirectoryOptions,
  makeDirectoryByShell,
  NotFoundError,
  OutputLimitError,
  ProviderUnavailableError,
  parseCommand,
  parseExecOptions,
  type RemoveFileOptions,
  type RunCodeOptions,
  removeFileByShell,
  renameFileByShell,
  type Sandbox,
  type ShellFileRunner,
  statFileByShell,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
  workspaceMountPath,
} from "@sandport/core";
import {
  parseCallOptions,
  parseListFilesOptions,
  parseRecursiveOptions,
  workspaceEntryPath,
} from "../file-call-arguments.ts";
import { SandboxBridgeResponseError } from "./cloudflare-container-errors.ts";
import { runContainerExec, timeoutGraceMs } from "./container-exec.ts";
import { type ContainerFileContext, containerFileRunner, containerPath } from "./container-files.ts";
import {
  execArgv,
  execMarkerVariable,
  fileRoutePath,
  resolveWorkingDirectory,
  resolveWorkspacePath,
  stopCommandArgv,
} from "./container-request-mapping.ts";
import type { DestroyedSandboxes } from "./destroyed-sandboxes.ts";
import type { SandboxBridgeClient } from "./sandbox-bridge-client.ts";

/**
 * The sandbox bridge refuses file bodies above 32 MiB (`payload_too_large`); refused here without sending
 * them.
 */
export const maxWriteBytes = 32 * 1024 * 1024;

// Code travels as one argv entry, which Linux caps at 128 KiB.
const maxCodeBytes = 128 * 1024 - 1;

/** What a sandbox handle shares with its provider. */
export interface ContainerSandboxContext {
  providerId: string;
  client: SandboxBridgeClient;
  /** Vendor ids destroyed by this provider instance. */
  destroyed: DestroyedSandboxes;
  runtimes: readonly RunCodeOptions["language"][];
  /** Applied when an exec sets no `timeoutMs`. */
  defaultTimeoutMs: number | undefined;
  /** Limit of one file call done with a command (list, stat, make directory, remove, rename), ms. */
  fileTimeoutMs: number;
}

/**
 * Whether a failed read may be explained by what is at the path. The sandbox bridge answers 404 only for
 * the container's FILE_NOT_FOUND; any other failure of the read, a directory's IS_DIRECTORY
 * included, is a 502 `exec_transport_error`, which the container itself then explains.
 */
function isUnreadablePath(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return (
    ProviderUnavailableError.isInstance(error) &&
    cause instanceof SandboxBridgeResponseError &&
    cause.status === 502 &&
    cause.code === "exec_transport_error"
  );
}

/** A sandbox handle. Handles are cheap: `connect` builds a new one for the same container. */
export class ContainerSandbox implements Sandbox {
  readonly id: string;
  /** The sandbox bridge's sandbox id. */
  readonly vendorId: string;
  readonly #context: ContainerSandboxContext;
  /** Environment of every command: the create request's `env`. */
  readonly #environment: Readonly<Record<string, string>>;

  constructor(
    context: ContainerSandboxContext,
    vendorId: string,
    environment: Readonly<Record<string, string>>,
  ) {
    this.#context = context;
    this.vendorId = vendorId;
    this.id = encodeSandboxId(context.providerId, vendorId);
    this.#environment = environment;
  }

  /**
   * The sandbox bridge would silently start a fresh container for a destroyed id, so a handle checks the
   * provider's record instead (a sandbox destroyed by another process cannot be detected here).
   */
  /** Every error leaves with this provider's id, whichever shared check raised it. */
  #attributed<T>(call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      throw toSandportError(error, this.#context.providerId);
    });
  }

  #assertLive(): void {
    if (this.#context.destroyed.has(this.vendorId)) {
      throw new NotFoundError(`sandbox ${this.id} was destroyed`, { providerId: this.#context.providerId });
    }
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed(this.#exec(command, options));
  }

  async #exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const providerId = this.#context.providerId;
    const parsed = parseCommand(command);
    const checked = parseExecOptions(options);
    if (checked.stdin !== undefined) {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}" does not support stdin: the sandbox bridge's exec route takes none`,
        { providerId },
      );
    }
    throwIfAborted(checked.signal, providerId);
    this.#assertLive();
    const cwd = resolveWorkingDirectory(checked.cwd, providerId);
    const timeoutMs = checked.timeoutMs ?? this.#context.defaultTimeoutMs;
    if (checked.cwd !== undefined) await this.#assertDirectory(cwd, checked.cwd, checked.signal);
    // Marks this exec's processes, so an abort or a timeout can end them with a second command: the
    // only way the sandbox bridge offers (see stopCommandArgv).
    const marker = crypto.randomUUID();
    const result = await runContainerExec({
      client: this.#context.client,
      providerId,
      // Only the program: arguments and env values may hold secrets.
      operation: `exec ${JSON.stringify("shell" in parsed ? "sh" : parsed[0])}`,
      vendorId: this.vendorId,
      body: {
        argv: execArgv(parsed, { ...this.#environment, ...checked.env, [execMarkerVariable]: marker }),
        cwd,
        ...(timeoutMs === undefined ? {} : { timeout_ms: timeoutMs }),
      },
      timeoutMs,
      signal: checked.signal,
      maxOutputBytes: checked.maxOutputBytes,
      onStdout: checked.onStdout,
      onStderr: checked.onStderr,
      stop: () => this.#stopCommand(marker),
    });
    // The bridge carries output as text (the container decodes it, invalid UTF-8 becomes U+FFFD):
    // the bytes it delivers are not the command's bytes, so none are reported as such.
    const { stdoutBytes: _stdoutBytes, stderrBytes: _stderrBytes, ...text } = result;
    return text;
  }

  /** Runs the command that SIGKILLs every process of the exec marked `marker`. */
  async #stopCommand(marker: string): Promise<void> {
    await runContainerExec({
      client: this.#context.client,
      providerId: this.#context.providerId,
      operation: "exec (ending an aborted or timed-out command)",
      vendorId: this.vendorId,
      body: { argv: stopCommandArgv(marker), cwd: workspaceMountPath },
      timeoutMs: undefined,
      signal: AbortSignal.timeout(timeoutGraceMs),
      maxOutputBytes: 0,
      onStdout: undefined,
      onStderr: undefined,
    });
  }

  /**
   * The sandbox bridge reports a working directory it cannot enter as the command's own exit 1, which
   * would read as the command failing: a directory the caller named is checked first.
   */
  async #assertDirectory(cwd: string, requested: string, signal: AbortSignal | undefined): Promise<void> {
    const providerId = this.#context.providerId;
    const check = await runContainerExec({
      client: this.#context.client,
      providerId,
      operation: "exec (working directory check)",
      vendorId: this.vendorId,
      body: { argv: ["test", "-d", cwd], cwd: workspaceMountPath },
      timeoutMs: undefined,
      signal,
      maxOutputBytes: 0,
      onStdout: undefined,
      onStderr: undefined,
    });
    if (check.exitCode !== 0) {
      throw new InvalidRequestError(`cwd "${requested}" is not a directory in the sandbox`, { providerId });
    }
  }

  async runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    const providerId = this.#context.providerId;
    if (typeof code !== "string") throw new InvalidRequestError("code: must be a string", { providerId });
    const { language, ...execOptions } = options;
    if (!this.#context.runtimes.includes(language)) {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}" has no ${language} runtime (runtimes: ${this.#context.runtimes.join(", ")})`,
        { providerId },
      );
    }
    if (new TextEncoder().encode(code).byteLength > maxCodeBytes) {
      const message = `code: larger than ${maxCodeBytes} bytes; write it to a file and exec it`;
      throw new InvalidRequestError(message, { providerId });
    }
    return this.#exec(codeCommand(language, code), execOptions);
  }

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#attributed(this.#readFile(path, options));
  }

  async #readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    const providerId = this.#context.providerId;
    const absolute = resolveWorkspacePath(path, providerId);
    const routePath = fileRoutePath(absolute, providerId);
    throwIfAborted(options?.signal, providerId);
    this.#assertLive();
    try {
      return await this.#context.client.readFile(
        this.vendorId,
        routePath,
        `readFile ${JSON.stringify(path)}`,
        options?.signal,
      );
    } catch (error) {
      if (!isUnreadablePath(error)) throw error;
      // A regular file that failed to stream keeps the sandbox bridge's error, as does a failed probe.
      const explained = await classifyUnreadableByShell(this.#files(), path, absolute, options?.signal).catch(
        (probeError: unknown) => {
          if (options?.signal?.aborted) throw probeError;
          return undefined;
        },
      );
      throw explained ?? error;
    }
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(this.#listFiles(path, options));
  }

  async #listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    const providerId = this.#context.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, maxEntries, signal } = parseListFilesOptions(options, providerId);
    throwIfAborted(signal, providerId);
    this.#assertLive();
    return listFilesByShell(this.#files(), path, containerPath(relative), recursive, maxEntries, signal);
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(this.#statFile(path, options));
  }

  async #statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    const providerId = this.#context.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const signal = parseCallOptions(options, providerId);
    throwIfAborted(signal, providerId);
    this.#assertLive();
    return statFileByShell(this.#files(), path, containerPath(relative), signal);
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(this.#makeDirectory(path, options));
  }

  async #makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    const providerId = this.#context.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, signal } = parseRecursiveOptions(options, providerId);
    throwIfAborted(signal, providerId);
    this.#assertLive();
    await makeDirectoryByShell(this.#files(), path, containerPath(relative), recursive, signal);
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(this.#removeFile(path, options));
  }

  async #removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    const providerId = this.#context.providerId;
    const relative = workspaceEntryPath(path, "path", providerId);
    const { recursive, signal } = parseRecursiveOptions(options, providerId);
    if (relative === "") {
      throw new InvalidRequestError(`path "${path}": the workspace itself cannot be removed`, { providerId });
    }
    throwIfAborted(signal, providerId);
    this.#assertLive();
    await removeFileByShell(this.#files(), path, containerPath(relative), recursive, signal);
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(this.#renameFile(from, to, options));
  }

  async #renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    const providerId = this.#context.providerId;
    const source = workspaceEntryPath(from, "from", providerId);
    const target = workspaceEntryPath(to, "to", providerId);
    const signal = parseCallOptions(options, providerId);
    if (source === "" || target === "") {
      throw new InvalidRequestError("renameFile: the workspace itself cannot be renamed or replaced", {
        providerId,
      });
    }
    throwIfAborted(signal, providerId);
    this.#assertLive();
    await renameFileByShell(this.#files(), from, to, containerPath(source), containerPath(target), signal);
  }

  #files(): ShellFileRunner {
    const context: ContainerFileContext = {
      client: this.#context.client,
      providerId: this.#context.providerId,
      vendorId: this.vendorId,
      timeoutMs: this.#context.fileTimeoutMs,
      stopCommand: (marker) => this.#stopCommand(marker),
    };
    return containerFileRunner(context);
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    return this.#attributed(this.#writeFile(path, data, options));
  }

  async #writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    const providerId = this.#context.providerId;
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array", { providerId });
    }
    const absolute = resolveWorkspacePath(path, providerId);
    const routePath = fileRoutePath(absolute, providerId);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    if (bytes.byteLength > maxWriteBytes) {
      throw new OutputLimitError(
        `writeFile ${JSON.stringify(path)}: ${bytes.byteLength} bytes exceed the sandbox bridge's ${maxWriteBytes}-byte limit`,
        { providerId },
      );
    }
    throwIfAborted(options?.signal, providerId);
    this.#assertLive();
    await this.#context.client.writeFile(
      this.vendorId,
      routePath,
      bytes,
      `writeFile ${JSON.stringify(path)}`,
      options?.signal,
    );
  }

  /** `DELETE`s the container. Idempotent: the sandbox bridge answers 204 for ids that have none. */
  async destroy(options?: CallOptions): Promise<void> {
    if (this.#context.destroyed.has(this.vendorId)) return;
    await this.#context.client.deleteSandbox(this.vendorId, options?.signal);
    this.#context.destroyed.add(this.vendorId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
