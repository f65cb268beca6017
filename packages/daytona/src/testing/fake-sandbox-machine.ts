/**
 * What runs the commands and holds the files of the Daytona fake's sandboxes. The fake speaks
 * Daytona's wire; a machine makes what travels over it real. The default, {@link createLocalMachines},
 * is one `@sandport/local` sandbox per Daytona sandbox (commands really run, files really exist),
 * whose working directory `/workspace` plays the Daytona user's working directory.
 */
import type { FileInfo, Sandbox, SandboxProvider } from "@sandport/core";
import type { LocalProviderSettings } from "@sandport/local";

/** One command run by a machine. */
export interface MachineCommand {
  /** The command line, run by bash as Daytona's session shell does. */
  commandLine: string;
  /** Absolute working directory; default the machine's working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Ends the command (Daytona: its session was deleted, or the sandbox). */
  signal: AbortSignal;
  onStdout(text: string): void;
  onStderr(text: string): void;
}

/** One sandbox's machine. File paths are absolute. */
export interface FakeMachine {
  /** The Daytona user's working directory (where relative paths and sessions start). */
  readonly workingDirectory: string;
  /** Runs a command to its end; resolves with its exit status (128 + n for a signal). */
  run(command: MachineCommand): Promise<number>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  listFiles(path: string): Promise<FileInfo[]>;
  statFile(path: string): Promise<FileInfo>;
  makeDirectory(path: string): Promise<void>;
  removeFile(path: string, recursive: boolean): Promise<void>;
  renameFile(from: string, to: string): Promise<void>;
  /**
   * A loopback URL (`http://127.0.0.1:<port>`) reaching `port` inside the machine, for preview
   * links. Without it the fake's preview links fail.
   */
  exposePort?(port: number): Promise<string>;
  /** Whether `path` lies in the area the machine lets the sandbox user read and write. */
  isAccessible(path: string): boolean;
  /** Stops everything and discards the sandbox. */
  destroy(): Promise<void>;
}

/** Starts machines: called when the fake creates a Daytona sandbox. */
export interface FakeMachineFactory {
  start(options: { env: Record<string, string> }): Promise<FakeMachine>;
  /** Releases what the factory holds. */
  dispose?(): Promise<void>;
}

// The fake passes on everything a command prints; the adapter under test applies the caller's cap.
const unlimitedOutputBytes = 256 * 1024 * 1024;
// Linux caps one argv entry at 128 KiB: longer lines reach bash through a script file.
const maxInlineLine = 100_000;

class LocalMachine implements FakeMachine {
  readonly workingDirectory = "/workspace";
  readonly #sandbox: Sandbox;

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  isAccessible(path: string): boolean {
    return path === this.workingDirectory || path.startsWith(`${this.workingDirectory}/`);
  }

  async run(command: MachineCommand): Promise<number> {
    let argv = ["/bin/bash", "-c", command.commandLine];
    if (command.commandLine.length > maxInlineLine) {
      const script = `/tmp/daytona-fake-command-${crypto.randomUUID()}.sh`;
      await this.#sandbox.exec(["sh", "-c", 'cat > "$1"', "sh", script], { stdin: command.commandLine });
      argv = ["/bin/bash", script];
    }
    const result = await this.#sandbox.exec(argv, {
      cwd: command.cwd ?? this.workingDirectory,
      ...(command.env === undefined ? {} : { env: command.env }),
      signal: command.signal,
      maxOutputBytes: unlimitedOutputBytes,
      onStdout: command.onStdout,
      onStderr: command.onStderr,
    });
    return result.exitCode;
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.#sandbox.readFile(path);
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return this.#sandbox.writeFile(path, data);
  }

  listFiles(path: string): Promise<FileInfo[]> {
    return this.#sandbox.listFiles(path);
  }

  async statFile(path: string): Promise<FileInfo> {
    if (path === this.workingDirectory) {
      // The local sandbox's file calls address entries inside its workspace, not the workspace itself.
      return { name: "workspace", path, type: "directory", size: 0, modifiedAt: new Date() };
    }
    return this.#sandbox.statFile(path);
  }

  makeDirectory(path: string): Promise<void> {
    return this.#sandbox.makeDirectory(path, { recursive: true });
  }

  removeFile(path: string, recursive: boolean): Promise<void> {
    return this.#sandbox.removeFile(path, { recursive });
  }

  renameFile(from: string, to: string): Promise<void> {
    return this.#sandbox.renameFile(from, to);
  }

  async exposePort(port: number): Promise<string> {
    const expose = this.#sandbox.exposePort?.bind(this.#sandbox);
    if (expose === undefined) throw new Error("the local sandbox exposes no ports");
    return (await expose(port)).url;
  }

  async destroy(): Promise<void> {
    await this.#sandbox.destroy();
  }
}

/**
 * Machines that are `@sandport/local` sandboxes made with `settings` (by default local's defaults:
 * a supervisor per sandbox, no network). `@sandport/local` is an optional peer dependency, loaded
 * when the first sandbox starts.
 */
export function createLocalMachines(settings: LocalProviderSettings = {}): FakeMachineFactory {
  let provider: Promise<SandboxProvider> | undefined;
  return {
    async start({ env }) {
      provider ??= import("@sandport/local").then((local) => local.createLocalProvider(settings));
      return new LocalMachine(await (await provider).create({ env }));
    },
    async dispose() {
      if (provider !== undefined) await (await provider).dispose?.();
    },
  };
}
