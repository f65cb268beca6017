/**
 * Runs commands in a Modal sandbox through `sandbox.exec(argv)` (the command router's
 * `TaskExecStart`), reading stdout and stderr as two streams (`TaskExecStdioRead`) while the
 * command runs, writing stdin (`TaskExecStdinWrite`) and waiting for the exit status
 * (`TaskExecWait`).
 *
 * Modal has no call that kills one exec. A command that may have to be stopped (a timeout, an
 * abort signal, every background process) therefore starts under a small `sh` wrapper that puts it
 * in a session of its own (`setsid`) and records its process id in a file under /tmp; `kill` is a
 * second exec that signals that process group, so the command and every process it started end.
 * The wrapper reports the command's own status (`wait`), so a command ended by SIGTERM exits 143
 * and one ended by SIGKILL 137, as a shell reports them.
 */
import { randomUUID } from "node:crypto";
import {
  AbortedError,
  CallbackFailure,
  defaultMaxOutputBytes,
  type ExecResult,
  InvalidRequestError,
  NotFoundError,
  OutputCollector,
  type ProcessSignal,
  type SandboxProcess,
} from "@sandport/core";
import { errorFromModal, type FailureContext } from "./modal-errors.ts";
import { wholeSeconds } from "./modal-request-mapping.ts";
import type { ModalSdk } from "./modal-settings.ts";

/** The SDK's sandbox handle. */
export type ModalSdkSandbox = InstanceType<typeof import("modal").Sandbox>;
type ModalSdkProcess = Awaited<ReturnType<ModalSdkSandbox["exec"]>>;

/** How long a kill, or the end of a killed command, is waited for before the caller is answered anyway. */
export const killGraceMs = 3_000;

/**
 * Extra time Modal's own per-command timeout (`timeout_secs`) allows past `timeoutMs`: the
 * adapter kills the command itself at `timeoutMs`; Modal's timeout is the backstop.
 */
export const serverTimeoutSlackMs = 2_000;

// $1: pid file; the rest: the command. fd 3 carries stdin past the `&` (which would otherwise
// give the background command /dev/null).
const wrapperScript = `f=$1; shift
exec 3<&0
if command -v setsid >/dev/null 2>&1; then setsid "$@" <&3 3<&- & else "$@" <&3 3<&- & fi
p=$!
exec 3<&-
echo "$p" > "$f"
wait "$p"
s=$?
rm -f "$f"
exit "$s"`;

// $1: pid file; $2: signal name without SIG. Waits up to 1 s for the wrapper to record the pid.
const killScript = `f=$1; i=0
while [ ! -s "$f" ] && [ "$i" -lt 50 ]; do sleep 0.02; i=$((i + 1)); done
p=$(cat "$f" 2>/dev/null) || exit 0
case "$p" in ''|*[!0-9]*) exit 0;; esac
kill -s "$2" -- "-$p" 2>/dev/null || kill -s "$2" "$p" 2>/dev/null
exit 0`;

/** One command to run. */
export interface ModalCommandInput {
  sandbox: ModalSdkSandbox;
  sdk: ModalSdk;
  context: FailureContext;
  argv: readonly string[];
  cwd: string;
  env?: Readonly<Record<string, string>> | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Written then closed; without it stdin is closed at once (exec) or left open (spawn). */
  stdin?: Uint8Array | undefined;
  maxOutputBytes?: number | undefined;
  onStdout?: ((chunk: string) => void) | undefined;
  onStderr?: ((chunk: string) => void) | undefined;
}

/** Resolves after `ms`, or at once when `work` settles first; never rejects. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
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

/** A command started in the sandbox, with the means to signal it when it was started killable. */
interface StartedCommand {
  process: ModalSdkProcess;
  kill(signal: ProcessSignal): Promise<void>;
}

async function startCommand(input: ModalCommandInput, killable: boolean): Promise<StartedCommand> {
  const pidFile = `/tmp/.sandport-exec-${randomUUID()}`;
  const argv = killable
    ? ["sh", "-c", wrapperScript, "sandport-exec", pidFile, ...input.argv]
    : [...input.argv];
  let process: ModalSdkProcess;
  try {
    process = await input.sandbox.exec(argv, {
      mode: "binary",
      workdir: input.cwd,
      ...(input.env === undefined || Object.keys(input.env).length === 0 ? {} : { env: { ...input.env } }),
      ...(input.timeoutMs === undefined
        ? {}
        : { timeoutMs: wholeSeconds(input.timeoutMs) + serverTimeoutSlackMs }),
    });
  } catch (error) {
    throw errorFromModal(error, input.sdk, input.context);
  }
  return {
    process,
    async kill(signal) {
      if (!killable) return;
      const killer = await input.sandbox.exec(
        ["sh", "-c", killScript, "sandport-kill", pidFile, signal.slice(3)],
        {
          mode: "binary",
          stdout: "ignore",
          stderr: "ignore",
        },
      );
      await killer.wait();
    },
  };
}

/** Reads a stream of the SDK (binary mode) into `collector`; returns when it ends or `cancel` fires. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  collector: OutputCollector,
  cancel: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  const onCancel = () => void reader.cancel().catch(() => {});
  cancel.addEventListener("abort", onCancel, { once: true });
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      collector.append(next.value);
    }
  } finally {
    cancel.removeEventListener("abort", onCancel);
    reader.releaseLock();
  }
}

/** Writes `data` (if any) to the command's stdin, then closes it. */
async function feedStdin(process: ModalSdkProcess, data: Uint8Array | undefined): Promise<void> {
  const writer = process.stdin.getWriter();
  try {
    if (data !== undefined && data.byteLength > 0) await writer.write(data);
    await writer.close();
  } finally {
    writer.releaseLock();
  }
}

/** The encoded stdin of an exec. */
export function stdinBytes(stdin: string | Uint8Array | undefined): Uint8Array | undefined {
  if (stdin === undefined) return undefined;
  return typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin;
}

/**
 * Runs a command to completion. Output reaches the callbacks as it arrives. At `timeoutMs` the
 * command and its children are killed (SIGKILL) and the result says `timedOut`; an abort kills
 * them and rejects with `AbortedError`. `giveUp` (the sandbox was destroyed) settles the call.
 */
export async function runModalCommand(input: ModalCommandInput, giveUp?: AbortSignal): Promise<ExecResult> {
  const { context, sdk } = input;
  const { providerId } = context;
  if (input.signal?.aborted) {
    throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal.reason, providerId });
  }
  const started = performance.now();
  const killable = input.timeoutMs !== undefined || input.signal !== undefined;
  const command = await startCommand(input, killable);
  const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
  const stdout = new OutputCollector(maxBytes, input.onStdout);
  const stderr = new OutputCollector(maxBytes, input.onStderr);
  const cancel = new AbortController();
  let timedOut = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  const kill = () => {
    killing ??= bounded(command.kill("SIGKILL"), killGraceMs);
    return killing;
  };
  // Once killed, the end is waited for a little, then the reads are given up.
  const stopAfterKill = () => void kill().then(() => setTimeout(() => cancel.abort(), killGraceMs).unref?.());
  const timer =
    input.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stopAfterKill();
        }, input.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stopAfterKill();
  };
  const onGiveUp = () => cancel.abort();
  input.signal?.addEventListener("abort", onAbort, { once: true });
  giveUp?.addEventListener("abort", onGiveUp, { once: true });
  if (input.signal?.aborted) onAbort();
  if (giveUp?.aborted) onGiveUp();

  // The command may end without reading its stdin: a failed write is not the command's failure.
  const feeding = feedStdin(command.process, input.stdin).catch(() => {});
  const reads = Promise.all([
    pump(command.process.stdout as ReadableStream<Uint8Array>, stdout, cancel.signal),
    pump(command.process.stderr as ReadableStream<Uint8Array>, stderr, cancel.signal),
  ]);
  const exit = command.process._wait(cancel.signal);
  try {
    const [, exitCode] = await Promise.all([reads, exit, feeding]);
    if (aborted)
      throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal?.reason, providerId });
    if (cancel.signal.aborted && !timedOut) throw gone(context);
    stdout.finish();
    stderr.finish();
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      truncated: stdout.truncated || stderr.truncated,
      timedOut,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    if (error instanceof CallbackFailure) {
      // The caller's callback threw: its exec rejects, so its command must not run on unseen.
      await kill();
      cancel.abort();
      throw error.error;
    }
    if (aborted || input.signal?.aborted) {
      throw new AbortedError(`${context.operation}: aborted`, { cause: input.signal?.reason, providerId });
    }
    if (giveUp?.aborted) throw gone(context);
    if (timedOut && cancel.signal.aborted) {
      stdout.finish();
      stderr.finish();
      return {
        exitCode: 137,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
        durationMs: performance.now() - started,
      };
    }
    throw errorFromModal(error, sdk, context);
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener("abort", onAbort);
    giveUp?.removeEventListener("abort", onGiveUp);
    cancel.abort();
    reads.catch(() => {});
    exit.catch(() => {});
  }
}

/** The call's sandbox was destroyed (by this provider) while the command ran. */
function gone(context: FailureContext): NotFoundError {
  return new NotFoundError(`${context.operation}: the sandbox was destroyed while the command ran`, {
    providerId: context.providerId,
  });
}

/** Text chunks of one stream of a background process, for one reader. */
class ChunkQueue implements AsyncIterable<string> {
  readonly #chunks: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: string): void {
    this.#chunks.push(chunk);
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
 * A background process (`spawn`): started under the kill wrapper, read in the background, its
 * output offered as two async iterables and kept (within `maxOutputBytes`) for `wait()`.
 */
export class ModalProcess implements SandboxProcess {
  readonly stdout: AsyncIterable<string>;
  readonly stderr: AsyncIterable<string>;
  readonly #command: StartedCommand;
  readonly #context: FailureContext;
  readonly #sdk: ModalSdk;
  readonly #result: Promise<ExecResult>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #ended = false;

  private constructor(command: StartedCommand, input: ModalCommandInput, giveUp: AbortSignal | undefined) {
    this.#command = command;
    this.#context = input.context;
    this.#sdk = input.sdk;
    const stdoutQueue = new ChunkQueue();
    const stderrQueue = new ChunkQueue();
    this.stdout = stdoutQueue;
    this.stderr = stderrQueue;
    this.#writer = command.process.stdin.getWriter() as WritableStreamDefaultWriter<Uint8Array>;
    const maxBytes = input.maxOutputBytes ?? defaultMaxOutputBytes;
    const stdout = new OutputCollector(maxBytes, (chunk) => stdoutQueue.push(chunk));
    const stderr = new OutputCollector(maxBytes, (chunk) => stderrQueue.push(chunk));
    const started = performance.now();
    const cancel = new AbortController();
    let timedOut = false;
    const timer =
      input.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            void bounded(command.kill("SIGKILL"), killGraceMs).then(() =>
              setTimeout(() => cancel.abort(), killGraceMs).unref?.(),
            );
          }, input.timeoutMs);
    const onGiveUp = () => cancel.abort();
    giveUp?.addEventListener("abort", onGiveUp, { once: true });
    if (giveUp?.aborted) onGiveUp();
    const reads = Promise.all([
      pump(command.process.stdout as ReadableStream<Uint8Array>, stdout, cancel.signal),
      pump(command.process.stderr as ReadableStream<Uint8Array>, stderr, cancel.signal),
    ]);
    const exit = command.process._wait(cancel.signal);
    this.#result = (async () => {
      try {
        const [, exitCode] = await Promise.all([reads, exit]);
        stdout.finish();
        stderr.finish();
        return {
          exitCode,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut,
          durationMs: performance.now() - started,
        };
      } catch (error) {
        if (giveUp?.aborted) throw gone(input.context);
        if (timedOut) {
          return {
            exitCode: 137,
            stdout: stdout.text(),
            stderr: stderr.text(),
            truncated: stdout.truncated || stderr.truncated,
            timedOut,
            durationMs: performance.now() - started,
          };
        }
        throw errorFromModal(error, input.sdk, input.context);
      } finally {
        this.#ended = true;
        clearTimeout(timer);
        giveUp?.removeEventListener("abort", onGiveUp);
        cancel.abort();
        stdoutQueue.end();
        stderrQueue.end();
        reads.catch(() => {});
        exit.catch(() => {});
      }
    })();
    this.#result.catch(() => {});
  }

  /** Starts `input` in the background; its stdin stays open unless `input.stdin` is given. */
  static async start(input: ModalCommandInput, giveUp?: AbortSignal): Promise<ModalProcess> {
    const command = await startCommand(input, true);
    const process = new ModalProcess(command, input, giveUp);
    if (input.stdin !== undefined) {
      await process.writeStdin(input.stdin);
      await process.closeStdin();
    }
    return process;
  }

  wait(): Promise<ExecResult> {
    return this.#result;
  }

  async kill(signal: ProcessSignal = "SIGKILL"): Promise<void> {
    if (this.#ended) return;
    try {
      await this.#command.kill(signal);
    } catch (error) {
      // The process (or its sandbox) ended meanwhile: killing what has ended is not an error.
      if (this.#ended) return;
      throw errorFromModal(error, this.#sdk, { ...this.#context, operation: `kill ${signal}` });
    }
  }

  async writeStdin(data: string | Uint8Array): Promise<void> {
    const { providerId, operation } = this.#context;
    if (typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new InvalidRequestError("data: must be a string or a Uint8Array", { providerId });
    }
    if (this.#stdinClosed) {
      throw new InvalidRequestError(`${operation}: stdin is already closed`, { providerId });
    }
    const bytes = stdinBytes(data) as Uint8Array;
    if (bytes.byteLength === 0) return;
    await this.#writer.write(bytes).catch((error: unknown) => {
      throw errorFromModal(error, this.#sdk, { ...this.#context, operation: "writeStdin" });
    });
  }

  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#writer.close().catch(() => {});
  }
}
