/** Runs one host process to completion with timeout, abort, stdin, bounded output and streaming. */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import type { Readable } from "node:stream";
import { AbortedError, type ExecResult, OutputBuffer, SandboxFailedError } from "@sandport/core";

/** What to run and how. */
export interface RunProcessOptions {
  file: string;
  args: readonly string[];
  env: Record<string, string>;
  /** Host working directory (unisolated mode only; launchers set their own). */
  cwd?: string;
  stdin?: string | Uint8Array;
  timeoutMs?: number;
  signal?: AbortSignal;
  maxOutputBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Open fd 3 as a pipe and collect what the launcher writes there. */
  readyPipe: boolean;
  /** Kill the whole process group on timeout (unisolated mode has no pid namespace to do it). */
  processGroup: boolean;
  /** Called with a kill function while the process runs, so `destroy` can stop it. */
  track?: (kill: () => void) => () => void;
  providerId: string;
}

/** The result plus what the launcher reported on fd 3. */
export interface RunProcessOutcome {
  result: ExecResult;
  /** Text written on fd 3 (empty when the launcher failed before it was ready). */
  ready: string;
}

function drain(stream: Readable, buffer: OutputBuffer): void {
  stream.on("data", (chunk: Buffer) => {
    const kept = buffer.append(chunk);
    // Past the cap, stop reading: a command still writing gets SIGPIPE, as when piped into `head`.
    if (kept.byteLength < chunk.byteLength) stream.destroy();
  });
  stream.on("error", () => {});
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 9 : (constants.signals[signal] ?? 9));
}

/** Spawns the process and resolves once it and every holder of its output pipes are gone. */
export function runProcess(options: RunProcessOptions): Promise<RunProcessOutcome> {
  const started = performance.now();
  const stdout = new OutputBuffer(options.maxOutputBytes, options.onStdout);
  const stderr = new OutputBuffer(options.maxOutputBytes, options.onStderr);
  let ready = "";
  let timedOut = false;
  let aborted = false;

  return new Promise<RunProcessOutcome>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(options.file, options.args, {
        env: options.env,
        cwd: options.cwd,
        stdio: ["pipe", "pipe", "pipe", options.readyPipe ? "pipe" : "ignore"],
        detached: options.processGroup,
      });
    } catch (error) {
      reject(
        new SandboxFailedError("cannot start the sandbox process", {
          cause: error,
          providerId: options.providerId,
        }),
      );
      return;
    }
    const kill = () => {
      try {
        if (options.processGroup && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // already gone
      }
    };
    const untrack = options.track?.(kill);
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // The signal may have fired while the caller was still preparing the launch.
    if (options.signal?.aborted) onAbort();

    drain(child.stdout as Readable, stdout);
    drain(child.stderr as Readable, stderr);
    const readyStream = child.stdio[3] as Readable | null | undefined;
    readyStream?.on("data", (chunk: Buffer) => {
      ready += chunk.toString("latin1");
    });
    readyStream?.on("error", () => {});
    child.stdin?.on("error", () => {}); // a command that never reads its stdin closes it early
    child.stdin?.end(options.stdin === undefined ? undefined : options.stdin);

    let spawnError: unknown;
    child.on("error", (error) => {
      spawnError = error;
    });
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      untrack?.();
      if (spawnError !== undefined) {
        reject(
          new SandboxFailedError("cannot start the sandbox process", {
            cause: spawnError,
            providerId: options.providerId,
          }),
        );
        return;
      }
      if (aborted) {
        reject(
          new AbortedError("the command was aborted", {
            cause: options.signal?.reason,
            providerId: options.providerId,
          }),
        );
        return;
      }
      resolve({
        ready,
        result: {
          exitCode: exitCodeOf(code, signal),
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut,
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        },
      });
    });
  });
}
