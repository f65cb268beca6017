/** Creates a sandbox for one case from the suite's base request. */
import type { CreateSandboxRequest, Sandbox } from "@sandport/core";
import type { ContractContext } from "./contract-context.ts";
import { mergeCreateRequest } from "./merge-create-request.ts";

/**
 * Creates a sandbox with the base request plus `override`. Cases hold it with `await using`, so
 * it is destroyed even when an assertion fails.
 */
export function createContractSandbox(
  contract: ContractContext,
  override?: CreateSandboxRequest,
): Promise<Sandbox> {
  return contract.provider.create(mergeCreateRequest(contract.request, override));
}
