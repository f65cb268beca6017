/** Starts one command as a real background child process, in its own process group. */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import {
  AbortedError,
  defaultMaxOutputBytes,
  type ExecResult,
  InvalidRequestError,
  OutputBuffer,
  type ProcessSignal,
  SandboxFailedError,
  type SandboxProcess,
  watchDeadline,
} from "@sandport/core";

/** How to start the command. */
export interface SpawnProcessOptions {
  /** Absolute working directory. */
  cwd: string;
  /** The complete environment of the command. */
  env: Record<string, string>;
  /** Written to stdin, which is then closed; without it stdin stays open for `writeStdin`. */
  stdin?: string | Uint8Array;
  timeoutMs?: number;
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /** For errors. */
  providerId: string;
  /** Called with a function that kills the whole process group, until the process has ended. */
  track(kill: () => void): () => void;
}

/** Text chunks handed from the process's output to one reader, in order; ends with the process. */
class TextChunks implements AsyncIterable<string> {
  readonly #chunks: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(text: string): void {
    this.#chunks.push(text);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const next = this.#chunks.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

/**
 * Starts `argv` directly (no shell) in a new process group and resolves once it runs. Signals go
 * to the whole group, and the group is killed with SIGKILL once the command itself exits, as for
 * `exec`: nothing it started may outlive it. Each output stream has one reader.
 */
export async function spawnProcess(
  argv: readonly string[],
  options: SpawnProcessOptions,
): Promise<SandboxProcess> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError("argv must not be empty");
  const { providerId } = options;
  const started = performance.now();
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) =>
      reject(new SandboxFailedError(`could not start ${file}`, { cause: error, providerId })),
    );
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  const killGroup = () => signalGroup("SIGKILL");
  const untrack = options.track(killGroup);
  const stdoutChunks = new TextChunks();
  const stderrChunks = new TextChunks();
  const maxBytes = options.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdout = new OutputBuffer(maxBytes, (text) => stdoutChunks.push(text));
  const stderr = new OutputBuffer(maxBytes, (text) => stderrChunks.push(text));
  child.stdout?.on("data", (chunk: Buffer) => stdout.append(chunk));
  child.stdout?.on("end", () => stdout.finish());
  child.stderr?.on("data", (chunk: Buffer) => stderr.append(chunk));
  child.stderr?.on("end", () => stderr.finish());

  const signal = options.signal;
  const deadline = watchDeadline(killGroup, options);

  const stdin = child.stdin as NonNullable<ChildProcess["stdin"]>;
  // EPIPE when the command exits without reading its input is not a failure of the command.
  stdin.on("error", () => {});
  let stdinClosed = false;
  if (options.stdin !== undefined) {
    stdinClosed = true;
    stdin.end(options.stdin);
  }

  child.on("exit", killGroup);
  const result = new Promise<ExecResult>((resolve, reject) => {
    child.on("close", (code, signalName) => {
      deadline.stop();
      untrack();
      stdoutChunks.end();
      stderrChunks.end();
      if (signal?.aborted) {
        reject(new AbortedError("the process was aborted", { cause: signal.reason, providerId }));
        return;
      }
      resolve({
        exitCode: code ?? 128 + (signalName === null ? 0 : (constants.signals[signalName] ?? 0)),
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        timedOut: deadline.timedOut,
        durationMs: performance.now() - started,
      });
    });
  });
  // Nobody may ever call wait(); its rejection must not count as unhandled.
  result.catch(() => {});

  return {
    stdout: stdoutChunks,
    stderr: stderrChunks,
    wait: () => result,
    async kill(signalName: ProcessSignal = "SIGKILL") {
      signalGroup(signalName);
    },
    async writeStdin(data: string | Uint8Array) {
      if (stdinClosed)
        throw new InvalidRequestError("the process's standard input is closed", { providerId });
      await new Promise<void>((resolve, reject) =>
        stdin.write(data, (error) =>
          error == null
            ? resolve()
            : reject(
                new InvalidRequestError("the process no longer reads its input", {
                  cause: error,
                  providerId,
                }),
              ),
        ),
      );
    },
    async closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      stdin.end();
    },
  };
}
