/**
 * Background processes (`spawn`) as Vercel detached commands: the output streams from the
 * command's NDJSON log (`.../cmd/{id}/logs`), the result comes from `.../cmd/{id}?wait=true`, and
 * signals go through `.../cmd/{id}/kill`. Vercel commands take no input, so `writeStdin` and
 * `closeStdin` reject with `unsupported_capability` (`features.processStdin` is false).
 */
import {
  CombinedOutput,
  defaultMaxOutputBytes,
  type ExecResult,
  InvalidRequestError,
  OutputBuffer,
  type ProcessSignal,
  type SandboxProcess,
  UnsupportedCapabilityError,
  watchDeadline,
} from "@sandport/core";
import { TextStream } from "./text-stream.ts";
import { errorFromVercel } from "./vercel-errors.ts";
import {
  asSandportError,
  bounded,
  killGraceMs,
  startVercelCommand,
  type VercelExecInput,
} from "./vercel-exec.ts";

/**
 * Signal numbers the kill route takes. The SDK maps only some names (not SIGUSR1/SIGUSR2), so the
 * adapter always sends the number.
 */
export const vercelSignalNumbers: Readonly<Record<ProcessSignal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/** Statuses with which the kill route may refuse a command that has just ended, or a stopped session. */
const endedStatuses = new Set([400, 404, 409, 410, 422]);

/** What a spawn takes: a command run without callbacks (output goes to the process's streams). */
export type VercelSpawnInput = Omit<VercelExecInput, "onStdout" | "onStderr">;

/**
 * Starts a detached command and returns its handle once Vercel has accepted it. At `timeoutMs`, or
 * when `signal` fires, the command is killed (SIGKILL); `wait()` then gives its result (137).
 */
export async function spawnVercelProcess(input: VercelSpawnInput): Promise<SandboxProcess> {
  const { context, sdk, session } = input;
  const { providerId } = context;
  const started = performance.now();
  const command = await startVercelCommand(input);
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdoutStream = new TextStream();
  const stderrStream = new TextStream();
  const stdout = new OutputBuffer(maxBytes, (text) => stdoutStream.push(text));
  const stderr = new OutputBuffer(maxBytes, (text) => stderrStream.push(text));
  const combined = new CombinedOutput(maxBytes);
  const encoder = new TextEncoder();
  // Ends both reads once the process has ended or they failed.
  const reading = new AbortController();
  let ended = false;

  /** Whether the command has ended, asked of the API when a kill was refused. */
  const hasEnded = async (error: unknown): Promise<boolean> => {
    if (ended) return true;
    if (!(error instanceof sdk.APIError)) return false;
    if (!endedStatuses.has((error as { response: Response }).response.status)) return false;
    try {
      return (await session.getCommand(command.cmdId)).exitCode !== null;
    } catch (lookup) {
      // The session itself is gone: so is every process in it.
      return (
        lookup instanceof sdk.APIError &&
        [404, 410].includes((lookup as { response: Response }).response.status)
      );
    }
  };
  const kill = async (signal: ProcessSignal = "SIGKILL"): Promise<void> => {
    const number = vercelSignalNumbers[signal];
    if (number === undefined) {
      throw new InvalidRequestError(`signal: unknown signal ${String(signal)}`, { providerId });
    }
    if (ended) return;
    try {
      await command.kill(number);
    } catch (error) {
      // A process that already ended is not an error.
      if (await hasEnded(error)) return;
      throw errorFromVercel(error, sdk, { providerId, operation: `${context.operation}: kill` });
    }
  };
  const watch = watchDeadline(() => void bounded(kill("SIGKILL"), killGraceMs), {
    timeoutMs: input.timeoutMs,
    signal: input.signal,
  });

  const logs = (async () => {
    const lines = command.logs({ signal: reading.signal });
    try {
      for await (const line of lines) {
        const stream = line.stream === "stderr" ? "stderr" : "stdout";
        combined.append(stream, (stream === "stdout" ? stdout : stderr).append(encoder.encode(line.data)));
      }
    } finally {
      lines.close();
    }
  })();
  const exit = command.wait({ signal: reading.signal });
  const result: Promise<ExecResult> = Promise.all([logs, exit])
    .then(([, finished]) => {
      stdout.finish();
      stderr.finish();
      return {
        exitCode: finished.exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        output: combined.text({ stdout: stdout.truncated, stderr: stderr.truncated }),
        truncated: stdout.truncated || stderr.truncated,
        timedOut: watch.timedOut,
        durationMs: performance.now() - started,
      };
    })
    .catch((error: unknown) => {
      throw asSandportError(error, sdk, context);
    })
    .finally(() => {
      ended = true;
      watch.stop();
      reading.abort();
      stdoutStream.end();
      stderrStream.end();
      // Settle both reads, so neither rejects unobserved.
      logs.catch(() => {});
      exit.catch(() => {});
    });
  // A caller who never calls wait() must not meet an unhandled rejection.
  result.catch(() => {});

  const noStdin = () =>
    Promise.reject(
      new UnsupportedCapabilityError(
        `provider "${providerId}" does not support input to a spawned process: Vercel commands take no stdin (features.processStdin is false)`,
        { providerId },
      ),
    );
  return {
    stdout: stdoutStream,
    stderr: stderrStream,
    wait: () => result,
    kill,
    writeStdin: noStdin,
    closeStdin: noStdin,
  };
}
