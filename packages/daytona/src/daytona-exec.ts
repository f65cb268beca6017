/**
 * Runs one command as a Daytona session command: a fresh session per exec, the command started
 * asynchronously, its output followed over the toolbox's log WebSocket (stdout and stderr marked
 * apart, in arrival order), then its exit code read. Deleting the session is how a command is
 * ended: on abort, at its timeout, and (harmlessly) once it is done.
 */
import type { Sandbox as DaytonaSandbox } from "@daytonaio/sdk";
import {
  AbortedError,
  defaultMaxOutputBytes,
  type ExecResult,
  OutputBuffer,
  ProviderUnavailableError,
  watchDeadline,
} from "@sandport/core";
import { errorFromDaytona, type FailureContext } from "./daytona-errors.ts";

/** Exit code reported for a timed-out command (`timeout(1)`'s): the session is deleted, so there is none. */
export const timedOutExitCode = 124;

/** How long an abort or a timeout waits for the session to be deleted, so a silent API cannot hang the caller. */
export const stopGraceMs = 2_000;

/** How long the exit code is waited for once the log stream has ended. */
const exitCodeWaitMs = 3_000;

/** One command to run. */
export interface SessionExecInput {
  sandbox: DaytonaSandbox;
  context: FailureContext;
  /** The line the session runs (see `sessionCommandLine`). */
  commandLine: string;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  maxOutputBytes?: number | undefined;
  onStdout?: ((chunk: string) => void) | undefined;
  onStderr?: ((chunk: string) => void) | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves after `ms` with `undefined`, whatever `promise` does. */
async function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the command to completion (or its timeout / the caller's abort). */
export async function runSessionCommand(input: SessionExecInput): Promise<ExecResult> {
  const { sandbox, context } = input;
  const { providerId } = context;
  const process = sandbox.process;
  const started = performance.now();
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  let callbackError: { error: unknown } | undefined;
  const guarded = (callback: ((chunk: string) => void) | undefined) =>
    callback === undefined
      ? undefined
      : (text: string) => {
          if (callbackError !== undefined) return;
          try {
            callback(text);
          } catch (error) {
            callbackError = { error };
            stop();
          }
        };
  const stdout = new OutputBuffer(maxBytes, guarded(input.onStdout));
  const stderr = new OutputBuffer(maxBytes, guarded(input.onStderr));
  const combined = new OutputBuffer(maxBytes);
  const encoder = new TextEncoder();

  const sessionId = `sandport-${crypto.randomUUID()}`;
  let sessionCreated = false;
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const stoppedSignal = new Promise<"stopped">((resolve) => {
    stopped = () => resolve("stopped");
  });
  // Ends the command: Daytona kills a session's processes when the session is deleted.
  function stop(): void {
    stopped();
    if (!sessionCreated || stopping !== undefined) return;
    stopping = process.deleteSession(sessionId).catch(() => {});
  }
  const watch = watchDeadline(stop, { timeoutMs: input.timeoutMs, signal: input.signal });
  const result = (exitCode: number, timedOut: boolean): ExecResult => {
    stdout.finish();
    stderr.finish();
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      output: combined.text(),
      truncated: stdout.truncated || stderr.truncated,
      timedOut,
      durationMs: performance.now() - started,
    };
  };
  const endedEarly = async (): Promise<ExecResult> => {
    if (stopping !== undefined) await bounded(stopping, stopGraceMs);
    if (callbackError !== undefined) throw callbackError.error;
    if (watch.aborted) {
      throw new AbortedError("the command was aborted", { cause: input.signal?.reason, providerId });
    }
    return result(timedOutExitCode, true);
  };
  const call = async <T>(operation: string, promise: () => Promise<T>): Promise<T> => {
    try {
      return await promise();
    } catch (error) {
      throw errorFromDaytona(error, { providerId, operation: `${context.operation} (${operation})` });
    }
  };

  try {
    if (watch.aborted) return await endedEarly();
    await call("create session", () => process.createSession(sessionId));
    sessionCreated = true;
    if (watch.aborted || watch.timedOut) {
      stop();
      return await endedEarly();
    }
    const { cmdId } = await call("start command", () =>
      process.executeSessionCommand(sessionId, { command: input.commandLine, runAsync: true }),
    );
    if (watch.aborted || watch.timedOut || callbackError !== undefined) {
      stop();
      return await endedEarly();
    }
    const append = (buffer: OutputBuffer) => (text: string) => {
      combined.append(buffer.append(encoder.encode(text)));
    };
    const logs = call("log stream", () =>
      process.getSessionCommandLogs(sessionId, cmdId, append(stdout), append(stderr)),
    );
    // The stream may stay open after a stop (a vendor that does not close it): the stop wins.
    logs.catch(() => {});
    const first = await Promise.race([logs.then(() => "ended" as const), stoppedSignal]);
    if (first === "stopped" || watch.aborted || watch.timedOut || callbackError !== undefined) {
      stop();
      return await endedEarly();
    }
    // The stream ends when the command does; its exit code may be recorded a moment later.
    const deadline = performance.now() + exitCodeWaitMs;
    for (;;) {
      const command = await call("exit code", () => process.getSessionCommand(sessionId, cmdId));
      if (typeof command.exitCode === "number") return result(command.exitCode, false);
      if (watch.aborted || watch.timedOut) {
        stop();
        return await endedEarly();
      }
      if (performance.now() > deadline) {
        throw new ProviderUnavailableError(
          `${context.operation}: the log stream ended before the command's exit status was recorded`,
          { providerId, isRetryable: false },
        );
      }
      await sleep(50);
    }
  } catch (error) {
    if (callbackError !== undefined) {
      stop();
      if (stopping !== undefined) await bounded(stopping, stopGraceMs);
      throw callbackError.error;
    }
    if (watch.aborted || watch.timedOut) return await endedEarly();
    throw error;
  } finally {
    watch.stop();
    // The session is scratch: deleted whatever happened (a no-op when stop() already did).
    if (sessionCreated && stopping === undefined) {
      stopping = process.deleteSession(sessionId).catch(() => {});
    }
  }
}
