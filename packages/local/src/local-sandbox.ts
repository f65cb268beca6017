/**
 * One local sandbox: a workspace and a long-lived supervisor that runs every command and file
 * call inside the sandbox's namespaces as its uid. With `isolation: "none"` (development only)
 * commands run unisolated on the host instead.
 */
import { posix } from "node:path";
import {
  type CallOptions,
  type Command,
  codeCommand,
  defaultMaxListEntries,
  type ExecOptions,
  type ExecResult,
  type ExposedPort,
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
  SandboxFailedError,
  type SandboxProcess,
  type SpawnOptions,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
  workspaceMountPath,
} from "@sandport/core";
import type { LocalEnvironment, UnisolatedEnvironment } from "./local-environment.ts";
import { toFileInfo } from "./sandbox-file-info.ts";
import type { SandboxRuntimes } from "./sandbox-runtimes.ts";
import { type SandboxRecord, sandboxPaths } from "./sandbox-store.ts";
import { type ProcessRequest, runToCompletion, spawnProcess } from "./supervised-process.ts";
import type { SupervisorConnection } from "./supervisor-connection.ts";
import { fileError } from "./supervisor-errors.ts";
import { runUnisolated } from "./unisolated-exec.ts";
import { unisolatedFiles } from "./unisolated-files.ts";
import { readWorkspaceFile, writeWorkspaceFile } from "./workspace-files.ts";

const sandboxPath = "/sandport/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

// Code travels as one argv entry; Linux caps a single argument at 128 KiB.
const maxCodeBytes = 128 * 1024 - 1;

/** Largest file `readFile` returns, so a huge or sparse file cannot exhaust the host's memory. */
export const maxReadFileBytes = 256 * 1024 * 1024;

/** How the sandbox runs things: through its supervisor, or (isolation "none") on the host. */
export type SandboxBackend =
  | { kind: "supervised"; environment: LocalEnvironment; runtimes: SandboxRuntimes }
  | { kind: "unisolated"; environment: UnisolatedEnvironment };

/** A sandbox of the local provider. */
export class LocalSandbox implements Sandbox {
  readonly id: string;
  readonly #backend: SandboxBackend;
  readonly #record: SandboxRecord;
  readonly #providerId: string;
  readonly #running = new Set<() => void>();
  #destroyed = false;

  constructor(backend: SandboxBackend, record: SandboxRecord) {
    this.#backend = backend;
    this.#record = record;
    this.#providerId = backend.environment.settings.providerId;
    this.id = `${this.#providerId}:${record.vendorId}`;
  }

  /** Every error leaves with this provider's id, whichever shared check raised it. */
  #attributed<T>(call: Promise<T>): Promise<T> {
    return call.catch((error: unknown) => {
      throw toSandportError(error, this.#providerId);
    });
  }

  async #assertAlive(): Promise<void> {
    const expired = this.#record.expiresAt !== undefined && Date.now() >= this.#record.expiresAt;
    if (expired && !this.#destroyed) await this.destroy();
    if (this.#destroyed || !(await this.#backend.environment.store.exists(this.#record.vendorId))) {
      throw new NotFoundError(`sandbox ${this.id} does not exist (destroyed or expired)`, {
        providerId: this.#providerId,
      });
    }
  }

  async #connection(): Promise<SupervisorConnection> {
    if (this.#backend.kind !== "supervised") throw new Error("unreachable: no supervisor without isolation");
    return this.#backend.runtimes.connectionFor(this.#record);
  }

  /** Calls after destroy (or a destroy racing the call) report the sandbox as gone. */
  #gone(error: unknown): unknown {
    return this.#destroyed
      ? new NotFoundError(`sandbox ${this.id} was destroyed`, { cause: error, providerId: this.#providerId })
      : error;
  }

  #processRequest(command: Command, options: ExecOptions): ProcessRequest {
    const argv = parseCommand(command);
    const cwd =
      options.cwd === undefined
        ? workspaceMountPath
        : posix.normalize(
            posix.isAbsolute(options.cwd) ? options.cwd : posix.join(workspaceMountPath, options.cwd),
          );
    return {
      argv: Array.isArray(argv) ? [...argv] : ["/bin/sh", "-c", (argv as { shell: string }).shell],
      // The request's env reaches only the command's own execve, inside the sandbox.
      env: {
        PATH: sandboxPath,
        HOME: workspaceMountPath,
        TMPDIR: "/tmp",
        LANG: "C.UTF-8",
        ...this.#record.env,
        ...options.env,
      },
      cwd,
      providerId: this.#providerId,
    };
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed(this.#exec(command, options));
  }

  async #exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const checked = parseExecOptions(options);
    const request = this.#processRequest(command, checked);
    throwIfAborted(checked.signal, this.#providerId);
    await this.#assertAlive();
    if (this.#backend.kind === "unisolated") {
      return runUnisolated(this.#backend.environment, this.#record, request, checked, (kill) => {
        this.#running.add(kill);
        return () => this.#running.delete(kill);
      });
    }
    try {
      return await runToCompletion(await this.#connection(), request, checked);
    } catch (error) {
      throw this.#gone(error);
    }
  }

  spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    return this.#attributed(this.#spawn(command, options));
  }

  async #spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    const checked = parseExecOptions(options);
    const request = this.#processRequest(command, checked);
    throwIfAborted(checked.signal, this.#providerId);
    if (this.#backend.kind !== "supervised") {
      throw new UnsupportedCapabilityError('spawn needs an isolated sandbox (isolation is "none")', {
        providerId: this.#providerId,
      });
    }
    await this.#assertAlive();
    try {
      return await spawnProcess(await this.#connection(), request, checked);
    } catch (error) {
      throw this.#gone(error);
    }
  }

  runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    return this.#attributed(this.#runCode(code, options));
  }

  async #runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    if (typeof code !== "string") throw new InvalidRequestError("code: must be a string");
    if (Buffer.byteLength(code) > maxCodeBytes) {
      throw new InvalidRequestError(
        `code: larger than ${maxCodeBytes} bytes; write it to a file and exec it`,
      );
    }
    const { language, ...execOptions } = options;
    if (!this.#backend.environment.capabilities.runtimes.includes(language)) {
      throw new InvalidRequestError(`language "${language}" is not available in this sandbox`);
    }
    return this.#exec(codeCommand(language, code), execOptions);
  }

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#attributed(this.#readFile(path, options));
  }

  async #readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    if (typeof path !== "string" || path === "")
      throw new InvalidRequestError("path: must be a non-empty string");
    await this.#assertAlive();
    if (this.#backend.kind === "unisolated") {
      return readWorkspaceFile(
        sandboxPaths(this.#backend.environment.settings.stateDirectory, this.#record.vendorId).workspace,
        path,
      );
    }
    try {
      return new Uint8Array(await (await this.#connection()).readFile(path, maxReadFileBytes));
    } catch (error) {
      throw this.#gone(fileError(error, path, this.#providerId));
    }
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    return this.#attributed(this.#writeFile(path, data, options));
  }

  async #writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (typeof path !== "string" || path === "")
      throw new InvalidRequestError("path: must be a non-empty string");
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array");
    }
    await this.#assertAlive();
    if (this.#backend.kind === "unisolated") {
      const { workspace } = sandboxPaths(
        this.#backend.environment.settings.stateDirectory,
        this.#record.vendorId,
      );
      await writeWorkspaceFile(workspace, path, data, undefined);
      return;
    }
    try {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      await (await this.#connection()).writeFile(path, bytes);
    } catch (error) {
      throw this.#gone(fileError(error, path, this.#providerId));
    }
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(this.#listFiles(path, options));
  }

  async #listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    const checked = parseFileCallOptions(options);
    const recursive = checked.recursive ?? false;
    const maxEntries = checked.maxEntries ?? defaultMaxListEntries;
    return this.#fileCall(parsePath(path), checked.signal, {
      supervised: async (connection) =>
        (await connection.listFiles(path, recursive, maxEntries)).map(toFileInfo),
      unisolated: (files) => files.listFiles(path, recursive, maxEntries),
    });
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(
      (async () =>
        this.#fileCall(parsePath(path), options?.signal, {
          supervised: async (connection) => toFileInfo(await connection.statFile(path)),
          unisolated: (files) => files.statFile(path),
        }))(),
    );
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(
      (async () => {
        const recursive = parseFileCallOptions(options).recursive ?? false;
        await this.#fileCall(parsePath(path), options?.signal, {
          supervised: (connection) => connection.makeDirectory(path, recursive),
          unisolated: (files) => files.makeDirectory(path, recursive),
        });
      })(),
    );
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(
      (async () => {
        const recursive = parseFileCallOptions(options).recursive ?? false;
        await this.#fileCall(parsePath(path), options?.signal, {
          supervised: async (connection) => {
            const entry = await connection.statFile(path);
            if (!recursive || entry.type !== 2) return connection.removeFile(path);
            // A tree of any depth: coreutils' rm inside the sandbox, as its uid, never following links.
            const result = await runToCompletion(
              connection,
              { ...this.#processRequest(["rm", "-rf", "--", entry.path], {}) },
              { maxOutputBytes: 4096 },
            );
            if (result.exitCode !== 0) {
              throw new SandboxFailedError(
                `${JSON.stringify(path)} could not be removed: ${result.stderr.trim()}`,
                {
                  providerId: this.#providerId,
                },
              );
            }
          },
          unisolated: (files) => files.removeFile(path, recursive),
        });
      })(),
    );
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(
      (async () => {
        parsePath(to, "to");
        await this.#fileCall(parsePath(from, "from"), options?.signal, {
          supervised: (connection) => connection.renameFile(from, to),
          unisolated: (files) => files.renameFile(from, to),
        });
      })(),
    );
  }

  exposePort(port: number, options?: CallOptions): Promise<ExposedPort> {
    return this.#attributed(
      (async () => {
        if (!Number.isInteger(port) || port < 1 || port > 65_535) {
          throw new InvalidRequestError(`port: must be an integer from 1 to 65535 (got ${String(port)})`);
        }
        throwIfAborted(options?.signal, this.#providerId);
        await this.#assertAlive();
        const backend = this.#backend;
        // Without isolation the command listens on the host's own loopback already.
        if (backend.kind === "unisolated") return { url: `http://127.0.0.1:${port}` };
        const url = await backend.runtimes.ports.expose(this.#record.vendorId, port, () =>
          this.#connection(),
        );
        return { url };
      })(),
    );
  }

  /** Runs a file call through the supervisor (or on the host without isolation), mapping its errors. */
  async #fileCall<T>(
    path: string,
    signal: AbortSignal | undefined,
    call: {
      supervised: (connection: SupervisorConnection) => Promise<T>;
      unisolated: (files: ReturnType<typeof unisolatedFiles>) => Promise<T>;
    },
  ): Promise<T> {
    throwIfAborted(signal, this.#providerId);
    await this.#assertAlive();
    if (this.#backend.kind === "unisolated") {
      const { workspace } = sandboxPaths(
        this.#backend.environment.settings.stateDirectory,
        this.#record.vendorId,
      );
      return call.unisolated(unisolatedFiles(workspace));
    }
    try {
      return await call.supervised(await this.#connection());
    } catch (error) {
      throw this.#gone(fileError(error, path, this.#providerId));
    }
  }

  async destroy(_options?: CallOptions): Promise<void> {
    this.#destroyed = true;
    for (const kill of this.#running) kill();
    if (this.#backend.kind === "supervised") await this.#backend.runtimes.stop(this.#record.vendorId);
    await this.#backend.environment.store.remove(this.#record.vendorId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
