/** One sandbox of the `daytona` provider: a Daytona sandbox driven through the SDK's `Sandbox`. */
import type { Sandbox as DaytonaSdkSandbox } from "@daytonaio/sdk";
import {
  type CallOptions,
  type Command,
  codeCommand,
  defaultMaxListEntries,
  type ExecOptions,
  type ExecResult,
  type ExposedPort,
  encodeSandboxId,
  type FileInfo,
  InvalidRequestError,
  type ListFilesOptions,
  type MakeDirectoryOptions,
  NotFoundError,
  ProviderUnavailableError,
  parseCommand,
  parseExecOptions,
  parseFileCallOptions,
  type RemoveFileOptions,
  type RunCodeOptions,
  type Sandbox,
  type SandboxProcess,
  type SpawnOptions,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { errorFromDaytona } from "./daytona-errors.ts";
import { runSessionCommand } from "./daytona-exec.ts";
import {
  type DaytonaFileContext,
  listDaytonaFiles,
  makeDaytonaDirectory,
  readDaytonaFile,
  removeDaytonaFile,
  renameDaytonaFile,
  statDaytonaFile,
  writeDaytonaFile,
} from "./daytona-files.ts";
import { spawnSessionCommand } from "./daytona-process.ts";
import {
  processPidFile,
  sessionCommandLine,
  spawnCommandLine,
  toolboxPath,
} from "./daytona-request-mapping.ts";

/** The ports Daytona's preview links reach (its documented range). */
const minPreviewPort = 3000;
const maxPreviewPort = 9999;

/** The header that carries a preview link's token (private sandboxes). */
export const previewTokenHeader = "x-daytona-preview-token";

/** Standard input above this is refused: it travels base64-encoded inside the command line. */
export const maxStdinBytes = 8 * 1024 * 1024;

/** What a sandbox handle shares with its provider. */
export interface DaytonaSandboxContext {
  providerId: string;
  runtimes: readonly string[];
  /** Applied when an exec sets no `timeoutMs`. */
  defaultTimeoutMs: number | undefined;
  /** Called once the sandbox is deleted (clears its lifetime timer). */
  onDestroyed(vendorId: string): void;
}

/** A sandbox handle. `connect` builds a new one for the same Daytona sandbox. */
export class DaytonaSandboxHandle implements Sandbox {
  readonly id: string;
  /** Daytona's sandbox id. */
  readonly vendorId: string;
  readonly #context: DaytonaSandboxContext;
  readonly #sandbox: DaytonaSdkSandbox;
  #workingDirectory: Promise<string> | undefined;

  constructor(context: DaytonaSandboxContext, sandbox: DaytonaSdkSandbox) {
    this.#context = context;
    this.#sandbox = sandbox;
    this.vendorId = sandbox.id;
    this.id = encodeSandboxId(context.providerId, sandbox.id);
  }

  /** Every error leaves with this provider's id, whichever shared check raised it. */
  #attributed<T>(call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      throw toSandportError(error, this.#context.providerId);
    });
  }

  #files(): DaytonaFileContext {
    return {
      sandbox: this.#sandbox,
      providerId: this.#context.providerId,
      workingDirectory: () => this.#resolveWorkingDirectory(),
    };
  }

  /** The sandbox's working directory (where relative paths resolve), asked once per handle. */
  #resolveWorkingDirectory(): Promise<string> {
    this.#workingDirectory ??= this.#sandbox.getWorkDir().then(
      (directory) => directory ?? "/",
      (error: unknown) => {
        this.#workingDirectory = undefined;
        throw errorFromDaytona(error, {
          providerId: this.#context.providerId,
          operation: "working directory",
        });
      },
    );
    return this.#workingDirectory;
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed(this.#exec(command, options));
  }

  /** What exec and spawn check before anything runs: the command, stdin's size and the working directory. */
  async #checkedCommand(command: Command, options: ExecOptions | undefined) {
    const providerId = this.#context.providerId;
    const parsed = parseCommand(command);
    const checked = parseExecOptions(options);
    const stdin = typeof checked.stdin === "string" ? new TextEncoder().encode(checked.stdin) : checked.stdin;
    if (stdin !== undefined && stdin.byteLength > maxStdinBytes) {
      throw new InvalidRequestError(`stdin: larger than ${maxStdinBytes} bytes; write it to a file instead`, {
        providerId,
      });
    }
    throwIfAborted(checked.signal, providerId);
    const cwd = checked.cwd === undefined ? undefined : toolboxPath(checked.cwd, providerId, "cwd");
    // A cwd the shell cannot enter would read as the command's own exit 1: checked first.
    if (cwd !== undefined) {
      let isDirectory = false;
      try {
        const info = await this.#sandbox.fs.getFileDetails(cwd);
        isDirectory = info.isDir;
      } catch (error) {
        const mapped = errorFromDaytona(error, { providerId, operation: "exec (working directory check)" });
        if (!NotFoundError.isInstance(mapped)) throw mapped;
      }
      if (!isDirectory) {
        throw new InvalidRequestError(`cwd "${checked.cwd}" is not a directory in the sandbox`, {
          providerId,
        });
      }
    }
    // Only the program: arguments and env values may hold secrets.
    const program = JSON.stringify("shell" in parsed ? "sh" : parsed[0]);
    return { parsed, checked, stdin, cwd, program };
  }

  async #exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const providerId = this.#context.providerId;
    const { parsed, checked, stdin, cwd, program } = await this.#checkedCommand(command, options);
    return runSessionCommand({
      sandbox: this.#sandbox,
      context: { providerId, operation: `exec ${program}` },
      commandLine: sessionCommandLine({ command: parsed, cwd, env: checked.env, stdin }),
      timeoutMs: checked.timeoutMs ?? this.#context.defaultTimeoutMs,
      signal: checked.signal,
      maxOutputBytes: checked.maxOutputBytes,
      onStdout: checked.onStdout,
      onStderr: checked.onStderr,
    });
  }

  /**
   * Starts a background process: a session command of its own, in a process group of its own (so
   * `kill` reaches every process it started). Its input is `stdin` when given, else empty: Daytona
   * cannot close a running command's input, so `writeStdin` / `closeStdin` are unsupported.
   */
  spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    return this.#attributed(this.#spawn(command, options));
  }

  async #spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    const providerId = this.#context.providerId;
    const { parsed, checked, stdin, cwd, program } = await this.#checkedCommand(command, options);
    const pidFile = processPidFile(crypto.randomUUID());
    return spawnSessionCommand({
      sandbox: this.#sandbox,
      context: { providerId, operation: `spawn ${program}` },
      commandLine: spawnCommandLine({ command: parsed, cwd, env: checked.env, stdin, pidFile }),
      pidFile,
      timeoutMs: checked.timeoutMs ?? this.#context.defaultTimeoutMs,
      signal: checked.signal,
      maxOutputBytes: checked.maxOutputBytes,
    });
  }

  /**
   * A Daytona preview link for `port`: its URL and the token header a private sandbox needs. The
   * link reaches whatever listens on that port inside the sandbox (Daytona previews HTTP).
   */
  exposePort(port: number, options?: CallOptions): Promise<ExposedPort> {
    return this.#attributed(this.#exposePort(port, options));
  }

  async #exposePort(port: number, options?: CallOptions): Promise<ExposedPort> {
    const providerId = this.#context.providerId;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InvalidRequestError(`port: must be an integer from 1 to 65535 (got ${String(port)})`, {
        providerId,
      });
    }
    if (port < minPreviewPort || port > maxPreviewPort) {
      throw new UnsupportedCapabilityError(
        `port ${port}: Daytona previews ports ${minPreviewPort}-${maxPreviewPort} only`,
        { providerId },
      );
    }
    throwIfAborted(options?.signal, providerId);
    let link: { url: string; token: string };
    try {
      link = await this.#sandbox.getPreviewLink(port);
    } catch (error) {
      throw errorFromDaytona(error, { providerId, operation: `exposePort ${port}` });
    }
    if (typeof link?.url !== "string" || !/^https?:\/\//.test(link.url)) {
      throw new ProviderUnavailableError(`exposePort ${port}: Daytona answered without a preview URL`, {
        providerId,
        isRetryable: false,
      });
    }
    if (typeof link.token !== "string" || link.token === "") return { url: link.url };
    return { url: link.url, headers: { [previewTokenHeader]: link.token } };
  }

  runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    return this.#attributed(this.#runCode(code, options));
  }

  async #runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    const providerId = this.#context.providerId;
    if (typeof code !== "string") throw new InvalidRequestError("code: must be a string", { providerId });
    const { language, ...execOptions } = options;
    if (!this.#context.runtimes.includes(language)) {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}" has no ${language} runtime (runtimes: ${this.#context.runtimes.join(", ")})`,
        { providerId },
      );
    }
    return this.#exec(codeCommand(language, code), execOptions);
  }

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#attributed(this.#readFile(path, options));
  }

  async #readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    const providerId = this.#context.providerId;
    const target = toolboxPath(path, providerId);
    throwIfAborted(options?.signal, providerId);
    return readDaytonaFile(this.#files(), target);
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    return this.#attributed(this.#writeFile(path, data, options));
  }

  async #writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    const providerId = this.#context.providerId;
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array", { providerId });
    }
    const target = toolboxPath(path, providerId);
    if (target === ".")
      throw new InvalidRequestError(`path "${path}" names the working directory`, { providerId });
    throwIfAborted(options?.signal, providerId);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await writeDaytonaFile(this.#files(), target, bytes);
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(this.#listFiles(path, options));
  }

  async #listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    const providerId = this.#context.providerId;
    const target = toolboxPath(path, providerId);
    const checked = parseFileCallOptions(options);
    throwIfAborted(checked.signal, providerId);
    return listDaytonaFiles(
      this.#files(),
      target,
      checked.recursive ?? false,
      checked.maxEntries ?? defaultMaxListEntries,
    );
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(this.#statFile(path, options));
  }

  async #statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    const target = toolboxPath(path, this.#context.providerId);
    throwIfAborted(options?.signal, this.#context.providerId);
    return statDaytonaFile(this.#files(), target);
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(this.#makeDirectory(path, options));
  }

  async #makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    const target = toolboxPath(path, this.#context.providerId);
    const checked = parseFileCallOptions(options);
    throwIfAborted(checked.signal, this.#context.providerId);
    await makeDaytonaDirectory(this.#files(), target, checked.recursive ?? false);
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(this.#removeFile(path, options));
  }

  async #removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    const providerId = this.#context.providerId;
    const target = toolboxPath(path, providerId);
    if (target === "." || target === "/") {
      throw new InvalidRequestError(`path "${path}": the working directory or root cannot be removed`, {
        providerId,
      });
    }
    const checked = parseFileCallOptions(options);
    throwIfAborted(checked.signal, providerId);
    await removeDaytonaFile(this.#files(), target, checked.recursive ?? false);
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(this.#renameFile(from, to, options));
  }

  async #renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    const providerId = this.#context.providerId;
    const source = toolboxPath(from, providerId, "from");
    const target = toolboxPath(to, providerId, "to");
    if (source === "." || target === ".") {
      throw new InvalidRequestError("renameFile: the working directory cannot be renamed or replaced", {
        providerId,
      });
    }
    throwIfAborted(options?.signal, providerId);
    await renameDaytonaFile(this.#files(), source, target);
  }

  /** Deletes the Daytona sandbox. Idempotent: a sandbox already gone is fine. */
  async destroy(options?: CallOptions): Promise<void> {
    const providerId = this.#context.providerId;
    throwIfAborted(options?.signal, providerId);
    try {
      await this.#sandbox.delete();
    } catch (error) {
      const mapped = errorFromDaytona(error, { providerId, operation: "destroy" });
      if (!NotFoundError.isInstance(mapped)) throw mapped;
    }
    this.#context.onDestroyed(this.vendorId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
