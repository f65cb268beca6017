/** Assertions over the number of live sandboxes. */
import { expect } from "vitest";
import type { ContractContext } from "./contract-context.ts";
import { sleep } from "./sleep.ts";

/**
 * Polls the live count until it equals `expected` or `settleMs` (scaled) passes, then asserts it.
 * Polling allows for backends whose list is eventually consistent and for cleanup that finishes
 * just after a call rejected.
 */
export async function expectLiveCount(
  contract: ContractContext,
  expected: number,
  what: string,
  settleMs = 2_000,
): Promise<void> {
  const count = contract.countLiveSandboxes;
  if (count === undefined) return;
  const deadline = Date.now() + settleMs * contract.timeoutScale;
  let actual = await count();
  while (actual !== expected && Date.now() < deadline) {
    await sleep(50);
    actual = await count();
  }
  expect(actual, `live sandboxes ${what} (counted via ${contract.liveCountSource})`).toBe(expected);
}
