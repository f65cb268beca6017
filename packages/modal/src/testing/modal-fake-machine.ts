/**
 * What runs the commands and holds the files of the Modal fake's sandboxes. The fake speaks
 * Modal's wire (gRPC); a machine makes what travels over it real. The default machine is one
 * `@sandport/local` sandbox per Modal sandbox (see `local-machine.ts`).
 */
import type { ProcessSignal } from "@sandport/core";

/** One command the fake was asked to run. */
export interface ModalFakeCommand {
  /** argv exactly as `TaskExecStart.command_args` carried it (no shell involved). */
  argv: readonly string[];
  /** Absolute working directory inside the sandbox. */
  cwd: string;
  /** The whole environment of the command (the sandbox's, overridden by the exec's). */
  env: Readonly<Record<string, string>>;
}

/** A started command. */
export interface ModalFakeProcess {
  /** stdout text, in order; ends when the process ends. */
  readonly stdout: AsyncIterable<string>;
  /** stderr text, in order; ends when the process ends. */
  readonly stderr: AsyncIterable<string>;
  /** Resolves with the exit status (128 + n for a signal). */
  readonly exited: Promise<number>;
  writeStdin(data: Uint8Array): Promise<void>;
  closeStdin(): Promise<void>;
  /** Sends `signal` to the command and every process it started. */
  kill(signal: ProcessSignal): Promise<void>;
}

/** One sandbox's machine. */
export interface ModalFakeMachine {
  /** Starts a command; rejects with {@link ModalFakeCwdError} when `cwd` is not a directory. */
  spawn(command: ModalFakeCommand): Promise<ModalFakeProcess>;
  /** Stops the machine: every process ends and its files are gone. */
  stop(): Promise<void>;
}

/** Thrown by {@link ModalFakeMachine.spawn} for a working directory that does not exist. */
export class ModalFakeCwdError extends Error {}

/** Starts machines for the fake's sandboxes. */
export interface ModalFakeExecutor {
  /** `network` follows the sandbox's `network_access` (`"none"` for blocked and for allowlists the machine cannot filter). */
  start(options: { network: "none" | "open" }): Promise<ModalFakeMachine>;
  /** Releases what the executor holds. */
  dispose?(): Promise<void>;
}
