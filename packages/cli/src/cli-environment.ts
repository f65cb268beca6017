/** Everything the CLI touches of its process, gathered so tests can run it in-process. */

import type { Writable } from "node:stream";
import { buffer, text } from "node:stream/consumers";
import { signalExitCode } from "./exit-codes.ts";

/** A stream the CLI writes to; `isTTY` decides whether progress is shown. */
export type OutputStream = Writable & { readonly isTTY?: boolean };

/** Signals that stop a running command. */
export type InterruptSignal = "SIGINT" | "SIGTERM";

/** The process-facing surface of the CLI. */
export interface CliEnvironment {
  /** Where sandbox stdout and command results go. */
  stdout: OutputStream;
  /** Where sandbox stderr, progress and error lines go. */
  stderr: OutputStream;
  /** Reads all of standard input (for `sandport run -`). */
  readStdin(): Promise<string>;
  /**
   * Whether standard input is a terminal. `sandport exec` forwards standard input to the command
   * only when this is `false`; absent counts as a terminal (nothing is forwarded).
   */
  stdinIsTTY?: boolean;
  /** Reads all of standard input as bytes, for `sandport exec` to forward; absent: nothing is forwarded. */
  readStdinBytes?(): Promise<Uint8Array>;
  /** Environment variables: `SANDPORT_CONFIG` and `${env:...}` secrets are read from here. */
  env: NodeJS.ProcessEnv;
  /** Directory relative paths (files, `./sandport.json`) are resolved against. */
  cwd: string;
  /** Calls `listener` on Ctrl-C / SIGTERM until the returned function is called. */
  onInterrupt(listener: (signal: InterruptSignal) => void): () => void;
}

/** The environment of the running process. */
export function processEnvironment(): CliEnvironment {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: () => text(process.stdin),
    // A getter: touching `process.stdin` opens it, which only `exec` needs.
    get stdinIsTTY() {
      return process.stdin.isTTY === true;
    },
    readStdinBytes: async () => new Uint8Array(await buffer(process.stdin)),
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(listener) {
      let received = 0;
      const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
        const handler = () => {
          received += 1;
          // A second Ctrl-C means "stop now", even if cleanup is still under way.
          if (received > 1) process.exit(signalExitCode(signal));
          listener(signal);
        };
        process.on(signal, handler);
        return [signal, handler] as const;
      });
      return () => {
        for (const [signal, handler] of handlers) process.off(signal, handler);
      };
    },
  };
}

/** Resolves once everything written to `stream` so far has been handed to the system. */
export function flushStream(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableEnded || stream.destroyed) resolve();
    else stream.write("", () => resolve());
  });
}
