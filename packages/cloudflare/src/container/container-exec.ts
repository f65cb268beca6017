/**
 * Runs one command through the sandbox bridge's exec route and turns its event stream into an `ExecResult`.
 */
import { AbortedError, defaultMaxOutputBytes, type ExecResult, SandportError } from "@sandport/core";
import { z } from "zod";
import {
  errorFromExecEvent,
  type FailureContext,
  streamCutError,
  unreadableResponseError,
} from "./cloudflare-container-errors.ts";
import { CallbackFailure, CombinedOutput, OutputCollector } from "./output-collector.ts";
import type { SandboxBridgeClient, SandboxBridgeExecBody } from "./sandbox-bridge-client.ts";
import { readServerSentEvents } from "./server-sent-events.ts";

/**
 * How long past `timeoutMs` the client waits for the container's own timeout before it stops
 * waiting itself, so a lost or silent stream can never hang the caller.
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
 * `timeoutMs` goes to the sandbox bridge as `timeout_ms`; the container reports a timeout as an `exec_error`
 * event, which counts as the timeout when it comes after `timeoutMs` (any genuine failure after that
 * point would have been preceded by the kill). An abort rejects with `AbortedError` and closes the
 * stream; a stream that ends without `exit` or `error` rejects with `provider_unavailable`.
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
        }, timeoutMs + timeoutGraceMs);
  const abortedError = () =>
    new AbortedError("the command was aborted", { cause: callerSignal?.reason, providerId });

  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // A read pending on a mocked or stalled body would not notice the abort: cancelling ends it.
  const onAbort = () => void reader?.cancel().catch(() => {});
  controller.signal.addEventListener("abort", onAbort, { once: true });
  let finished = false;
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
    if (callerSignal?.aborted) throw abortedError();
    if (guardFired) return result(timedOutExitCode, true);
    throw streamCutError(context);
  } catch (error) {
    if (error instanceof CallbackFailure) throw error.error;
    if (callerSignal?.aborted) throw abortedError();
    if (guardFired) return result(timedOutExitCode, true);
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

/** `JSON.parse`, with `undefined` (which no schema accepts) for text that is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
