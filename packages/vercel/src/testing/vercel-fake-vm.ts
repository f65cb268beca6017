/**
 * What runs the commands and holds the files of the Vercel fake's sandboxes. The fake speaks
 * Vercel's wire; a VM makes what travels over it real. The default VM is one `@sandport/local`
 * sandbox per Vercel session.
 */
import type { ProcessSignal } from "@sandport/core";

/** One command the fake was asked to run. */
export interface FakeVmCommand {
  /** argv: `command` then `args`, as the API received them (no shell involved). */
  argv: readonly string[];
  /** Absolute working directory, in the sandbox's terms (e.g. `/vercel/sandbox`). */
  cwd: string;
  /** The whole environment of the command (the sandbox's, overridden by the command's). */
  env: Readonly<Record<string, string>>;
  /** Output text, as it is produced (the API's log lines carry text). */
  onStdout(text: string): void;
  onStderr(text: string): void;
}

/** A started command. */
export interface FakeVmProcess {
  /** Resolves with the exit status (128 + n for a signal). */
  readonly exited: Promise<number>;
  /** Sends `signal` to the command and every process it started. */
  kill(signal: ProcessSignal): Promise<void>;
}

/** What a read found. */
export type FakeVmReadResult =
  | { kind: "file"; data: Uint8Array }
  | { kind: "missing" }
  | { kind: "directory" };

/** One running session's machine. */
export interface FakeVm {
  /** Starts a command; rejects with {@link FakeVmCwdError} when `cwd` is not a directory. */
  spawn(command: FakeVmCommand): Promise<FakeVmProcess>;
  /** Reads an absolute path, following links as a process in the VM would. */
  readFile(path: string): Promise<FakeVmReadResult>;
  /** Writes an absolute path (creating parents, writing through links); false when the VM refused. */
  writeFile(path: string, data: Uint8Array): Promise<boolean>;
  /** Makes one directory; false when the VM refused (exists, no parent, no permission). */
  makeDirectory(path: string): Promise<boolean>;
  /**
   * A URL on this machine (e.g. `http://127.0.0.1:41234`) that reaches TCP `port` inside the VM,
   * for the fake's `*.vercel.run` routes. Without it, a route answers 502 as for a port nothing
   * listens on.
   */
  exposePort?(port: number): Promise<string>;
  /** Stops the machine: every process ends and its files are gone. */
  stop(): Promise<void>;
}

/** Thrown by {@link FakeVm.spawn} for a working directory that does not exist. */
export class FakeVmCwdError extends Error {}

/** Starts machines for the fake's sessions. */
export interface FakeVmExecutor {
  /** `network` follows the session's policy: `"none"` for deny-all (and for custom policies the VM cannot filter). */
  start(options: { network: "none" | "open" }): Promise<FakeVm>;
  /** Releases what the executor holds. */
  dispose?(): Promise<void>;
}
