/**
 * Runs one command as a real child process of this host, in its own process group, to completion:
 * the one process runner for adapters and test providers that run commands on a Node host.
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import type { Readable } from "node:stream";
import { watchDeadline } from "../deadline-watch.ts";
import { AbortedError, SandboxFailedError } from "../errors.ts";
import { defaultMaxOutputBytes, OutputBuffer } from "../output-buffer.ts";
import type { ExecResult } from "../sandbox-request.ts";

/** How to run the command. */
export interface RunProcessOptions {
  /** Absolute working directory. */
  cwd: string;
  /** The complete environment of the command. */
  env: Record<string, string>;
  stdin?: string | Uint8Array;
  timeoutMs?: number;
  maxOutputBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  signal?: AbortSignal;
  /** For errors. */
  providerId: string;
  /** Called with a function that kills the whole process group, until the command has ended. */
  track(kill: () => void): () => void;
}

/**
 * Runs `argv` directly (no shell) in a new process group. The group is killed with SIGKILL on
 * timeout, on abort, and once the command itself exits: exec is run-to-completion, so nothing it
 * started may outlive it (and a leftover child would hold the pipes open).
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError("argv must not be empty");
  const started = performance.now();
  return new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const untrack = options.track(killGroup);
    const maxBytes = options.maxOutputBytes ?? defaultMaxOutputBytes;
    const stdout = collect(child.stdout, new OutputBuffer(maxBytes, options.onStdout));
    const stderr = collect(child.stderr, new OutputBuffer(maxBytes, options.onStderr));

    const signal = options.signal;
    const deadline = watchDeadline(killGroup, options);

    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      deadline.stop();
      untrack();
      settle();
    };

    if (child.stdin !== null) {
      // EPIPE when the command exits without reading its input is not a failure of the command.
      child.stdin.on("error", () => {});
      child.stdin.end(options.stdin);
    }
    child.on("exit", killGroup);
    child.on("error", (error: NodeJS.ErrnoException) => {
      // Spawn failures become results, as a shell would report them: 127 not found, 126 not executable.
      if (error.code === "ENOENT" || error.code === "EACCES") {
        const exitCode = error.code === "ENOENT" ? 127 : 126;
        const message = `${file}: ${error.code === "ENOENT" ? "command not found" : "permission denied"}\n`;
        options.onStderr?.(message);
        finish(() =>
          resolve({
            exitCode,
            stdout: "",
            stderr: message,
            truncated: false,
            timedOut: false,
            durationMs: performance.now() - started,
          }),
        );
        return;
      }
      finish(() =>
        reject(
          new SandboxFailedError("could not start the command", {
            cause: error,
            providerId: options.providerId,
          }),
        ),
      );
    });
    child.on("close", (code, signalName) => {
      if (signal?.aborted) {
        finish(() =>
          reject(
            new AbortedError("the command was aborted", {
              cause: signal.reason,
              providerId: options.providerId,
            }),
          ),
        );
        return;
      }
      const exitCode = code ?? 128 + (signalName === null ? 0 : (constants.signals[signalName] ?? 0));
      finish(() =>
        resolve({
          exitCode,
          stdout: stdout.text(),
          stderr: stderr.text(),
          stdoutBytes: stdout.bytes(),
          stderrBytes: stderr.bytes(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut: deadline.timedOut,
          durationMs: performance.now() - started,
        }),
      );
    });
  });
}

/** Keeps the bytes of a stream in `buffer` and passes the kept text to `onChunk` as it arrives. */
function collect(
  stream: Readable | null,
  buffer: OutputBuffer,
): { text(): string; bytes(): Uint8Array; readonly truncated: boolean } {
  stream?.on("data", (chunk: Buffer) => buffer.append(chunk));
  stream?.on("end", () => buffer.finish());
  return {
    text: () => buffer.text(),
    bytes: () => buffer.bytes(),
    get truncated() {
      return buffer.truncated;
    },
  };
}
