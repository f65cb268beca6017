/** Asserts that a call fails with a given sandport error code. */
import { SandportError, type SandportErrorCode } from "@sandport/core";
import { assert, expect } from "vitest";

/**
 * Calls `action` and asserts it rejects with a `SandportError` (checked by brand, never
 * `instanceof`) whose `code` is `code` (or one of them). Returns the error for further checks. A sandbox that the
 * call created anyway is destroyed, so a failing case does not also leak. Throwing synchronously
 * instead of returning a rejected promise fails too: callers of a promise API only see rejections.
 */
export async function expectSandportError(
  action: () => Promise<unknown>,
  code: SandportErrorCode | readonly SandportErrorCode[],
): Promise<SandportError> {
  let pending: Promise<unknown>;
  try {
    pending = action();
  } catch (error) {
    assert.fail(
      `expected a rejected promise with code "${code}", but the call threw synchronously: ${describeThrown(error)}`,
    );
  }
  let error: unknown;
  let rejected = false;
  try {
    const value = await pending;
    await destroyIfSandbox(value);
  } catch (caught) {
    rejected = true;
    error = caught;
  }
  if (!rejected) assert.fail(`expected a rejection with code "${code}", but the call succeeded`);
  if (!SandportError.isInstance(error)) {
    assert.fail(`expected a SandportError with code "${code}", got ${describeThrown(error)}`);
  }
  const expected: readonly SandportErrorCode[] = typeof code === "string" ? [code] : code;
  expect(expected, `code of ${error.name}: ${error.message}`).toContain(error.code);
  return error;
}

async function destroyIfSandbox(value: unknown): Promise<void> {
  if (typeof value !== "object" || value === null) return;
  const destroy = (value as { destroy?: unknown }).destroy;
  if (typeof destroy === "function") await Promise.resolve(destroy.call(value)).catch(() => {});
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
