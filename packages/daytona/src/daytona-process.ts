/**
 * Background processes (`spawn`) as Daytona session commands: a fresh session per process, the
 * command started with `runAsync: true`, its output followed over the toolbox's log WebSocket into
 * the process's stdout and stderr streams, its exit code read once the stream ends. Signals go to
 * the command's own process group through the toolbox's `/process/execute` (see
 * `spawnCommandLine`); the session is deleted once the process has ended. Daytona cannot close a
 * running command's input, so `writeStdin` and `closeStdin` are `unsupported_capability`.
 *
 * The SDK's log demultiplexer holds back the last one or two bytes it has received (they could be
 * the start of a stream marker) until more bytes arrive, so a process that prints `"5\n"` and then
 * waits would show nothing. While the stream is quiet, the process's logs are therefore also read
 * over REST now and then (100 ms after output, backing off to 2 s), and text the stream has not
 * delivered yet is passed on from there; the stream's own copy of it is skipped when it comes.
 */
import type { Sandbox as DaytonaSandbox } from "@daytonaio/sdk";
import {
  defaultMaxOutputBytes,
  type ExecResult,
  InvalidRequestError,
  OutputBuffer,
  type ProcessSignal,
  ProviderUnavailableError,
  type SandboxProcess,
  UnsupportedCapabilityError,
  watchDeadline,
} from "@sandport/core";
import { errorFromDaytona, type FailureContext } from "./daytona-errors.ts";
import { killCommandLine, signalName } from "./daytona-request-mapping.ts";

/** First and longest pause between REST reads of the logs while the stream is quiet. */
const catchUpFirstMs = 100;
const catchUpLongestMs = 2_000;

/** How long the exit code is waited for once the log stream has ended. */
const exitCodeWaitMs = 3_000;
/** Seconds a kill call may take on the toolbox (it waits up to 2 s for the pid file). */
const killTimeoutSeconds = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Text chunks in arrival order, readable (from the start) by any number of iterators; ends once. */
class TextChunks implements AsyncIterable<string> {
  readonly #chunks: string[] = [];
  #ended = false;
  #waiting: (() => void)[] = [];

  push(text: string): void {
    if (this.#ended || text === "") return;
    this.#chunks.push(text);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    let index = 0;
    for (;;) {
      if (index < this.#chunks.length) {
        yield this.#chunks[index++] as string;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }
}

/**
 * One output stream fed from two copies of the same text, the log stream and REST reads of the
 * whole log: whatever goes beyond the text passed on so far is passed on, once.
 */
class CatchUpStream {
  /** UTF-16 units passed on, and received from the log stream. */
  #passed = 0;
  #streamed = 0;
  readonly #deliver: (text: string) => void;

  constructor(deliver: (text: string) => void) {
    this.#deliver = deliver;
  }

  /** Text from the log stream. Returns whether anything new was passed on. */
  fromStream(text: string): boolean {
    this.#streamed += text.length;
    const fresh = this.#streamed - this.#passed;
    if (fresh <= 0) return false;
    this.#deliver(text.slice(text.length - fresh));
    this.#passed = this.#streamed;
    return true;
  }

  /** The whole log of this stream so far, read over REST. Returns whether anything new was passed on. */
  fromLog(whole: string): boolean {
    if (whole.length <= this.#passed) return false;
    this.#deliver(whole.slice(this.#passed));
    this.#passed = whole.length;
    return true;
  }
}

/** One background process to start. */
export interface SessionSpawnInput {
  sandbox: DaytonaSandbox;
  context: FailureContext;
  /** The line the session runs (see `spawnCommandLine`). */
  commandLine: string;
  /** Where that line keeps the process's pid. */
  pidFile: string;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  maxOutputBytes?: number | undefined;
}

/** Starts the process; resolves once Daytona runs it. */
export async function spawnSessionCommand(input: SessionSpawnInput): Promise<SandboxProcess> {
  const { sandbox, context } = input;
  const { providerId } = context;
  const process = sandbox.process;
  const call = async <T>(operation: string, promise: () => Promise<T>): Promise<T> => {
    try {
      return await promise();
    } catch (error) {
      throw errorFromDaytona(error, { providerId, operation: `${context.operation} (${operation})` });
    }
  };

  const sessionId = `sandport-${crypto.randomUUID()}`;
  await call("create session", () => process.createSession(sessionId));
  let cmdId: string;
  try {
    ({ cmdId } = await call("start command", () =>
      process.executeSessionCommand(sessionId, { command: input.commandLine, runAsync: true }),
    ));
  } catch (error) {
    await process.deleteSession(sessionId).catch(() => {});
    throw error;
  }

  const started = performance.now();
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdoutChunks = new TextChunks();
  const stderrChunks = new TextChunks();
  const stdout = new OutputBuffer(maxBytes, (text) => stdoutChunks.push(text));
  const stderr = new OutputBuffer(maxBytes, (text) => stderrChunks.push(text));
  const combined = new OutputBuffer(maxBytes);
  const encoder = new TextEncoder();
  let ended = false;

  const signalProcess = async (name: string): Promise<void> => {
    const { exitCode } = await call("kill", () =>
      process.executeCommand(killCommandLine(input.pidFile, name), undefined, undefined, killTimeoutSeconds),
    );
    if (exitCode !== 0) {
      throw new ProviderUnavailableError(
        `${context.operation}: the signal could not be sent (exit ${exitCode})`,
        {
          providerId,
          isRetryable: false,
        },
      );
    }
  };
  // At the timeout or the caller's abort: SIGKILL, and if even that cannot be sent, the session's
  // deletion (Daytona terminates the session's processes).
  const watch = watchDeadline(
    () => {
      if (ended) return;
      signalProcess("KILL").catch(() => process.deleteSession(sessionId).catch(() => {}));
    },
    { timeoutMs: input.timeoutMs, signal: input.signal },
  );

  const append = (buffer: OutputBuffer) => (text: string) => {
    combined.append(buffer.append(encoder.encode(text)));
  };
  const stdoutFeed = new CatchUpStream(append(stdout));
  const stderrFeed = new CatchUpStream(append(stderr));
  // REST reads of the logs while the stream is quiet (see the file comment).
  let catchUpDelay = catchUpFirstMs;
  let catchUpTimer: ReturnType<typeof setTimeout> | undefined;
  let streaming = true;
  const scheduleCatchUp = () => {
    clearTimeout(catchUpTimer);
    if (!streaming) return;
    catchUpTimer = setTimeout(() => {
      process.getSessionCommandLogs(sessionId, cmdId).then(
        (logs) => {
          if (!streaming) return;
          const fresh = [
            stdoutFeed.fromLog(logs.stdout ?? ""),
            stderrFeed.fromLog(logs.stderr ?? ""),
          ].includes(true);
          catchUpDelay = fresh ? catchUpFirstMs : Math.min(catchUpDelay * 2, catchUpLongestMs);
          scheduleCatchUp();
        },
        () => {
          catchUpDelay = Math.min(catchUpDelay * 2, catchUpLongestMs);
          scheduleCatchUp();
        },
      );
    }, catchUpDelay);
  };
  const fromStream = (feed: CatchUpStream) => (text: string) => {
    if (feed.fromStream(text)) {
      catchUpDelay = catchUpFirstMs;
      scheduleCatchUp();
    }
  };
  scheduleCatchUp();
  const finished = (async (): Promise<ExecResult> => {
    try {
      await call("log stream", () =>
        process.getSessionCommandLogs(sessionId, cmdId, fromStream(stdoutFeed), fromStream(stderrFeed)),
      );
    } finally {
      streaming = false;
      clearTimeout(catchUpTimer);
    }
    // The stream ends when the command does; its exit code may be recorded a moment later.
    const deadline = performance.now() + exitCodeWaitMs;
    for (;;) {
      const command = await call("exit code", () => process.getSessionCommand(sessionId, cmdId));
      if (typeof command.exitCode === "number") {
        stdout.finish();
        stderr.finish();
        return {
          exitCode: command.exitCode,
          stdout: stdout.text(),
          stderr: stderr.text(),
          output: combined.text(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut: watch.timedOut,
          durationMs: performance.now() - started,
        };
      }
      if (performance.now() > deadline) {
        throw new ProviderUnavailableError(
          `${context.operation}: the log stream ended before the process's exit status was recorded`,
          { providerId, isRetryable: false },
        );
      }
      await sleep(50);
    }
  })();
  const settle = () => {
    ended = true;
    watch.stop();
    stdoutChunks.end();
    stderrChunks.end();
    // The session is scratch once the process is over (or can no longer be followed).
    process.deleteSession(sessionId).catch(() => {});
  };
  finished.then(settle, settle);
  // wait() may never be called: the rejection is the caller's to see only when it asks.
  finished.catch(() => {});

  return {
    stdout: stdoutChunks,
    stderr: stderrChunks,
    wait: () => finished,
    kill: async (signal: ProcessSignal = "SIGKILL") => {
      const name = signalName(signal);
      if (name === undefined) {
        throw new InvalidRequestError(`signal: unknown signal ${String(signal)}`, { providerId });
      }
      if (ended) return;
      await signalProcess(name);
    },
    writeStdin: async () => {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}": a spawned process takes no input while it runs (Daytona cannot close a session command's input); pass stdin to spawn instead`,
        { providerId },
      );
    },
    closeStdin: async () => {
      throw new UnsupportedCapabilityError(
        `provider "${providerId}": a spawned process's input cannot be closed (Daytona session commands); pass stdin to spawn instead`,
        { providerId },
      );
    },
  };
}
