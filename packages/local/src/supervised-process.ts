/**
 * Commands run by a sandbox's supervisor: `exec` to completion (timeout, abort, output caps,
 * streaming) and `spawn` in the background (streams, stdin, signals).
 */
import { constants } from "node:os";
import {
  AbortedError,
  type ExecResult,
  InvalidRequestError,
  OutputBuffer,
  type ProcessSignal,
  type SandboxProcess,
  watchDeadline,
} from "@sandport/core";
import type { SupervisedProcess, SupervisorConnection } from "./supervisor-connection.ts";
import { execveErrno, isBadDirectory } from "./supervisor-errors.ts";

/** What to run, as the sandbox sees it. */
export interface ProcessRequest {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Absolute path inside the sandbox. */
  cwd: string;
  providerId: string;
}

/** The usual shell results for a program that cannot be run, so callers see what a shell shows. */
function execFailure(argv: readonly string[], errnoValue: number): { exitCode: number; message: string } {
  const name = argv[0] ?? "";
  if (errnoValue === constants.errno.ENOENT)
    return { exitCode: 127, message: `${name}: command not found\n` };
  return { exitCode: 126, message: `${name}: cannot execute (errno ${errnoValue})\n` };
}

/** Waits for the process to start; maps a missing cwd and a failed execve. */
async function started(process: SupervisedProcess, request: ProcessRequest): Promise<ExecResult | undefined> {
  try {
    await process.started;
    return undefined;
  } catch (error) {
    if (isBadDirectory(error)) {
      throw new InvalidRequestError(`cwd "${request.cwd}" is not a directory in the sandbox`, {
        cause: error,
        providerId: request.providerId,
      });
    }
    const errnoValue = execveErrno(error);
    if (errnoValue === undefined) throw error;
    const failure = execFailure(request.argv, errnoValue);
    return {
      exitCode: failure.exitCode,
      stdout: "",
      stderr: failure.message,
      truncated: false,
      timedOut: false,
      durationMs: 0,
    };
  }
}

/** Options of a run to completion. */
export interface RunOptions {
  stdin?: string | Uint8Array;
  timeoutMs?: number;
  signal?: AbortSignal;
  maxOutputBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** Runs a command to completion inside the sandbox. */
export async function runToCompletion(
  connection: SupervisorConnection,
  request: ProcessRequest,
  options: RunOptions,
): Promise<ExecResult> {
  const startedAt = performance.now();
  const stdout = new OutputBuffer(options.maxOutputBytes, options.onStdout);
  const stderr = new OutputBuffer(options.maxOutputBytes, options.onStderr);
  // Both streams in arrival order: the supervisor forwards each pipe's data as it reads it.
  const combined = new OutputBuffer(options.maxOutputBytes);
  let outputClosed = 0;
  const process: SupervisedProcess = connection.startProcess(
    { argv: request.argv, env: request.env, cwd: request.cwd, stdinOpen: options.stdin !== undefined },
    {
      onStdout: (chunk) => {
        combined.append(chunk);
        // Past the cap, stop reading: a command still writing gets SIGPIPE, as when piped into `head`.
        if (stdout.append(chunk).byteLength < chunk.byteLength && (outputClosed & 1) === 0) {
          outputClosed |= 1;
          process.closeOutput(1);
        }
      },
      onStderr: (chunk) => {
        combined.append(chunk);
        if (stderr.append(chunk).byteLength < chunk.byteLength && (outputClosed & 2) === 0) {
          outputClosed |= 2;
          process.closeOutput(2);
        }
      },
    },
  );
  writeAllStdin(process, options.stdin);
  const watch = watchDeadline(() => process.signal(constants.signals.SIGKILL), options);
  try {
    const failedStart = await started(process, request);
    if (failedStart !== undefined) {
      stderr.append(Buffer.from(failedStart.stderr));
      stderr.finish();
      return { ...failedStart, stderr: stderr.text(), durationMs: elapsed(startedAt) };
    }
    const exitCode = await process.exited;
    if (watch.aborted) {
      throw new AbortedError("the command was aborted", {
        cause: options.signal?.reason,
        providerId: request.providerId,
      });
    }
    stdout.finish();
    stderr.finish();
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      output: combined.text(),
      stdoutBytes: stdout.bytes(),
      stderrBytes: stderr.bytes(),
      truncated: stdout.truncated || stderr.truncated,
      timedOut: watch.timedOut,
      durationMs: elapsed(startedAt),
    };
  } finally {
    watch.stop();
  }
}

/** Writes all of `stdin` (when given) and closes the input, as for `exec`. */
function writeAllStdin(process: SupervisedProcess, stdin: string | Uint8Array | undefined): void {
  if (stdin === undefined) return;
  process.writeStdin(typeof stdin === "string" ? Buffer.from(stdin) : stdin);
  process.closeStdin();
}

function elapsed(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}

/** An async iterable of text chunks fed by a producer, ended once. */
class TextStream implements AsyncIterable<string> {
  readonly #chunks: string[] = [];
  readonly #waiting: Array<(result: IteratorResult<string>) => void> = [];
  readonly #decoder = new TextDecoder();
  #ended = false;

  push(bytes: Uint8Array): void {
    const text = this.#decoder.decode(bytes, { stream: true });
    if (text !== "") this.#deliver(text);
  }

  end(): void {
    if (this.#ended) return;
    const rest = this.#decoder.decode();
    if (rest !== "") this.#deliver(rest);
    this.#ended = true;
    for (const resolve of this.#waiting.splice(0)) resolve({ value: undefined, done: true });
  }

  #deliver(text: string): void {
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter({ value: text, done: false });
    else this.#chunks.push(text);
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: () => {
        const chunk = this.#chunks.shift();
        if (chunk !== undefined) return Promise.resolve({ value: chunk, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
    };
  }
}

/** Options of a background process. */
export type SpawnRunOptions = Omit<RunOptions, "onStdout" | "onStderr">;

/** Starts a background process; resolves once it runs. */
export async function spawnProcess(
  connection: SupervisorConnection,
  request: ProcessRequest,
  options: SpawnRunOptions,
): Promise<SandboxProcess> {
  const stdoutStream = new TextStream();
  const stderrStream = new TextStream();
  const stdout = new OutputBuffer(options.maxOutputBytes);
  const stderr = new OutputBuffer(options.maxOutputBytes);
  const startedAt = performance.now();
  const process = connection.startProcess(
    { argv: request.argv, env: request.env, cwd: request.cwd, stdinOpen: true },
    {
      onStdout: (chunk) => stdoutStream.push(stdout.append(chunk)),
      onStderr: (chunk) => stderrStream.push(stderr.append(chunk)),
    },
  );
  let stdinOpen = options.stdin === undefined;
  writeAllStdin(process, options.stdin);
  const watch = watchDeadline(() => process.signal(constants.signals.SIGKILL), options);
  const cleanUp = () => {
    watch.stop();
    stdoutStream.end();
    stderrStream.end();
  };
  const failedStart = await started(process, request).catch((error: unknown) => {
    cleanUp();
    throw error;
  });
  const result: Promise<ExecResult> =
    failedStart !== undefined
      ? Promise.resolve(failedStart)
      : process.exited.then((exitCode) => ({
          exitCode,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut: watch.timedOut,
          durationMs: elapsed(startedAt),
        }));
  if (failedStart !== undefined) stderrStream.push(Buffer.from(failedStart.stderr));
  result.then(cleanUp, cleanUp);
  let ended = false;
  result.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  return {
    stdout: stdoutStream,
    stderr: stderrStream,
    wait: () => result,
    kill: async (signal: ProcessSignal = "SIGKILL") => {
      const signalNumber = constants.signals[signal];
      if (signalNumber === undefined)
        throw new InvalidRequestError(`signal: unknown signal ${String(signal)}`);
      if (!ended) process.signal(signalNumber);
    },
    writeStdin: async (data: string | Uint8Array) => {
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        throw new InvalidRequestError("data: must be a string or a Uint8Array");
      }
      if (!stdinOpen || ended) throw new InvalidRequestError("stdin of this process is closed");
      process.writeStdin(typeof data === "string" ? Buffer.from(data) : data);
    },
    closeStdin: async () => {
      if (!stdinOpen) return;
      stdinOpen = false;
      process.closeStdin();
    },
  };
}
