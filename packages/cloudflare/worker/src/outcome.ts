/**
 * What a Durable Object method returns. Failures travel as data because RPC keeps only the
 * message of a thrown error, not its class or code.
 */
import type { BridgeErrorCode } from "../../src/isolate/bridge-protocol.ts";
import { BridgeFailure } from "./bridge-responses.ts";

/** A value, or a failure with its bridge error code. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: BridgeErrorCode; message: string };

/** A successful outcome. */
export function succeeded<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** A failed outcome. */
export function failed(
  code: BridgeErrorCode,
  message: string,
): { ok: false; code: BridgeErrorCode; message: string } {
  return { ok: false, code, message };
}

/** The value of an outcome, or the failure thrown as a {@link BridgeFailure}. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new BridgeFailure(outcome.code, outcome.message);
}
