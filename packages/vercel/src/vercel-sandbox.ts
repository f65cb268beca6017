/** One sandbox of the `vercel` provider: a Vercel sandbox and its running session. */
import {
  AbortedError,
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
  listFilesByShell,
  type MakeDirectoryOptions,
  makeDirectoryByShell,
  NotFoundError,
  parseCommand,
  parseExecOptions,
  parseFileCallOptions,
  parsePath,
  type RemoveFileOptions,
  type RunCodeOptions,
  removeFileByShell,
  renameFileByShell,
  type Sandbox,
  type SandboxProcess,
  type ShellFileRunner,
  type SpawnOptions,
  statFileByShell,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
} from "@sandport/core";
import type { Session, Sandbox as VercelSdkSandbox } from "@vercel/sandbox";
import { errorFromApiError, errorFromVercel } from "./vercel-errors.ts";
import { runVercelCommand, type VercelExecInput } from "./vercel-exec.ts";
import { type VercelFileContext, vercelFileRunner } from "./vercel-files.ts";
import { spawnVercelProcess } from "./vercel-process.ts";
import {
  resolveWorkingDirectory,
  resolveWorkspacePath,
  vercelWorkspaceRoot,
} from "./vercel-request-mapping.ts";
import type { VercelSdk } from "./vercel-settings.ts";

// Code travels as one argv entry, which Linux caps at 128 KiB.
const maxCodeBytes = 128 * 1024 - 1;

/** Limit of one file call done with a command, ms. */
const fileCallTimeoutMs = 60_000;

/** What a sandbox handle shares with its provider. */
export interface VercelSandboxContext {
  providerId: string;
  sdk: VercelSdk;
  runtimes: readonly RunCodeOptions["language"][];
  defaultTimeoutMs: number | undefined;
  /** Names destroyed by this provider instance (bounded), so their handles answer `not_found` at once. */
  destroyed: Set<string>;
}

/** Whether an SDK failure is the API's 404 (the session or sandbox no longer exists). */
function isApiStatus(error: unknown, sdk: VercelSdk, statuses: readonly number[]): boolean {
  return (
    error instanceof sdk.APIError && statuses.includes((error as { response: Response }).response.status)
  );
}

/** A sandbox handle. `connect` builds a new one around the same sandbox. */
export class VercelSandbox implements Sandbox {
  readonly id: string;
  /** Vercel's name of the sandbox. */
  readonly name: string;
  readonly #context: VercelSandboxContext;
  readonly #sandbox: VercelSdkSandbox;
  /**
   * The session the handle works with. Calls go to it, never through the SDK's `Sandbox` methods,
   * which would resume (restart) a stopped sandbox: a sandbox whose `timeout` ran out is gone.
   */
  readonly #session: Session;

  constructor(context: VercelSandboxContext, sandbox: VercelSdkSandbox) {
    this.#context = context;
    this.#sandbox = sandbox;
    this.#session = sandbox.currentSession();
    this.name = sandbox.name;
    this.id = encodeSandboxId(context.providerId, sandbox.name);
  }

  /** Every error leaves as a sandport error with this provider's id. */
  #attributed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return (async () => {
      this.#assertLive();
      return call();
    })().catch((error: unknown) => {
      throw errorFromVercel(error, this.#context.sdk, { providerId: this.#context.providerId, operation });
    });
  }

  #assertLive(): void {
    if (this.#context.destroyed.has(this.name)) {
      throw new NotFoundError(`sandbox ${this.id} was destroyed`, { providerId: this.#context.providerId });
    }
  }

  exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#attributed("exec", () => this.#exec(command, options));
  }

  #exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    return this.#prepare("exec", command, options).then(runVercelCommand);
  }

  /** Starts a command in the background: a Vercel detached command (see `vercel-process.ts`). */
  spawn(command: Command, options?: SpawnOptions): Promise<SandboxProcess> {
    return this.#attributed("spawn", async () => {
      const {
        onStdout: _onStdout,
        onStderr: _onStderr,
        ...input
      } = await this.#prepare("spawn", command, options);
      return spawnVercelProcess(input);
    });
  }

  /** Checks a command and its options (before anything is sent) and resolves its working directory. */
  async #prepare(
    verb: "exec" | "spawn",
    command: Command,
    options: ExecOptions | SpawnOptions | undefined,
  ): Promise<VercelExecInput> {
    const { providerId, sdk } = this.#context;
    const parsed = parseCommand(command);
    const checked = parseExecOptions<ExecOptions>(options);
    if (checked.stdin !== undefined) {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}" does not support stdin: Vercel's command API takes none`,
        { providerId },
      );
    }
    if (checked.signal?.aborted)
      throw new AbortedError(`${verb}: aborted`, { cause: checked.signal.reason, providerId });
    const cwd = resolveWorkingDirectory(checked.cwd);
    const operation = `${verb} ${JSON.stringify("shell" in parsed ? "sh" : parsed[0])}`;
    if (checked.cwd !== undefined) await this.#assertDirectory(cwd, checked.cwd, checked.signal);
    return {
      session: this.#session,
      sdk,
      // Only the program: arguments and env values may hold secrets.
      context: { providerId, operation },
      argv: "shell" in parsed ? ["sh", "-c", parsed.shell] : parsed,
      cwd,
      env: checked.env,
      timeoutMs: checked.timeoutMs ?? this.#context.defaultTimeoutMs,
      signal: checked.signal,
      maxOutputBytes: checked.maxOutputBytes,
      onStdout: checked.onStdout,
      onStderr: checked.onStderr,
    };
  }

  /**
   * The public URL of `port` (`https://<subdomain>.vercel.run`, the SDK's `domain(port)`). Vercel
   * routes only the ports declared when the sandbox was created (`providerOptions[id].ports` or
   * the `ports` setting); any other port is `invalid_request`, never a URL that leads nowhere.
   * Nothing is sent: the routes came with the sandbox.
   */
  exposePort(port: number, options?: CallOptions): Promise<ExposedPort> {
    return this.#attributed(`exposePort ${String(port)}`, async () => {
      const { providerId } = this.#context;
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        throw new InvalidRequestError(`port: must be an integer from 1 to 65535 (got ${String(port)})`, {
          providerId,
        });
      }
      throwIfAborted(options?.signal, providerId);
      const declared = this.#session.routes.map((route) => route.port);
      if (!declared.includes(port)) {
        throw new InvalidRequestError(
          `port ${port} was not declared when sandbox ${this.id} was created (declared: ${
            declared.length === 0 ? "none" : declared.join(", ")
          }); Vercel routes only ports declared at create: list it in providerOptions.${providerId}.ports or the provider's ports setting`,
          { providerId },
        );
      }
      return { url: this.#session.domain(port) };
    });
  }

  /** A working directory the caller named must exist: checked first, so a missing one is the caller's error. */
  async #assertDirectory(cwd: string, requested: string, signal: AbortSignal | undefined): Promise<void> {
    const { providerId, sdk } = this.#context;
    const check = await runVercelCommand({
      session: this.#session,
      sdk,
      context: { providerId, operation: "exec (working directory check)" },
      // Relative to the working directory where it lies inside it, so the path names the same
      // directory wherever the working directory is mounted.
      argv: [
        "test",
        "-d",
        cwd === vercelWorkspaceRoot
          ? "."
          : cwd.startsWith(`${vercelWorkspaceRoot}/`)
            ? cwd.slice(vercelWorkspaceRoot.length + 1)
            : cwd,
      ],
      cwd: vercelWorkspaceRoot,
      signal,
      maxOutputBytes: 0,
    });
    if (check.exitCode !== 0) {
      throw new InvalidRequestError(`cwd "${requested}" is not a directory in the sandbox`, { providerId });
    }
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

  readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#attributed(`readFile ${JSON.stringify(path)}`, async () => {
      const { providerId } = this.#context;
      const absolute = resolveWorkspacePath(parsePath(path), "path", providerId);
      // fs/read answers 404 for a missing file (the SDK returns null then).
      const buffer = await this.#session.readFileToBuffer({ path: absolute }, { signal: options?.signal });
      if (buffer === null) {
        throw new NotFoundError(`readFile ${JSON.stringify(path)}: no such file`, { providerId });
      }
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    });
  }

  writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    return this.#attributed(`writeFile ${JSON.stringify(path)}`, async () => {
      const { providerId } = this.#context;
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new InvalidRequestError("data: must be a string or a Uint8Array", { providerId });
      }
      const absolute = resolveWorkspacePath(parsePath(path), "path", providerId);
      const content = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
      // One gzipped tar with one entry, extracted by fs/write (parents are created).
      await this.#session.writeFiles([{ path: absolute, content }], { signal: options?.signal });
    });
  }

  listFiles(path: string, options?: ListFilesOptions): Promise<FileInfo[]> {
    return this.#attributed(`listFiles ${JSON.stringify(path)}`, async () => {
      const { providerId } = this.#context;
      const absolute = resolveWorkspacePath(parsePath(path), "path", providerId, true);
      const checked = parseFileCallOptions(options);
      return listFilesByShell(
        this.#files(),
        path,
        absolute,
        checked.recursive ?? false,
        checked.maxEntries ?? defaultMaxListEntries,
        checked.signal,
      );
    });
  }

  statFile(path: string, options?: CallOptions): Promise<FileInfo> {
    return this.#attributed(`statFile ${JSON.stringify(path)}`, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId, true);
      return statFileByShell(this.#files(), path, absolute, options?.signal);
    });
  }

  makeDirectory(path: string, options?: MakeDirectoryOptions): Promise<void> {
    return this.#attributed(`makeDirectory ${JSON.stringify(path)}`, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId);
      const checked = parseFileCallOptions(options);
      await makeDirectoryByShell(this.#files(), path, absolute, checked.recursive ?? false, checked.signal);
    });
  }

  removeFile(path: string, options?: RemoveFileOptions): Promise<void> {
    return this.#attributed(`removeFile ${JSON.stringify(path)}`, async () => {
      const absolute = resolveWorkspacePath(parsePath(path), "path", this.#context.providerId);
      const checked = parseFileCallOptions(options);
      await removeFileByShell(this.#files(), path, absolute, checked.recursive ?? false, checked.signal);
    });
  }

  renameFile(from: string, to: string, options?: CallOptions): Promise<void> {
    return this.#attributed(`renameFile ${JSON.stringify(from)}`, async () => {
      const { providerId } = this.#context;
      const source = resolveWorkspacePath(parsePath(from, "from"), "from", providerId);
      const target = resolveWorkspacePath(parsePath(to, "to"), "to", providerId);
      await renameFileByShell(this.#files(), from, to, source, target, options?.signal);
    });
  }

  #files(): ShellFileRunner {
    const context: VercelFileContext = {
      session: this.#session,
      sdk: this.#context.sdk,
      providerId: this.#context.providerId,
      timeoutMs: fileCallTimeoutMs,
    };
    return vercelFileRunner(context);
  }

  /**
   * Deletes the sandbox, which stops its running session first (ending every command at once), as
   * Vercel documents for `DELETE /v2/sandboxes/{name}`: one request. Idempotent: a sandbox already
   * gone (404, or 410 for its session) is what destroy wants.
   */
  async destroy(options?: CallOptions): Promise<void> {
    const { sdk, destroyed } = this.#context;
    if (destroyed.has(this.name)) return;
    const signal = options?.signal;
    try {
      await this.#sandbox.delete({ ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      if (!isApiStatus(error, sdk, [404, 410])) throw this.#destroyError(error);
    }
    destroyed.add(this.name);
    // Bounded: a long-running process must not grow without end; the API answers 404 anyway.
    if (destroyed.size > 10_000) destroyed.delete(destroyed.values().next().value as string);
  }

  #destroyError(error: unknown) {
    const context = { providerId: this.#context.providerId, operation: `destroy ${this.id}` };
    if (error instanceof this.#context.sdk.APIError) return errorFromApiError(error as never, context);
    return toSandportError(errorFromVercel(error, this.#context.sdk, context), this.#context.providerId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
