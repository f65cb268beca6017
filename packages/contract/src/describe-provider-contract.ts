/** Registers the conformance suite for one provider with vitest. */
import { afterAll, beforeAll, describe, it } from "vitest";
import { runContractCase } from "./contract-case.ts";
import { type ContractContext, createContractContext } from "./contract-context.ts";
import { expectLiveCount } from "./live-count.ts";
import { getContractCase, providerContractCases } from "./provider-contract-cases.ts";
import type { ProviderContractOptions } from "./provider-contract-options.ts";

/**
 * Declares the sandport provider contract as a vitest suite:
 *
 * ```ts
 * describeProviderContract({ name: "local", create: () => createLocalProvider() });
 * ```
 *
 * The provider is built once, in `beforeAll`. Which cases apply follows from its declared
 * capabilities; a case that does not apply is reported as skipped with the reason (the
 * capabilities exist only once `create` ran, so the skip happens when the case starts rather
 * than at collection). When a live count exists, `afterAll` fails the suite if any sandbox
 * created by the suite is still alive.
 */
export function describeProviderContract(options: ProviderContractOptions): void {
  const timeoutScale = options.timeoutScale ?? 1;
  // Checked here too: the per-case timeouts are computed now, before createContractContext runs.
  if (!(timeoutScale > 0)) throw new RangeError("timeoutScale must be a positive number");
  const skipCases = options.skipCases ?? {};
  // An unknown id throws here, so a typo cannot leave a case running that was meant to be skipped.
  for (const id of Object.keys(skipCases)) getContractCase(id);
  describe(`sandport provider contract: ${options.name}`, () => {
    let contract: ContractContext | undefined;
    let baseline: number | undefined;

    beforeAll(async () => {
      contract = await createContractContext(options);
      baseline = await contract.countLiveSandboxes?.();
    }, 30_000 * timeoutScale);

    afterAll(async () => {
      if (contract === undefined) return;
      try {
        if (baseline !== undefined) {
          await expectLiveCount(contract, baseline, "after the whole suite (a sandbox leaked)");
        }
      } finally {
        // The suite made the provider, so it releases what the provider holds (engines, supervisors).
        await contract.provider.dispose?.();
      }
    }, 30_000 * timeoutScale);

    const groups = [...new Set(providerContractCases.map((contractCase) => contractCase.group))];
    for (const group of groups) {
      describe(group, () => {
        for (const contractCase of providerContractCases.filter((candidate) => candidate.group === group)) {
          // A setup-level skip is known when the suite is declared, so it shows in the title.
          const skipNote = skipCases[contractCase.id];
          const title =
            skipNote === undefined
              ? contractCase.title
              : `${contractCase.title} [skipped for this setup: ${skipNote}]`;
          it.skipIf(skipNote !== undefined)(
            title,
            { timeout: contractCase.timeoutMs * timeoutScale },
            async (test) => {
              if (contract === undefined) {
                throw new Error("the provider was not created (see the beforeAll error)");
              }
              await runContractCase(contractCase, contract, test);
            },
          );
        }
      });
    }
  });
}
