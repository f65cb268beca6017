/** One sandbox of the process provider: a workspace directory plus the commands running in it. */
import { constants } from "node:fs";
import { open, readFile, rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type CallOptions,
  type Command,
  defaultMaxListEntries,
  type ExecOptions,
  type ExecResult,
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
  type SandboxInfo,
  type SandboxProcess,
  type SpawnOptions,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { runProcess } from "@sandport/core/node";
import { processFiles } from "./process-files.ts";
import { spawnProcess } from "./spawn-process.ts";
import { resolveReadPath, resolveWritePath } from "./workspace-path.ts";

/** What the provider knows about a sandbox when it creates one. */
export interface ProcessSandboxInit {
  id: string;
  providerId: string;
  /** Absolute, symlink-free path of the workspace directory. */
  workspace: string;
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** Called once, when the sandbox is destroyed, so the provider forgets it. */
  onDestroyed(): void;
}

/** A sandbox whose commands are real child processes of this Node process (`isolation: "none"`). */
export class ProcessSandbox implements Sandbox {
  readonly id: string;
  readonly #init: ProcessSandboxInit;
  readonly #createdAt = new Date();
  /** Kill functions of the process groups still running, so destroy can stop them. */
  readonly #running = new Set<() => void>();
  #destroyed = false;

  constructor(init: ProcessSandboxInit) {
    this.id = init.id;
    this.#init = init;
  }

  /** What `list()` reports. */
  get info(): SandboxInfo {
    return { id: this.id, createdAt: this.#createdAt, labels: this.#init.labels };
  }

  async exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const { argv, options: execOptions } = this.#parse(command, options);
    this.#assertLive();
    throwIfAborted(execOptions.signal, this.#init.providerId);
    const cwd = await this.#workingDirectory(execOptions.cwd);
    return runProcess(argv, {
      cwd,
      env: this.#environment(execOptions.env),
      stdin: execOptions.stdin,
      timeoutMs: execOptions.timeoutMs,
      maxOutputBytes: execOptions.maxOutputBytes,
      onStdout: execOptions.onStdout,
      onStderr: execOptions.onStderr,
      signal: execOptions.signal,
      providerId: this.#init.providerId,
      track: (kill) => {
        this.#running.add(kill);
        return () => this.#running.delete(kill);
      },
    });
  }

  async spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    const { argv, options: spawnOptions } = this.#parse(command, options);
    this.#assertLive();
    throwIfAborted(spawnOptions.signal, this.#init.providerId);
    const cwd = await this.#workingDirectory(spawnOptions.cwd);
    return spawnProcess(argv, {
      cwd,
      env: this.#environment(spawnOptions.env),
      stdin: spawnOptions.stdin,
      timeoutMs: spawnOptions.timeoutMs,
      maxOutputBytes: spawnOptions.maxOutputBytes,
      signal: spawnOptions.signal,
      providerId: this.#init.providerId,
      track: (kill) => {
        this.#running.add(kill);
        return () => this.#running.delete(kill);
      },
    });
  }

  async runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    const { language, ...execOptions } = options;
    if (language !== "shell") {
      throw new UnsupportedCapabilityError(`the process provider runs only shell code, not ${language}`, {
        providerId: this.#init.providerId,
      });
    }
    return this.exec({ shell: code }, execOptions);
  }

  async readFile(path: string, options: CallOptions = {}): Promise<Uint8Array> {
    this.#assertLive();
    throwIfAborted(options.signal, this.#init.providerId);
    const target = await resolveReadPath(this.#init.workspace, path, this.#init.providerId);
    try {
      const contents = await readFile(target, { signal: options.signal });
      return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
    } catch (error) {
      throw this.#fileError(error, path);
    }
  }

  async writeFile(path: string, data: Uint8Array | string, options: CallOptions = {}): Promise<void> {
    this.#assertLive();
    throwIfAborted(options.signal, this.#init.providerId);
    const target = await resolveWritePath(this.#init.workspace, path, this.#init.providerId);
    try {
      // O_NOFOLLOW: an existing symlink at the target must not redirect the write out of the workspace.
      const file = await open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      );
      try {
        await file.writeFile(data, { signal: options.signal });
      } finally {
        await file.close();
      }
    } catch (error) {
      throw this.#fileError(error, path);
    }
  }

  /** The directory calls, confined to the workspace. */
  #files() {
    this.#assertLive();
    return processFiles(this.#init.workspace, this.#init.providerId);
  }

  /** Validation errors of shared checks carry this provider's id. */
  #attributed<T>(call: () => Promise<T>): Promise<T> {
    return Promise.resolve()
      .then(call)
      .catch((error: unknown) => {
        throw toSandportError(error, this.#init.providerId);
      });
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(() => {
      const checked = parseFileCallOptions(options);
      throwIfAborted(checked.signal, this.#init.providerId);
      return this.#files().listFiles(
        parsePath(path),
        checked.recursive ?? false,
        checked.maxEntries ?? defaultMaxListEntries,
      );
    });
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(() => {
      throwIfAborted(options?.signal, this.#init.providerId);
      return this.#files().statFile(parsePath(path));
    });
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(() => {
      const checked = parseFileCallOptions(options);
      throwIfAborted(checked.signal, this.#init.providerId);
      return this.#files().makeDirectory(parsePath(path), checked.recursive ?? false);
    });
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(() => {
      const checked = parseFileCallOptions(options);
      throwIfAborted(checked.signal, this.#init.providerId);
      return this.#files().removeFile(parsePath(path), checked.recursive ?? false);
    });
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(() => {
      throwIfAborted(options?.signal, this.#init.providerId);
      return this.#files().renameFile(parsePath(from, "from"), parsePath(to, "to"));
    });
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#init.onDestroyed();
    for (const kill of this.#running) kill();
    await rm(this.#init.workspace, { recursive: true, force: true, maxRetries: 3 });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  #assertLive(): void {
    if (this.#destroyed) {
      throw new NotFoundError(`sandbox "${this.id}" was destroyed`, { providerId: this.#init.providerId });
    }
  }

  /** Validates a command and its options; core's validation errors get this provider's id. */
  #parse<Options extends ExecOptions>(
    command: Command,
    options: Options | undefined,
  ): { argv: readonly string[]; options: Options } {
    try {
      const parsed = parseCommand(command);
      return {
        argv: "shell" in parsed ? ["/bin/sh", "-c", parsed.shell] : parsed,
        options: parseExecOptions(options),
      };
    } catch (error) {
      // Core's validators know no provider; the error is this provider's.
      throw toSandportError(error, this.#init.providerId);
    }
  }

  /** The complete environment of a command: a minimal base, the sandbox's env, the command's env. */
  #environment(commandEnv: Readonly<Record<string, string>> | undefined): Record<string, string> {
    return {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: this.#init.workspace,
      ...this.#init.env,
      ...commandEnv,
    };
  }

  async #workingDirectory(cwd: string | undefined): Promise<string> {
    if (cwd === undefined) return this.#init.workspace;
    const directory = resolve(this.#init.workspace, cwd);
    // Checked here because spawn reports a missing cwd as ENOENT, indistinguishable from a missing
    // command. The spec makes a missing cwd a bad request, not a missing sandbox.
    const stats = await stat(directory).catch(() => undefined);
    if (stats === undefined) {
      throw new InvalidRequestError(`working directory "${cwd}" does not exist`, {
        providerId: this.#init.providerId,
      });
    }
    if (!stats.isDirectory()) {
      throw new InvalidRequestError(`working directory "${cwd}" is not a directory`, {
        providerId: this.#init.providerId,
      });
    }
    return directory;
  }

  #fileError(error: unknown, path: string): Error {
    const code = (error as NodeJS.ErrnoException).code;
    const providerId = this.#init.providerId;
    if (code === "ENOENT")
      return new NotFoundError(`no file "${path}" in the sandbox`, { cause: error, providerId });
    if (code === "EISDIR" || code === "ELOOP" || code === "ENOTDIR") {
      return new InvalidRequestError(`"${path}" is not a regular file`, { cause: error, providerId });
    }
    return toSandportError(error, providerId);
  }
}
