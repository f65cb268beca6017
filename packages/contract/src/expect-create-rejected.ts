/** Asserts that a rejected create left no sandbox behind. */
import type { CallOptions, CreateSandboxRequest, SandportErrorCode } from "@sandport/core";
import type { ContractContext } from "./contract-context.ts";
import { expectSandportError } from "./expect-sandport-error.ts";
import { expectLiveCount } from "./live-count.ts";
import { mergeCreateRequest } from "./merge-create-request.ts";

/**
 * Calls `provider.create` with the base request plus `override`, asserts it rejects with `code`,
 * and, when the suite can count live sandboxes, that the count is what it was before the call.
 * `settleMs` allows cleanup that finishes after the rejection (an abort mid-create); rejections
 * that come before anything is created use 0.
 */
export async function expectCreateRejected(
  contract: ContractContext,
  // `unknown`, so invalid-request cases can pass what the type forbids.
  override: unknown,
  code: SandportErrorCode,
  options: CallOptions & { settleMs?: number; abortAfterCall?: AbortController } = {},
): Promise<void> {
  const before = await contract.countLiveSandboxes?.();
  const request = mergeCreateRequest(contract.request, override as CreateSandboxRequest);
  await expectSandportError(() => {
    const creating = contract.provider.create(request, { signal: options.signal });
    // Aborting after the call returned means the abort lands while create is in flight.
    options.abortAfterCall?.abort();
    return creating;
  }, code);
  if (before !== undefined) {
    await expectLiveCount(contract, before, `after a create rejected with ${code}`, options.settleMs ?? 0);
  }
}
