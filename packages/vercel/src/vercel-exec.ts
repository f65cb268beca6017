/**
 * Runs one command in a Vercel sandbox and turns it into an `ExecResult`, in one of two wire forms.
 *
 * - Waited, one round trip: `POST .../cmd` with `wait: true` answers an NDJSON stream (the command,
 *   its `{stream, data}` log lines, then the command finished with its exit code), which the SDK's
 *   non-detached `runCommand` reads, passing each log line to its `stdout` / `stderr` Writable. The
 *   SDK keeps the command's id to itself, so nothing can kill this command but its end or the
 *   sandbox's: used only when nothing would have to (no `timeoutMs`, no `signal`, and no
 *   `onStdout` / `onStderr`, whose throwing ends the exec and must kill its command).
 * - Detached, otherwise: `POST .../cmd` answers with the command's id at once, so the adapter can
 *   kill exactly this command at `timeoutMs`, on abort or when a callback throws; output streams
 *   from the command's NDJSON log (`GET .../cmd/{id}/logs`) while `GET .../cmd/{id}?wait=true`
 *   waits for its exit code.
 */
import { Writable } from "node:stream";
import {
  AbortedError,
  CallbackFailure,
  CombinedOutput,
  defaultMaxOutputBytes,
  type ExecResult,
  OutputCollector,
  ProviderUnavailableError,
  type SandportError,
} from "@sandport/core";
import type {
  Session,
  Command as VercelCommand,
  CommandFinished as VercelCommandFinished,
} from "@vercel/sandbox";
import { errorFromVercel, type FailureContext } from "./vercel-errors.ts";
import type { VercelSdk } from "./vercel-settings.ts";

/**
 * How long a timeout or an abort waits for the kill and the command's end, so a silent API never
 * hangs the caller.
 */
export const killGraceMs = 2_000;

/**
 * Extra time the sandbox's own per-command timeout allows past `timeoutMs`. The adapter kills the
 * command itself at `timeoutMs`; Vercel's timeout is the backstop should this process die first.
 */
export const serverTimeoutSlackMs = 2_000;

/** One command run. */
export interface VercelExecInput {
  session: Session;
  sdk: VercelSdk;
  context: FailureContext;
  argv: readonly string[];
  cwd: string;
  env?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  maxOutputBytes?: number | undefined;
  onStdout?: ((chunk: string) => void) | undefined;
  onStderr?: ((chunk: string) => void) | undefined;
}

/** Resolves after `ms`, or at once when `work` settles first; never rejects. */
export async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Starts a detached command; what `exec` and `spawn` build on. */
export async function startVercelCommand(input: VercelExecInput): Promise<VercelCommand> {
  const [cmd, ...args] = input.argv;
  try {
    return await input.session.runCommand({
      cmd: cmd as string,
      args,
      cwd: input.cwd,
      env: { ...input.env },
      detached: true,
      ...(input.timeoutMs === undefined ? {} : { timeoutMs: input.timeoutMs + serverTimeoutSlackMs }),
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    });
  } catch (error) {
    throw errorFromVercel(error, input.sdk, input.context);
  }
}

/**
 * Runs a command to completion. Output reaches the callbacks as log lines arrive. At `timeoutMs`
 * the command is killed (SIGKILL) and the result says `timedOut`; an abort kills it and rejects
 * with `AbortedError`.
 */
export async function runVercelCommand(input: VercelExecInput): Promise<ExecResult> {
  const { context, sdk } = input;
  const { providerId } = context;
  if (input.signal?.aborted) {
    throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal.reason, providerId });
  }
  if (
    input.timeoutMs === undefined &&
    input.signal === undefined &&
    input.onStdout === undefined &&
    input.onStderr === undefined
  ) {
    return runWaitedVercelCommand(input);
  }
  const started = performance.now();
  const command = await startVercelCommand(input);
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdout = new OutputCollector(maxBytes, input.onStdout);
  const stderr = new OutputCollector(maxBytes, input.onStderr);
  const combined = new CombinedOutput(maxBytes);
  const encoder = new TextEncoder();

  // Ends the reads when the command is given up on (abort, timeout, a callback that threw).
  const reading = new AbortController();
  let timedOut = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  const kill = () => {
    killing ??= bounded(command.kill("SIGKILL"), killGraceMs);
    return killing;
  };
  const timer =
    input.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          void kill();
        }, input.timeoutMs);
  const onAbort = () => {
    aborted = true;
    void kill().then(() => reading.abort());
  };
  input.signal?.addEventListener("abort", onAbort, { once: true });
  if (input.signal?.aborted) onAbort();

  const logs = (async () => {
    const lines = command.logs({ signal: reading.signal });
    try {
      for await (const line of lines) {
        const bytes = encoder.encode(line.data);
        const stream = line.stream === "stderr" ? "stderr" : "stdout";
        combined.append(stream, (stream === "stdout" ? stdout : stderr).append(bytes));
      }
    } finally {
      lines.close();
    }
  })();
  const exit = command.wait({ signal: reading.signal });
  try {
    const [, finished] = await Promise.all([logs, exit]);
    if (aborted)
      throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal?.reason, providerId });
    stdout.finish();
    stderr.finish();
    return {
      exitCode: finished.exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      output: combined.text({ stdout: stdout.truncated, stderr: stderr.truncated }),
      truncated: stdout.truncated || stderr.truncated,
      timedOut,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    if (error instanceof CallbackFailure) {
      // The caller's callback threw: its exec rejects, so its command must not run on unseen.
      await kill();
      reading.abort();
      throw error.error;
    }
    if (aborted || input.signal?.aborted) {
      await kill();
      throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal?.reason, providerId });
    }
    throw asSandportError(error, sdk, context);
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener("abort", onAbort);
    reading.abort();
    // Settle both reads, so neither rejects unobserved.
    logs.catch(() => {});
    exit.catch(() => {});
  }
}

/**
 * Runs a command that nothing needs to kill in one round trip: the SDK's waited `runCommand`. Its
 * log lines reach the two Writables one at a time, in the stream's order and synchronously (each
 * write completes at once), so stdout, stderr and their interleaving are kept exactly as the
 * detached form keeps them. Destroying the sandbox still ends the command: the stream then ends
 * with an `error` line (`sandbox_stopped`), which rejects the exec with `not_found`. The SDK keeps
 * the whole output as strings too until the command ends (`CommandFinished.output`), whatever
 * `maxOutputBytes` is: the caps bound the result, not that copy (see the README).
 */
async function runWaitedVercelCommand(input: VercelExecInput): Promise<ExecResult> {
  const { context, sdk } = input;
  const started = performance.now();
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdout = new OutputCollector(maxBytes, undefined);
  const stderr = new OutputCollector(maxBytes, undefined);
  const combined = new CombinedOutput(maxBytes);
  const encoder = new TextEncoder();
  const sink = (stream: "stdout" | "stderr", collector: OutputCollector) =>
    new Writable({
      decodeStrings: false,
      write(chunk: string, _encoding, done) {
        combined.append(stream, collector.append(encoder.encode(chunk)));
        done();
      },
    });
  const [cmd, ...args] = input.argv;
  let finished: VercelCommandFinished;
  try {
    finished = await input.session.runCommand({
      cmd: cmd as string,
      args,
      cwd: input.cwd,
      env: { ...input.env },
      stdout: sink("stdout", stdout),
      stderr: sink("stderr", stderr),
    });
  } catch (error) {
    // No caller signal: an abort here can only be the stream cut short.
    throw asSandportError(error, sdk, context);
  }
  stdout.finish();
  stderr.finish();
  return {
    exitCode: finished.exitCode,
    stdout: stdout.text(),
    stderr: stderr.text(),
    output: combined.text({ stdout: stdout.truncated, stderr: stderr.truncated }),
    truncated: stdout.truncated || stderr.truncated,
    timedOut: false,
    durationMs: performance.now() - started,
  };
}

/** A failure of a command's reads as a sandport error; reads cut without an abort are a broken stream. */
export function asSandportError(error: unknown, sdk: VercelSdk, context: FailureContext): SandportError {
  const mapped = errorFromVercel(error, sdk, context);
  if (mapped.code === "aborted") {
    // The reads were cut without the caller aborting: the connection broke mid-command.
    return new ProviderUnavailableError(`${context.operation}: the command's stream ended early`, {
      cause: error,
      providerId: context.providerId,
      isRetryable: false,
    });
  }
  return mapped;
}
