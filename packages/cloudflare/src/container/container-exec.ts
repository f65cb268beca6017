/**
 * Runs one command through the sandbox bridge's exec route and turns its event stream into an `ExecResult`.
 */
import {
  AbortedError,
  CallbackFailure,
  CombinedOutput,
  defaultMaxOutputBytes,
  type ExecResult,
  OutputCollector,
  SandportError,
} from "@sandport/core";
import * as z from "zod";
import {
  errorFromExecEvent,
  type FailureContext,
  streamCutError,
  unreadableResponseError,
} from "./cloudflare-container-errors.ts";
import type { SandboxBridgeClient, SandboxBridgeExecBody } from "./sandbox-bridge-client.ts";
import { readServerSentEvents } from "./server-sent-events.ts";

/**
 * How long an abort or a timeout waits for the command that ends the aborted one, so a lost or
 * silent sandbox bridge can never hang the caller.
 */
export const timeoutGraceMs = 2_000;

/** Exit code reported for a timed-out command: the sandbox bridge reports none, and 124 is `timeout(1)`'s. */
export const timedOutExitCode = 124;

const exitSchema = z.object({ exit_code: z.number().int() });
const errorSchema = z.object({ error: z.string().nullish(), code: z.string().nullish() });

/** One exec call. */
export interface ContainerExecInput {
  client: SandboxBridgeClient;
  providerId: string;
  /** For messages, e.g. `exec "python3"`: names the caller's command, never its arguments. */
  operation: string;
  vendorId: string;
  body: SandboxBridgeExecBody;
  timeoutMs?: number;
  signal?: AbortSignal;
  maxOutputBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Ends the command inside the container, called on abort and at `timeoutMs`. Needed because the
   * sandbox bridge ends nothing itself: it never watches the client's connection, and the container's
   * streaming exec drops `timeout_ms`.
   */
  stop?: () => Promise<void>;
}

/**
 * Base64 (what the sandbox bridge sends for output chunks) to bytes, without `Buffer`, so workerd can run it.
 */
function decodeBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/**
 * Streams the command's output to the callbacks as events arrive and resolves with its result.
 * At `timeoutMs` the client stops reading, ends the command with `stop` and reports `timedOut`
 * (`timeout_ms` is sent too, for a container that would honour it; an `error` event after `timeoutMs`
 * counts as the timeout). An abort closes the stream, ends the command with `stop` and rejects with
 * `AbortedError`. A stream that ends without `exit` or `error` rejects with `provider_unavailable`.
 */
export async function runContainerExec(input: ContainerExecInput): Promise<ExecResult> {
  const { client, providerId, timeoutMs } = input;
  const context: FailureContext = { providerId, operation: input.operation };
  const started = performance.now();
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdout = new OutputCollector(maxBytes, input.onStdout);
  const stderr = new OutputCollector(maxBytes, input.onStderr);
  // The sandbox bridge sends both streams' chunks in one event stream, in the order the container read them.
  const combined = new CombinedOutput(maxBytes);
  const result = (exitCode: number, timedOut: boolean): ExecResult => {
    stdout.finish();
    stderr.finish();
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      output: combined.text({ stdout: stdout.truncated, stderr: stderr.truncated }),
      stdoutBytes: stdout.bytes(),
      stderrBytes: stderr.bytes(),
      truncated: stdout.truncated || stderr.truncated,
      timedOut,
      durationMs: performance.now() - started,
    };
  };

  const controller = new AbortController();
  const callerSignal = input.signal;
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  let guardFired = false;
  const guard =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          guardFired = true;
          controller.abort();
        }, timeoutMs);
  const abortedError = () =>
    new AbortedError("the command was aborted", { cause: callerSignal?.reason, providerId });

  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // A read pending on a mocked or stalled body would not notice the abort: cancelling ends it.
  const onAbort = () => void reader?.cancel().catch(() => {});
  controller.signal.addEventListener("abort", onAbort, { once: true });
  let finished = false;
  // Ends the command inside the container, bounded so a silent bridge cannot hang the caller.
  const stopCommand = async () => {
    if (input.stop === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutGraceMs);
    });
    await Promise.race([input.stop().catch(() => {}), bound]);
    clearTimeout(timer);
  };
  try {
    reader = await input.client.openExec(input.vendorId, input.body, controller.signal);
    for await (const event of readServerSentEvents(reader)) {
      if (event.event === "stdout" || event.event === "stderr") {
        let bytes: Uint8Array;
        try {
          bytes = decodeBase64(event.data);
        } catch (error) {
          throw unreadableResponseError(context, error);
        }
        const stream = event.event;
        combined.append(stream, (stream === "stdout" ? stdout : stderr).append(bytes));
      } else if (event.event === "exit") {
        const parsed = exitSchema.safeParse(parseJson(event.data));
        if (!parsed.success) throw unreadableResponseError(context, parsed.error);
        finished = true;
        return result(parsed.data.exit_code, false);
      } else if (event.event === "error") {
        const parsed = errorSchema.safeParse(parseJson(event.data));
        if (!parsed.success) throw unreadableResponseError(context, parsed.error);
        finished = true;
        if (timeoutMs !== undefined && performance.now() - started >= timeoutMs) {
          await stopCommand();
          return result(timedOutExitCode, true);
        }
        throw errorFromExecEvent(
          {
            ...(parsed.data.code == null ? {} : { code: parsed.data.code }),
            ...(parsed.data.error == null ? {} : { message: client.redact(parsed.data.error) }),
          },
          context,
        );
      }
      // Other event names are ignored: a newer sandbox bridge may add some.
    }
    if (callerSignal?.aborted || guardFired) throw new EndedByClient();
    throw streamCutError(context);
  } catch (error) {
    if (error instanceof CallbackFailure) {
      // The caller's callback threw: its exec rejects, so its command must not run on unseen.
      finished = true;
      controller.abort();
      await stopCommand();
      throw error.error;
    }
    if (callerSignal?.aborted || guardFired) {
      finished = true;
      controller.abort();
      await stopCommand();
      if (callerSignal?.aborted) throw abortedError();
      return result(timedOutExitCode, true);
    }
    if (SandportError.isInstance(error)) throw error;
    // A read failed mid-stream: the connection broke while the command ran.
    throw streamCutError(context, error);
  } finally {
    clearTimeout(guard);
    callerSignal?.removeEventListener("abort", onCallerAbort);
    controller.signal.removeEventListener("abort", onAbort);
    if (!finished) controller.abort();
    reader?.cancel().catch(() => {});
  }
}

/** Thrown inside the read loop when the caller's abort or the timeout ended the stream. */
class EndedByClient extends Error {}

/** `JSON.parse`, with `undefined` (which no schema accepts) for text that is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
