/**
 * What a Durable Object method returns. Failures travel as data because RPC keeps only the
 * message of a thrown error, not its class or code.
 */
import type { IsolateWorkerErrorCode } from "../../src/isolate/isolate-worker-protocol.ts";
import { IsolateWorkerFailure } from "./worker-responses.ts";

/** A value, or a failure with its error code (see `IsolateWorkerErrorCode`). */
export type Outcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: IsolateWorkerErrorCode; message: string };

/** A successful outcome. */
export function succeeded<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** A failed outcome. */
export function failed(
  code: IsolateWorkerErrorCode,
  message: string,
): { ok: false; code: IsolateWorkerErrorCode; message: string } {
  return { ok: false, code, message };
}

/** The value of an outcome, or the failure thrown as a {@link IsolateWorkerFailure}. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new IsolateWorkerFailure(outcome.code, outcome.message);
}
