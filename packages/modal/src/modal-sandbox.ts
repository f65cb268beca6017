/** One sandbox of the `modal` provider: a Modal sandbox reached through the SDK's `Sandbox` handle. */
import {
  AbortedError,
  type CallOptions,
  type Command,
  codeCommand,
  defaultMaxListEntries,
  type ExecOptions,
  type ExecResult,
  encodeSandboxId,
  type FileInfo,
  InvalidRequestError,
  type ListFilesOptions,
  type MakeDirectoryOptions,
  NotFoundError,
  parseCommand,
  parseExecOptions,
  parseFileCallOptions,
  parsePath,
  type RemoveFileOptions,
  type RunCodeOptions,
  type Sandbox,
  type SandboxProcess,
  type SpawnOptions,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { errorFromModal, grpcStatusOf } from "./modal-errors.ts";
import { ModalProcess, type ModalSdkSandbox, runModalCommand, stdinBytes } from "./modal-exec.ts";
import {
  listModalFiles,
  type ModalFileContext,
  makeModalDirectory,
  readModalFile,
  removeModalFile,
  renameModalFile,
  statModalFile,
  writeModalFile,
} from "./modal-files.ts";
import {
  modalWorkspaceRoot,
  resolveWorkingDirectory,
  resolveWorkspacePath,
} from "./modal-request-mapping.ts";
import type { ModalSdk } from "./modal-settings.ts";

// Code travels as one argv entry; the SDK caps all arguments together at 64 KiB.
const maxCodeBytes = 60 * 1024;

/** What a sandbox handle shares with its provider. */
export interface ModalSandboxContext {
  providerId: string;
  sdk: ModalSdk;
  runtimes: readonly RunCodeOptions["language"][];
  defaultTimeoutMs: number | undefined;
  /** Ids destroyed by this provider instance (bounded), so their handles answer `not_found` at once. */
  destroyed: Set<string>;
}

/** A sandbox handle. `connect` builds a new one around the same sandbox. */
export class ModalSandbox implements Sandbox {
  readonly id: string;
  /** Modal's id of the sandbox (`sb-...`). */
  readonly sandboxId: string;
  readonly #context: ModalSandboxContext;
  readonly #sandbox: ModalSdkSandbox;
  /** Fires when this handle destroys the sandbox, so its running calls settle at once. */
  readonly #gone = new AbortController();

  constructor(context: ModalSandboxContext, sandbox: ModalSdkSandbox) {
    this.#context = context;
    this.#sandbox = sandbox;
    this.sandboxId = sandbox.sandboxId;
    this.id = encodeSandboxId(context.providerId, sandbox.sandboxId);
  }

  /** Every error leaves as a sandport error with this provider's id. */
  #attributed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return (async () => {
      this.#assertLive();
      return call();
    })().catch((error: unknown) => {
      throw errorFromModal(error, this.#context.sdk, { providerId: this.#context.providerId, operation });
    });
  }

  #assertLive(): void {
    if (this.#context.destroyed.has(this.sandboxId)) {
      throw new NotFoundError(`sandbox ${this.id} was destroyed`, { providerId: this.#context.providerId });
    }
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed("exec", () => this.#exec(command, options));
  }

  async #exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const { providerId, sdk } = this.#context;
    const parsed = parseCommand(command);
    const checked = parseExecOptions(options);
    if (checked.signal?.aborted)
      throw new AbortedError("exec: aborted", { cause: checked.signal.reason, providerId });
    const cwd = resolveWorkingDirectory(checked.cwd);
    if (checked.cwd !== undefined) await this.#assertDirectory(cwd, checked.cwd, checked.signal);
    return runModalCommand(
      {
        sandbox: this.#sandbox,
        sdk,
        // Only the program: arguments and env values may hold secrets.
        context: { providerId, operation: `exec ${JSON.stringify("shell" in parsed ? "sh" : parsed[0])}` },
        argv: "shell" in parsed ? ["sh", "-c", parsed.shell] : parsed,
        cwd,
        env: checked.env,
        timeoutMs: checked.timeoutMs ?? this.#context.defaultTimeoutMs,
        signal: checked.signal,
        stdin: stdinBytes(checked.stdin),
        maxOutputBytes: checked.maxOutputBytes,
        onStdout: checked.onStdout,
        onStderr: checked.onStderr,
      },
      this.#gone.signal,
    );
  }

  /** A working directory the caller named must exist: checked first, so a missing one is the caller's error. */
  async #assertDirectory(cwd: string, requested: string, signal: AbortSignal | undefined): Promise<void> {
    const { providerId, sdk } = this.#context;
    const check = await runModalCommand(
      {
        sandbox: this.#sandbox,
        sdk,
        context: { providerId, operation: "exec (working directory check)" },
        argv: ["test", "-d", cwd],
        cwd: "/",
        signal,
        maxOutputBytes: 0,
      },
      this.#gone.signal,
    );
    if (check.exitCode !== 0) {
      throw new InvalidRequestError(`cwd "${requested}" is not a directory in the sandbox`, { providerId });
    }
  }

  spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    return this.#attributed("spawn", async () => {
      const { providerId, sdk } = this.#context;
      const parsed = parseCommand(command);
      const checked = parseExecOptions(options);
      if (checked.signal?.aborted)
        throw new AbortedError("spawn: aborted", { cause: checked.signal.reason, providerId });
      const cwd = resolveWorkingDirectory(checked.cwd);
      if (checked.cwd !== undefined) await this.#assertDirectory(cwd, checked.cwd, checked.signal);
      const process = await ModalProcess.start(
        {
          sandbox: this.#sandbox,
          sdk,
          context: { providerId, operation: `spawn ${JSON.stringify("shell" in parsed ? "sh" : parsed[0])}` },
          argv: "shell" in parsed ? ["sh", "-c", parsed.shell] : parsed,
          cwd,
          env: checked.env,
          timeoutMs: checked.timeoutMs ?? this.#context.defaultTimeoutMs,
          stdin: stdinBytes(checked.stdin),
          maxOutputBytes: checked.maxOutputBytes,
        },
        this.#gone.signal,
      );
      // The signal of spawn kills the process when it fires later.
      checked.signal?.addEventListener("abort", () => void process.kill("SIGKILL").catch(() => {}), {
        once: true,
      });
      return process;
    });
  }

  runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    return this.#attributed("runCode", async () => {
      const { providerId, runtimes } = this.#context;
      if (typeof code !== "string") throw new InvalidRequestError("code: must be a string", { providerId });
      const { language, ...execOptions } = options;
      if (!runtimes.includes(language)) {
        throw new UnsupportedCapabilityError(
          `provider "${providerId}" has no ${language} runtime (runtimes: ${runtimes.join(", ")})`,
          { providerId },
        );
      }
      if (new TextEncoder().encode(code).byteLength > maxCodeBytes) {
        throw new InvalidRequestError(
          `code: larger than ${maxCodeBytes} bytes; write it to a file and exec it`,
          {
            providerId,
          },
        );
      }
      return this.#exec(codeCommand(language, code), execOptions);
    });
  }

  #files(operation: string): ModalFileContext {
    return {
      sandbox: this.#sandbox,
      sdk: this.#context.sdk,
      context: { providerId: this.#context.providerId, operation },
    };
  }

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    const operation = `readFile ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId);
      this.#throwIfAborted(options?.signal, operation);
      return readModalFile(this.#files(operation), absolute);
    });
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    const operation = `writeFile ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const { providerId } = this.#context;
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new InvalidRequestError("data: must be a string or a Uint8Array", { providerId });
      }
      const absolute = resolveWorkspacePath(parsePath(path), "path", providerId);
      this.#throwIfAborted(options?.signal, operation);
      await writeModalFile(this.#files(operation), absolute, stdinBytes(data) as Uint8Array);
    });
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    const operation = `listFiles ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId, true);
      const checked = parseFileCallOptions(options);
      this.#throwIfAborted(checked.signal, operation);
      return listModalFiles(
        this.#files(operation),
        absolute,
        checked.recursive ?? false,
        checked.maxEntries ?? defaultMaxListEntries,
      );
    });
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    const operation = `statFile ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId, true);
      this.#throwIfAborted(options?.signal, operation);
      return statModalFile(this.#files(operation), absolute);
    });
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    const operation = `makeDirectory ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId);
      const checked = parseFileCallOptions(options);
      this.#throwIfAborted(checked.signal, operation);
      await makeModalDirectory(this.#files(operation), absolute, checked.recursive ?? false);
    });
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    const operation = `removeFile ${JSON.stringify(path)}`;
    return this.#attributed(operation, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId);
      const checked = parseFileCallOptions(options);
      this.#throwIfAborted(checked.signal, operation);
      await removeModalFile(this.#files(operation), absolute, checked.recursive ?? false);
    });
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    const operation = `renameFile ${JSON.stringify(from)} -> ${JSON.stringify(to)}`;
    return this.#attributed(operation, async () => {
      const { providerId } = this.#context;
      const source = resolveWorkspacePath(parsePath(from, "from"), "from", providerId);
      const target = resolveWorkspacePath(parsePath(to, "to"), "to", providerId);
      this.#throwIfAborted(options?.signal, operation);
      await renameModalFile(this.#files(operation), source, target);
    });
  }

  #throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
    if (signal?.aborted) {
      throw new AbortedError(`${operation}: aborted`, {
        cause: signal.reason,
        providerId: this.#context.providerId,
      });
    }
  }

  /**
   * Terminates the sandbox (`SandboxTerminateV2`): every process ends and its files are gone.
   * Idempotent: a sandbox that has already ended, or that Modal no longer knows, is what destroy wants.
   */
  async destroy(options?: CallOptions): Promise<void> {
    const { sdk, destroyed, providerId } = this.#context;
    if (destroyed.has(this.sandboxId)) return;
    if (options?.signal?.aborted) {
      throw new AbortedError("destroy: aborted", { cause: options.signal.reason, providerId });
    }
    try {
      await this.#sandbox.terminate();
    } catch (error) {
      if (grpcStatusOf(error) !== 5 && !(error instanceof sdk.NotFoundError)) {
        throw errorFromModal(error, sdk, { providerId, operation: `destroy ${this.id}` });
      }
    }
    destroyed.add(this.sandboxId);
    // Bounded: a long-running process must not grow without end; Modal answers not_found anyway.
    if (destroyed.size > 10_000) destroyed.delete(destroyed.values().next().value as string);
    this.#gone.abort();
    // Releases the command router connection of this handle.
    this.#sandbox.detach();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

/** The workspace every sandbox starts in. */
export const workspaceRoot = modalWorkspaceRoot;
