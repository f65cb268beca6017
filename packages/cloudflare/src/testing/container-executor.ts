/**
 * What runs the commands and holds the files of the sandbox bridge fake's containers. The fake speaks the
 * bridge's wire; an executor makes what travels over it real (the default runs a `@sandport/local`
 * sandbox per container).
 */

/** One command the fake was asked to run. */
export interface FakeContainerExecRequest {
  /**
   * The command line the sandbox bridge built from the body's argv (`argv.map(shellQuote).join(" ")`,
   * ANSI-C `$'...'` quoting): what the container's bash session runs. Run it with bash, as the container does.
   */
  command: string;
  /** Absolute working directory inside /workspace (the sandbox bridge resolved it). */
  cwd: string;
  /** Output bytes, as they are produced. */
  onStdout(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
}
// No signal and no timeout, on purpose: the sandbox bridge passes neither to the command. Its exec route
// never watches the client's connection, and the container's streaming exec drops `timeout_ms`. Only
// destroying the sandbox, or another command that kills it, ends a command.

/** How a command ended: its exit status. */
export type FakeContainerExecOutcome = { exitCode: number };

/** One running container of the fake. */
export interface FakeContainer {
  /** Runs a command to completion. Throwing makes the fake send an `error` event (`exec_error`). */
  exec(request: FakeContainerExecRequest): Promise<FakeContainerExecOutcome>;
  /** Reads an absolute /workspace path; `undefined` when there is no such file. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Writes an absolute /workspace path, creating parent directories. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Stops the container and discards everything in it. */
  stop(): Promise<void>;
}

/** Starts containers for the fake: called when the sandbox bridge assigns a container to a sandbox id. */
export interface ContainerExecutor {
  start(): Promise<FakeContainer>;
}
