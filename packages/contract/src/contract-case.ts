/** One conformance case: a behaviour every provider that declares the right capabilities must show. */
import type { ContractContext } from "./contract-context.ts";

/** What a running case may ask of the test runner. Vitest's test context satisfies it. */
export interface ContractCaseControls {
  /** Marks the case skipped with a reason (for conditions only known once a sandbox exists). */
  skip(note: string): never;
}

/** A conformance case. */
export interface ContractCase {
  /** Stable identifier, e.g. `"exec-argv-unchanged"`, for running or citing one case. */
  readonly id: string;
  /** The `describe` block the case is listed under, e.g. `"exec"`. */
  readonly group: string;
  /** Test name: the behaviour asserted. */
  readonly title: string;
  /** Per-case timeout before `timeoutScale`, ms. */
  readonly timeoutMs: number;
  /** Why the case does not apply to this provider (from its capabilities), or `undefined` when it does. */
  skipReason?(contract: ContractContext): string | undefined;
  /** Runs the case; throws (an assertion error) when the provider misbehaves. */
  run(contract: ContractContext, controls: ContractCaseControls): Promise<void>;
}

/** Controls for running a case outside a test runner: a skip becomes an error that says so. */
const standaloneControls: ContractCaseControls = {
  skip(note: string): never {
    throw new Error(`case skipped: ${note}`);
  },
};

/**
 * Runs one case against a context: skips it (through `controls`) when it does not apply,
 * otherwise runs it. Used by `describeProviderContract` and by tests that check a single case.
 */
export async function runContractCase(
  contractCase: ContractCase,
  contract: ContractContext,
  controls: ContractCaseControls = standaloneControls,
): Promise<void> {
  const reason = contractCase.skipReason?.(contract);
  if (reason !== undefined) controls.skip(reason);
  await contractCase.run(contract, controls);
}
