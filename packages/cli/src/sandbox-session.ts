/**
 * The lifecycle shared by `sandport run` and `sandport exec`: create a sandbox, run one command in
 * it with output streamed, destroy it whatever happens, and turn the outcome into an exit code.
 */

import { isUtf8 } from "node:buffer";
import {
  AbortedError,
  type CreateSandboxRequest,
  createSandbox,
  type ExecOptions,
  type ExecResult,
  type Sandbox,
  type SandboxProvider,
} from "@sandport/core";
import { servingProviderId } from "@sandport/router";
import type { CliEnvironment, InterruptSignal, OutputStream } from "./cli-environment.ts";
import { startCreationProgress } from "./creation-spinner.ts";
import { describeError } from "./error-report.ts";
import { exitCodes, signalExitCode } from "./exit-codes.ts";
import { maximumTimeoutMs } from "./option-parsers.ts";
import type { Redact } from "./secret-redaction.ts";

/**
 * What `--json` prints: the command's result plus where it ran. When the provider kept the raw
 * bytes of a stream and they are not valid UTF-8 (so the text replaced some of them with U+FFFD),
 * `stdoutBase64` / `stderrBase64` carry those bytes exactly; absent, the text is exact.
 */
export interface JsonRunResult extends Omit<ExecResult, "stdoutBytes" | "stderrBytes"> {
  /** The exact bytes of stdout, base64, present only when they are not valid UTF-8. */
  stdoutBase64?: string;
  /** The exact bytes of stderr, base64, present only when they are not valid UTF-8. */
  stderrBase64?: string;
  sandboxId: string;
  provider: string;
}

/** Options of {@link runInSandbox}. */
export interface SandboxSessionOptions {
  /** The provider to run on; the session disposes it when it ends. */
  provider: SandboxProvider;
  request: CreateSandboxRequest;
  environment: CliEnvironment;
  /** Print one JSON object with the result instead of streaming the output. */
  json: boolean;
  /** Report sandbox creation and destruction on stderr. */
  verbose: boolean;
  /** Per-command timeout, ms. */
  timeoutMs: number | undefined;
  /** Runs the command; `options` carries the signal, timeout and output callbacks to pass on. */
  execute(sandbox: Sandbox, options: ExecOptions): Promise<ExecResult>;
  /** Removes secrets from the CLI's own notes (never from the command's output); default: none. */
  redact?: Redact;
}

/**
 * Runs one command in a fresh sandbox and returns the exit code to leave with: the command's own,
 * 124 when it timed out, or 128 + signal when the user interrupted. The sandbox is destroyed on
 * every path, including Ctrl-C during creation (core destroys one that finishes creating late).
 * Failures to create or run are thrown; a failure to destroy is reported and does not change the code.
 */
export async function runInSandbox(options: SandboxSessionOptions): Promise<number> {
  const { provider, environment } = options;
  const controller = new AbortController();
  let interruptedBy: InterruptSignal | undefined;
  const interrupted = new Promise<undefined>((resolve) => {
    controller.signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });
  const stopListening = environment.onInterrupt((signal) => {
    interruptedBy = signal;
    controller.abort(new AbortedError(`interrupted by ${signal}`, { providerId: provider.providerId }));
  });
  try {
    const sandbox = await createWithProgress(options, controller.signal).catch((error: unknown) => {
      if (interruptedBy !== undefined) return undefined;
      throw error;
    });
    if (sandbox === undefined) return signalExitCode(interruptedBy ?? "SIGINT");
    try {
      if (interruptedBy !== undefined) return signalExitCode(interruptedBy);
      const streamed = { stdout: false, stderr: false };
      const execution = options.execute(sandbox, executionOptions(options, controller.signal, streamed));
      // Once interrupted, stop waiting for the command and go on to destroy the sandbox, which
      // ends whatever still runs in it: a provider that misses the abort must not keep the user waiting.
      const result = await Promise.race([execution, interrupted]).catch((error: unknown) => {
        if (interruptedBy !== undefined) return undefined;
        throw error;
      });
      if (result === undefined) execution.catch(() => {});
      if (result === undefined || interruptedBy !== undefined) {
        return signalExitCode(interruptedBy ?? "SIGINT");
      }
      return report(result, sandbox, options, streamed);
    } finally {
      await destroyQuietly(sandbox, options);
    }
  } finally {
    stopListening();
    // What the provider holds (engines, supervisors) ends with the command.
    await provider.dispose?.().catch(() => {});
  }
}

/** Past the command's own timeout, how long a one-shot sandbox may outlive a CLI that was killed. */
const oneShotGraceMs = 60_000;
/** The lifetime of a one-shot sandbox whose command has no timeout. */
const oneShotDefaultTtlMs = 60 * 60_000;

/**
 * The create request with a lifetime, where the provider takes one: a CLI killed outright
 * (SIGKILL) never destroys its sandbox, and the ttl lets the provider reap it later.
 */
function oneShotRequest(options: SandboxSessionOptions): CreateSandboxRequest {
  const { limits } = options.provider.capabilities;
  if (options.request.ttlMs !== undefined || limits.maxTtlMs === 0) return options.request;
  const wanted = options.timeoutMs === undefined ? oneShotDefaultTtlMs : options.timeoutMs + oneShotGraceMs;
  // Providers time a ttl with a timer, which cannot wait longer than the timer maximum.
  return { ...options.request, ttlMs: Math.min(wanted, limits.maxTtlMs ?? wanted, maximumTimeoutMs) };
}

async function createWithProgress(options: SandboxSessionOptions, signal: AbortSignal): Promise<Sandbox> {
  const { provider, environment } = options;
  const startedAt = performance.now();
  const progress = await startCreationProgress(
    environment.stderr,
    `creating sandbox on "${provider.providerId}"`,
    !options.json,
  );
  let sandbox: Sandbox;
  try {
    sandbox = await createSandbox(provider, oneShotRequest(options), { signal });
  } finally {
    // Stopped before anything else is written, so no output ever lands on the spinner's line.
    progress.stop();
  }
  if (options.verbose) {
    const elapsed = Math.round(performance.now() - startedAt);
    environment.stderr.write(note(options, `created sandbox ${sandbox.id} in ${elapsed} ms`));
  }
  return sandbox;
}

/** Which streams received output through the callbacks while the command ran. */
interface Streamed {
  stdout: boolean;
  stderr: boolean;
}

function executionOptions(
  options: SandboxSessionOptions,
  signal: AbortSignal,
  streamed: Streamed,
): ExecOptions {
  const { environment } = options;
  return {
    signal,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    // In JSON mode the output is part of the one object printed at the end, never streamed.
    ...(options.json
      ? {}
      : {
          onStdout: (chunk: string) => {
            streamed.stdout = true;
            environment.stdout.write(chunk);
          },
          onStderr: (chunk: string) => {
            streamed.stderr = true;
            environment.stderr.write(chunk);
          },
        }),
  };
}

function report(
  result: ExecResult,
  sandbox: Sandbox,
  options: SandboxSessionOptions,
  streamed: Streamed,
): number {
  const { environment } = options;
  if (options.json) {
    const output: JsonRunResult = {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      ...(result.output === undefined ? {} : { output: result.output }),
      ...base64Field("stdoutBase64", result.stdoutBytes),
      ...base64Field("stderrBase64", result.stderrBytes),
      truncated: result.truncated,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      ...("value" in result ? { value: result.value } : {}),
      sandboxId: sandbox.id,
      provider: servingProviderId(options.provider, sandbox.id),
    };
    environment.stdout.write(`${JSON.stringify(output)}\n`);
  } else {
    writeUnstreamed(environment.stdout, streamed.stdout, result.stdout, result.stdoutBytes);
    writeUnstreamed(environment.stderr, streamed.stderr, result.stderr, result.stderrBytes);
    const lossy = [
      streamed.stdout && !validText(result.stdoutBytes) ? "stdout" : undefined,
      streamed.stderr && !validText(result.stderrBytes) ? "stderr" : undefined,
    ].filter((name) => name !== undefined);
    if (lossy.length > 0) {
      environment.stderr.write(
        note(
          options,
          `${lossy.join(" and ")} held bytes that are not UTF-8, shown as U+FFFD; --json carries them exactly (base64)`,
        ),
      );
    }
  }
  if (result.timedOut) {
    const limit = options.timeoutMs === undefined ? "" : ` after ${options.timeoutMs} ms`;
    environment.stderr.write(note(options, `command timed out${limit}`));
    return exitCodes.timeout;
  }
  return result.exitCode;
}

/**
 * Writes a stream's output that never came through the callbacks (a provider that does not stream,
 * or one that reports a failure before running, such as a syntax error): the exact bytes where the
 * provider kept them, else the text.
 */
function writeUnstreamed(
  stream: OutputStream,
  streamed: boolean,
  text: string,
  bytes: Uint8Array | undefined,
): void {
  if (streamed) return;
  if (bytes !== undefined && bytes.length > 0) stream.write(bytes);
  else if (text !== "") stream.write(text);
}

/** False only when the provider kept the bytes and they are not valid UTF-8. */
function validText(bytes: Uint8Array | undefined): boolean {
  return bytes === undefined || isUtf8(bytes);
}

/** `{ [name]: base64 of bytes }` when the bytes are not valid UTF-8; else nothing. */
function base64Field<Name extends string>(
  name: Name,
  bytes: Uint8Array | undefined,
): Partial<Record<Name, string>> {
  if (bytes === undefined || isUtf8(bytes)) return {};
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  return { [name]: base64 } as Partial<Record<Name, string>>;
}

/** A line of the CLI's own on stderr, with secrets removed. */
function note(options: SandboxSessionOptions, text: string): string {
  const line = `sandport: ${text}\n`;
  return options.redact === undefined ? line : options.redact(line);
}

async function destroyQuietly(sandbox: Sandbox, options: SandboxSessionOptions): Promise<void> {
  const { environment } = options;
  try {
    await sandbox.destroy();
    if (options.verbose) environment.stderr.write(note(options, `destroyed sandbox ${sandbox.id}`));
  } catch (error) {
    // The command's result stands; the user still needs to know a sandbox may be left behind.
    environment.stderr.write(
      note(options, `could not destroy sandbox ${sandbox.id}: ${describeError(error)}`),
    );
  }
}
