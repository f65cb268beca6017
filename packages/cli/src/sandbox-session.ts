/**
 * The lifecycle shared by `sandport run` and `sandport exec`: create a sandbox, run one command in
 * it with output streamed, destroy it whatever happens, and turn the outcome into an exit code.
 */
import {
  AbortedError,
  type CreateSandboxRequest,
  createSandbox,
  type ExecOptions,
  type ExecResult,
  type Sandbox,
  type SandboxProvider,
} from "@sandport/core";
import type { CliEnvironment, InterruptSignal } from "./cli-environment.ts";
import { startCreationProgress } from "./creation-spinner.ts";
import { describeError } from "./error-report.ts";
import { exitCodes, signalExitCode } from "./exit-codes.ts";

/** What `--json` prints: the command's result plus where it ran. */
export interface JsonRunResult extends ExecResult {
  sandboxId: string;
  provider: string;
}

/** Options of {@link runInSandbox}. */
export interface SandboxSessionOptions {
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
      const execution = options.execute(sandbox, executionOptions(options, controller.signal));
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
      return report(result, sandbox, options);
    } finally {
      await destroyQuietly(sandbox, options);
    }
  } finally {
    stopListening();
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
  return { ...options.request, ttlMs: Math.min(wanted, limits.maxTtlMs ?? wanted) };
}

async function createWithProgress(options: SandboxSessionOptions, signal: AbortSignal): Promise<Sandbox> {
  const { provider, environment } = options;
  const startedAt = performance.now();
  const progress = startCreationProgress(
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
    environment.stderr.write(`sandport: created sandbox ${sandbox.id} in ${elapsed} ms\n`);
  }
  return sandbox;
}

function executionOptions(options: SandboxSessionOptions, signal: AbortSignal): ExecOptions {
  const { environment } = options;
  return {
    signal,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    // In JSON mode the output is part of the one object printed at the end, never streamed.
    ...(options.json
      ? {}
      : {
          onStdout: (chunk: string) => environment.stdout.write(chunk),
          onStderr: (chunk: string) => environment.stderr.write(chunk),
        }),
  };
}

function report(result: ExecResult, sandbox: Sandbox, options: SandboxSessionOptions): number {
  const { environment } = options;
  if (options.json) {
    const output: JsonRunResult = {
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      truncated: result.truncated,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      ...("value" in result ? { value: result.value } : {}),
      sandboxId: sandbox.id,
      provider: options.provider.providerId,
    };
    environment.stdout.write(`${JSON.stringify(output)}\n`);
  }
  if (result.timedOut) {
    const limit = options.timeoutMs === undefined ? "" : ` after ${options.timeoutMs} ms`;
    environment.stderr.write(`sandport: command timed out${limit}\n`);
    return exitCodes.timeout;
  }
  return result.exitCode;
}

async function destroyQuietly(sandbox: Sandbox, options: SandboxSessionOptions): Promise<void> {
  const { environment } = options;
  try {
    await sandbox.destroy();
    if (options.verbose) environment.stderr.write(`sandport: destroyed sandbox ${sandbox.id}\n`);
  } catch (error) {
    // The command's result stands; the user still needs to know a sandbox may be left behind.
    environment.stderr.write(`sandport: could not destroy sandbox ${sandbox.id}: ${describeError(error)}\n`);
  }
}
