/**
 * `@sandport/contract`: the conformance suite every `SandboxProvider` runs. A provider package's
 * contract test is one call to `describeProviderContract`; single cases can run on their own.
 */
export type { CaseCondition } from "./case-conditions.ts";
export { type CaseScope, type ScopedCaseDefinition, scopedCase } from "./case-scope.ts";
export { type ContractCase, type ContractCaseControls, runContractCase } from "./contract-case.ts";
export { type ContractContext, contractRunLabel, createContractContext } from "./contract-context.ts";
export { createContractSandbox } from "./create-contract-sandbox.ts";
export { describeProviderContract } from "./describe-provider-contract.ts";
export { expectSandportError } from "./expect-sandport-error.ts";
export { getContractCase, providerContractCases } from "./provider-contract-cases.ts";
export type { ProviderContractOptions } from "./provider-contract-options.ts";
export { DeadlineExceededError, withDeadline } from "./with-deadline.ts";
