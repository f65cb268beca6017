/**
 * What runs the commands and holds the files of the sandbox bridge fake's containers. The fake speaks the
 * bridge's wire; an executor makes what travels over it real (the default runs a `@sandport/local`
 * sandbox per container).
 */

/** One command the fake was asked to run. */
export interface FakeContainerExecRequest {
  /** The argv exactly as the sandbox bridge received it. */
  argv: readonly string[];
  /** Absolute working directory inside /workspace (the sandbox bridge resolved it). */
  cwd: string;
  /** The request's `timeout_ms`, when it had one. */
  timeoutMs?: number;
  /** Fires when the client went away (the stream was cancelled or cut): stop the command. */
  signal: AbortSignal;
  /** Output bytes, as they are produced. */
  onStdout(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
}

/** How a command ended: an exit status, or killed at its timeout. */
export type FakeContainerExecOutcome = { exitCode: number } | { timedOut: true };

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
