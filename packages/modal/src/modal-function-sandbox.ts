/**
 * One sandbox of the `modal-function` provider. It lives with the caller: its files are kept here
 * ({@link FunctionWorkspace}) and every `exec` / `runCode` is one call of the deployed runner
 * (`fn.remote([request])`) carrying those files, the command and its limits; the reply's output
 * is the result and its changed files are merged back. Nothing exists at Modal between calls, so
 * destroy only forgets the files and settles the calls still running.
 */
import {
  AbortedError,
  type CallOptions,
  type Command,
  defaultMaxListEntries,
  defaultMaxOutputBytes,
  type ExecOptions,
  type ExecResult,
  encodeSandboxId,
  type FileInfo,
  InvalidRequestError,
  type ListFilesOptions,
  type MakeDirectoryOptions,
  NotFoundError,
  OutputBuffer,
  parseCommand,
  parseExecOptions,
  parseFileCallOptions,
  parsePath,
  type RemoveFileOptions,
  type RunCodeOptions,
  type Sandbox,
  toSandportError,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { type FunctionWorkspace, functionWorkspaceRoot, workspaceKey } from "./function-workspace.ts";
import {
  type ModalRunnerFunction,
  type RunnerReply,
  type RunnerRequest,
  runnerProtocol,
} from "./modal-function-call.ts";

// Code travels as one argv entry of the runner's child; Linux caps one argument at 128 KiB.
const maxCodeBytes = 100 * 1024;

/** The state of one sandbox, shared by every handle to it (`connect` makes another handle). */
export interface FunctionSandboxState {
  vendorId: string;
  createdAt: Date;
  /** When the sandbox's `ttlMs` runs out (absent: it lives until destroyed). */
  expiresAt: number | undefined;
  labels: Record<string, string>;
  env: Record<string, string>;
  workspace: FunctionWorkspace;
  /** The runner, bound to this sandbox's resources and lifetime. */
  runner: ModalRunnerFunction;
  destroyed: boolean;
  /** Fires on destroy (or expiry), so calls still running settle at once. */
  gone: AbortController;
}

/** What a handle needs from its provider. */
export interface FunctionSandboxContext {
  providerId: string;
  runtimes: readonly RunCodeOptions["language"][];
  defaultTimeoutMs: number | undefined;
  /** Runs one call, mapping its failures to sandport errors. */
  call(runner: ModalRunnerFunction, request: RunnerRequest, operation: string): Promise<RunnerReply>;
  /** Forgets a sandbox (destroy, expiry). */
  forget(vendorId: string): void;
}

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

/** A handle to a `modal-function` sandbox. */
export class ModalFunctionSandbox implements Sandbox {
  readonly id: string;
  readonly #context: FunctionSandboxContext;
  readonly #state: FunctionSandboxState;

  constructor(context: FunctionSandboxContext, state: FunctionSandboxState) {
    this.#context = context;
    this.#state = state;
    this.id = encodeSandboxId(context.providerId, state.vendorId);
  }

  /** Throws `not_found` once the sandbox was destroyed or its ttl ran out. */
  #assertLive(): void {
    const state = this.#state;
    if (!state.destroyed && state.expiresAt !== undefined && Date.now() >= state.expiresAt) {
      expire(state, this.#context);
    }
    if (state.destroyed) {
      throw new NotFoundError(`sandbox ${this.id} was destroyed or its ttlMs ran out`, {
        providerId: this.#context.providerId,
      });
    }
  }

  #aborted(signal: AbortSignal | undefined, operation: string): void {
    if (signal?.aborted) {
      throw new AbortedError(`${operation}: aborted`, {
        cause: signal.reason,
        providerId: this.#context.providerId,
      });
    }
  }

  /** Every error leaves as a sandport error with this provider's id. */
  #attributed<T>(call: () => T | Promise<T>): Promise<T> {
    return (async () => {
      this.#assertLive();
      return call();
    })().catch((error: unknown) => {
      throw toSandportError(error, this.#context.providerId);
    });
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed(() => {
      const parsed = parseCommand(command);
      const argv = "shell" in parsed ? ["/bin/sh", "-c", parsed.shell] : [...parsed];
      if (argv.length === 0) {
        throw new InvalidRequestError("command: an argv needs at least the program", {
          providerId: this.#context.providerId,
        });
      }
      // Only the program names the operation: arguments and env values may hold secrets.
      return this.#run(
        { command: argv },
        options,
        `exec ${JSON.stringify("shell" in parsed ? "sh" : argv[0])}`,
      );
    });
  }

  runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    return this.#attributed(() => {
      const { providerId, runtimes } = this.#context;
      if (typeof code !== "string") throw new InvalidRequestError("code: must be a string", { providerId });
      const { language, ...execOptions } = options ?? ({} as RunCodeOptions);
      if (!runtimes.includes(language)) {
        throw new UnsupportedCapabilityError(
          `provider "${providerId}" has no ${String(language)} runtime (runtimes: ${runtimes.join(", ")})`,
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
      return this.#run({ language, code }, execOptions, `runCode ${language}`);
    });
  }

  /** One call of the runner: the command, the sandbox's files and the limits go; output and changes come back. */
  async #run(
    what: Pick<RunnerRequest, "command" | "language" | "code">,
    options: ExecOptions | undefined,
    operation: string,
  ): Promise<ExecResult> {
    const { providerId } = this.#context;
    const checked = parseExecOptions(options);
    this.#aborted(checked.signal, operation);
    const cwd = this.#workingDirectory(checked.cwd);
    const maxOutputBytes = checked.maxOutputBytes ?? defaultMaxOutputBytes;
    let timeoutMs = checked.timeoutMs ?? this.#context.defaultTimeoutMs;
    const expiresAt = this.#state.expiresAt;
    // A command never runs past the sandbox's lifetime (Modal ends the call there anyway).
    if (expiresAt !== undefined)
      timeoutMs = Math.min(timeoutMs ?? Number.POSITIVE_INFINITY, expiresAt - Date.now());
    const { entries, sent } = this.#state.workspace.snapshot();
    const request: RunnerRequest = {
      protocol: runnerProtocol,
      ...what,
      cwd,
      env: { ...this.#state.env, ...checked.env },
      entries,
      // One byte over the cap, so the cap below sees (and reports) anything cut.
      max_output_bytes: maxOutputBytes + 1,
      ...(timeoutMs === undefined ? {} : { timeout_ms: Math.max(1, Math.floor(timeoutMs)) }),
      ...(checked.stdin === undefined ? {} : { stdin: bytesOf(checked.stdin) }),
    };
    const reply = await this.#settled(
      this.#context.call(this.#state.runner, request, operation),
      checked.signal,
      operation,
    );
    if (reply.status === "cwd_missing") {
      throw new InvalidRequestError(`cwd "${checked.cwd}" is not a directory in the sandbox`, { providerId });
    }
    if (reply.status !== "ran") {
      throw new InvalidRequestError(
        `${operation}: the runner refused the request (${reply.message ?? reply.status})`,
        {
          providerId,
        },
      );
    }
    this.#state.workspace.applyReply(sent, reply.entries ?? []);
    const stdout = new OutputBuffer(maxOutputBytes, checked.onStdout);
    const stderr = new OutputBuffer(maxOutputBytes, checked.onStderr);
    stdout.append(reply.stdout ?? new Uint8Array());
    stderr.append(reply.stderr ?? new Uint8Array());
    stdout.finish();
    stderr.finish();
    return {
      exitCode: reply.exit_code ?? 1,
      stdout: stdout.text(),
      stderr: stderr.text(),
      stdoutBytes: stdout.bytes(),
      stderrBytes: stderr.bytes(),
      truncated: stdout.truncated || stderr.truncated || reply.truncated === true,
      timedOut: reply.timed_out === true,
      durationMs: Math.max(0, Math.round(reply.duration_ms ?? 0)),
    };
  }

  /**
   * The call's reply, unless the caller aborts or the sandbox goes first. The SDK's `remote()`
   * takes no signal and Modal's sync calls cannot be cancelled from JavaScript: an abandoned call
   * runs on to its own timeout (the command's, or the sandbox's ttl), and its changes are dropped.
   */
  #settled(
    call: Promise<RunnerReply>,
    signal: AbortSignal | undefined,
    operation: string,
  ): Promise<RunnerReply> {
    const { providerId } = this.#context;
    const gone = this.#state.gone.signal;
    return new Promise<RunnerReply>((resolve, reject) => {
      const cleanup = () => {
        signal?.removeEventListener("abort", onAbort);
        gone.removeEventListener("abort", onGone);
      };
      const onAbort = () => {
        cleanup();
        reject(new AbortedError(`${operation}: aborted`, { cause: signal?.reason, providerId }));
      };
      const onGone = () => {
        cleanup();
        reject(
          new NotFoundError(`${operation}: sandbox ${this.id} was destroyed while the command ran`, {
            providerId,
          }),
        );
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      gone.addEventListener("abort", onGone, { once: true });
      if (gone.aborted) onGone();
      call.then(
        (reply) => {
          cleanup();
          if (gone.aborted) onGone();
          else resolve(reply);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  /** The command's directory: one under /workspace must exist in the tree; others are the container's to judge. */
  #workingDirectory(cwd: string | undefined): string {
    if (cwd === undefined) return functionWorkspaceRoot;
    const absolute = cwd.startsWith("/") ? cwd : `${functionWorkspaceRoot}/${cwd}`;
    let key: string;
    try {
      key = workspaceKey(absolute, "cwd", this.#context.providerId, true);
    } catch {
      return absolute;
    }
    if (this.#state.workspace.isDirectory(key) === false) {
      throw new InvalidRequestError(`cwd "${cwd}" is not a directory in the sandbox`, {
        providerId: this.#context.providerId,
      });
    }
    return key === "" ? functionWorkspaceRoot : `${functionWorkspaceRoot}/${key}`;
  }

  // ---- files: kept here, travelling with every call ---------------------------------------------

  #key(path: unknown, field = "path", allowRoot = false): string {
    return workspaceKey(parsePath(path, field), field, this.#context.providerId, allowRoot);
  }

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#attributed(() => {
      const key = this.#key(path);
      this.#aborted(options?.signal, "readFile");
      return this.#state.workspace.read(key, path);
    });
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    return this.#attributed(() => {
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new InvalidRequestError("data: must be a string or a Uint8Array", {
          providerId: this.#context.providerId,
        });
      }
      const key = this.#key(path);
      this.#aborted(options?.signal, "writeFile");
      this.#state.workspace.write(key, path, bytesOf(data));
    });
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(() => {
      const key = this.#key(path, "path", true);
      const checked = parseFileCallOptions(options);
      this.#aborted(checked.signal, "listFiles");
      return this.#state.workspace.list(
        key,
        path,
        checked.recursive ?? false,
        checked.maxEntries ?? defaultMaxListEntries,
      );
    });
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(() => {
      const key = this.#key(path, "path", true);
      this.#aborted(options?.signal, "statFile");
      return this.#state.workspace.stat(key, path);
    });
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(() => {
      const key = this.#key(path);
      const checked = parseFileCallOptions(options);
      this.#aborted(checked.signal, "makeDirectory");
      this.#state.workspace.makeDirectory(key, path, checked.recursive ?? false);
    });
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(() => {
      const key = this.#key(path);
      const checked = parseFileCallOptions(options);
      this.#aborted(checked.signal, "removeFile");
      this.#state.workspace.remove(key, path, checked.recursive ?? false);
    });
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(() => {
      const fromKey = this.#key(from, "from");
      const toKey = this.#key(to, "to");
      this.#aborted(options?.signal, "renameFile");
      this.#state.workspace.rename(fromKey, from, toKey, to);
    });
  }

  /** Forgets the files and settles running calls. Idempotent; nothing at Modal needs ending. */
  async destroy(options?: CallOptions): Promise<void> {
    if (this.#state.destroyed) return;
    this.#aborted(options?.signal, "destroy");
    expire(this.#state, this.#context);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

/** Ends a sandbox's state (destroy or expiry). */
export function expire(state: FunctionSandboxState, context: Pick<FunctionSandboxContext, "forget">): void {
  if (state.destroyed) return;
  state.destroyed = true;
  state.workspace.clear();
  state.gone.abort();
  context.forget(state.vendorId);
}
