/** One local sandbox: a workspace directory; every command runs in fresh namespaces around it. */
import { stat } from "node:fs/promises";
import { join, posix } from "node:path";
import {
  type CallOptions,
  type Command,
  codeCommand,
  type ExecOptions,
  type ExecResult,
  InvalidRequestError,
  NotFoundError,
  parseCommand,
  parseExecOptions,
  type RunCodeOptions,
  type Sandbox,
  SandboxFailedError,
  throwIfAborted,
  workspaceMountPath,
  workspaceRelativePath,
} from "@sandport/core";
import { buildLaunch, missingDirectoryMarker } from "./command-launch.ts";
import type { LocalEnvironment } from "./local-environment.ts";
import { runProcess } from "./run-process.ts";
import { type SandboxRecord, sandboxPaths } from "./sandbox-store.ts";
import { readWorkspaceFile, writeWorkspaceFile } from "./workspace-files.ts";

const sandboxPath = "/sandport/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

// Code travels as one argv entry; Linux caps a single argument at 128 KiB.
const maxCodeBytes = 128 * 1024 - 1;

/** A sandbox of the local provider. */
export class LocalSandbox implements Sandbox {
  readonly id: string;
  readonly #environment: LocalEnvironment;
  readonly #record: SandboxRecord;
  readonly #running = new Set<() => void>();
  #destroyed = false;

  constructor(environment: LocalEnvironment, record: SandboxRecord) {
    this.#environment = environment;
    this.#record = record;
    this.id = `${environment.settings.providerId}:${record.vendorId}`;
  }

  get #paths() {
    return sandboxPaths(this.#environment.settings.stateDirectory, this.#record.vendorId);
  }

  async #assertAlive(): Promise<void> {
    const expired = this.#record.expiresAt !== undefined && Date.now() >= this.#record.expiresAt;
    if (expired && !this.#destroyed) await this.destroy();
    if (this.#destroyed || !(await this.#environment.store.exists(this.#record.vendorId))) {
      throw new NotFoundError(`sandbox ${this.id} does not exist (destroyed or expired)`, {
        providerId: this.#environment.settings.providerId,
      });
    }
  }

  /** Resolves the working directory; paths in the workspace must exist on the host side. */
  async #resolveCwd(cwd: string | undefined): Promise<string> {
    if (cwd === undefined) return workspaceMountPath;
    const absolute = posix.normalize(posix.isAbsolute(cwd) ? cwd : posix.join(workspaceMountPath, cwd));
    if (absolute === workspaceMountPath) return absolute;
    if (absolute.startsWith(`${workspaceMountPath}/`)) {
      const relative = workspaceRelativePath(absolute);
      const stats = await stat(join(this.#paths.workspace, relative)).catch(() => undefined);
      if (!stats?.isDirectory())
        throw new InvalidRequestError(`cwd "${cwd}" is not a directory in the sandbox`);
    }
    return absolute;
  }

  async exec(command: Command, options?: ExecOptions): Promise<ExecResult> {
    const argv = parseCommand(command);
    const checked = parseExecOptions(options);
    throwIfAborted(checked.signal, this.#environment.settings.providerId);
    await this.#assertAlive();
    const cwd = await this.#resolveCwd(checked.cwd);
    const settings = this.#environment.settings;
    const env: Record<string, string> = {
      PATH: sandboxPath,
      HOME: workspaceMountPath,
      TMPDIR: "/tmp",
      LANG: "C.UTF-8",
      ...this.#record.env,
      ...checked.env,
    };
    const commandArgv = Array.isArray(argv)
      ? [...argv]
      : ["/bin/sh", "-c", (argv as { shell: string }).shell];
    const host = this.#hostCommand(commandArgv, cwd, env);
    const outcome = await runProcess({
      file: host.file,
      args: host.args,
      env: host.env,
      cwd: host.cwd,
      stdin: checked.stdin,
      timeoutMs: checked.timeoutMs,
      signal: checked.signal,
      maxOutputBytes: checked.maxOutputBytes,
      onStdout: checked.onStdout,
      onStderr: checked.onStderr,
      readyPipe: host.isolated,
      processGroup: !host.isolated,
      track: (kill) => {
        this.#running.add(kill);
        return () => this.#running.delete(kill);
      },
      providerId: settings.providerId,
    });
    if (host.isolated && outcome.ready === "" && !outcome.result.timedOut) {
      if (this.#destroyed) throw new NotFoundError(`sandbox ${this.id} was destroyed while the command ran`);
      const detail = outcome.result.stderr.trim().split("\n")[0] ?? "";
      throw new SandboxFailedError(`sandbox setup failed${detail === "" ? "" : `: ${detail}`}`, {
        providerId: settings.providerId,
      });
    }
    if (outcome.ready === missingDirectoryMarker) {
      throw new InvalidRequestError(`cwd "${cwd}" is not a directory in the sandbox`);
    }
    return outcome.result;
  }

  /** The host command line: namespaces around the command, or (isolation "none") the command itself. */
  #hostCommand(commandArgv: string[], cwd: string, env: Record<string, string>) {
    const environment = this.#environment;
    const { settings, tools, skeleton } = environment;
    if (tools === undefined || skeleton === undefined) {
      return {
        isolated: false,
        file: commandArgv[0] as string,
        args: commandArgv.slice(1),
        env: {
          ...env,
          PATH: `${environment.nodeDirectory}:${process.env.PATH ?? ""}`,
          HOME: this.#paths.workspace,
        },
        cwd: cwd.replace(workspaceMountPath, this.#paths.workspace),
      };
    }
    // Whole vCPUs are enforced by pinning the command to that many cores.
    const cpuList =
      this.#record.cpu === undefined || environment.taskset === undefined
        ? []
        : [environment.taskset, "--cpu-list", `0-${Math.ceil(this.#record.cpu) - 1}`];
    const launch = buildLaunch({
      tools,
      mounts: {
        skeleton,
        rootMountPoint: this.#paths.rootMountPoint,
        workspace: this.#paths.workspace,
        nodeBinary: environment.nodeBinary,
        tmpSizeMb: settings.tmpSizeMb,
      },
      limits: {
        processes: settings.processes,
        memoryMb: this.#record.memoryMb,
        fileSizeMb: settings.fileSizeMb,
        openFiles: settings.openFiles,
        cpuSeconds: settings.cpuSeconds,
      },
      network: this.#record.network,
      runAsUid: environment.runAsUid,
      cwd,
      fstabPath: this.#paths.fstab,
      command: [...cpuList, ...commandArgv],
    });
    return { isolated: true, file: launch.file, args: launch.args, env, cwd: undefined };
  }

  async runCode(code: string, options: RunCodeOptions): Promise<ExecResult> {
    if (typeof code !== "string") throw new InvalidRequestError("code: must be a string");
    if (Buffer.byteLength(code) > maxCodeBytes) {
      throw new InvalidRequestError(
        `code: larger than ${maxCodeBytes} bytes; write it to a file and exec it`,
      );
    }
    const { language, ...execOptions } = options;
    if (!this.#environment.capabilities.runtimes.includes(language)) {
      throw new InvalidRequestError(`language "${language}" is not available in this sandbox`);
    }
    return this.exec(codeCommand(language, code), execOptions);
  }

  async readFile(path: string, options?: CallOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    await this.#assertAlive();
    return readWorkspaceFile(this.#paths.workspace, path);
  }

  async writeFile(path: string, data: Uint8Array | string, options?: CallOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array");
    }
    await this.#assertAlive();
    await writeWorkspaceFile(this.#paths.workspace, path, data, this.#environment.runAsUid);
  }

  async destroy(_options?: CallOptions): Promise<void> {
    this.#destroyed = true;
    for (const kill of this.#running) kill();
    await this.#environment.store.remove(this.#record.vendorId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}
