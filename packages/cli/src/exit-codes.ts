/** The exit codes of `sandport`, so scripts can tell a usage mistake from a failed sandbox. */
import { SandportError, type SandportErrorCode } from "@sandport/core";
import type { InterruptSignal } from "./cli-environment.ts";

/** Process exit codes used besides the sandboxed command's own. */
export const exitCodes = {
  success: 0,
  /** A sandbox, provider or system failure. */
  failure: 1,
  /** The command line or the config is wrong; retrying unchanged will not help. */
  usage: 2,
  /** The command hit `--timeout` (same as coreutils `timeout`). */
  timeout: 124,
} as const;

const usageErrorCodes: ReadonlySet<SandportErrorCode> = new Set<SandportErrorCode>([
  "invalid_request",
  "config_invalid",
  "unsupported_capability",
]);

/** The exit code for an error code: 2 for usage and config mistakes, 1 for everything else. */
export function exitCodeForErrorCode(code: SandportErrorCode): number {
  return usageErrorCodes.has(code) ? exitCodes.usage : exitCodes.failure;
}

/** The exit code for a thrown failure; anything that is not a sandport error counts as a failure. */
export function exitCodeForError(error: unknown): number {
  return SandportError.isInstance(error) ? exitCodeForErrorCode(error.code) : exitCodes.failure;
}

/** The conventional exit code of a process stopped by `signal` (128 + its number). */
export function signalExitCode(signal: InterruptSignal): number {
  return signal === "SIGINT" ? 130 : 143;
}
