/** Capability conditions shared by cases; each returns a skip reason or `undefined` when met. */
import type { NetworkMode, Runtime } from "@sandport/core";
import type { ContractContext } from "./contract-context.ts";

/** A capability condition: the reason a case does not apply, or `undefined`. */
export type CaseCondition = (contract: ContractContext) => string | undefined;

/** The provider declares `runtime` in `capabilities.runtimes`. */
export function needsRuntime(runtime: Runtime): CaseCondition {
  return (contract) =>
    contract.capabilities.runtimes.includes(runtime)
      ? undefined
      : `capabilities.runtimes does not include "${runtime}"`;
}

/** Shell commands (`sh`, coreutils) are available. */
export const needsShell: CaseCondition = needsRuntime("shell");

/** `readFile` / `writeFile` work. */
export const needsFilesystem: CaseCondition = (contract) =>
  contract.capabilities.features.filesystem ? undefined : "features.filesystem is false";

/** Output reaches `onStdout` / `onStderr` while the command runs. */
export const needsStreaming: CaseCondition = (contract) =>
  contract.capabilities.features.streaming ? undefined : "features.streaming is false";

/** `ExecOptions.stdin` is delivered. */
export const needsStdin: CaseCondition = (contract) =>
  contract.capabilities.features.stdin ? undefined : "features.stdin is false";

/** stdout and stderr are reported separately. */
export const needsSeparateStderr: CaseCondition = (contract) =>
  contract.capabilities.features.separateStderr ? undefined : "features.separateStderr is false";

/** `network.egress` may be `mode`. */
export function needsNetworkMode(mode: NetworkMode): CaseCondition {
  return (contract) =>
    contract.capabilities.network.modes.includes(mode)
      ? undefined
      : `network.modes does not include "${mode}"`;
}

/** The suite can count live sandboxes. */
export const needsLiveCount: CaseCondition = (contract) =>
  contract.countLiveSandboxes === undefined
    ? "no live-sandbox count: the provider has no list() and no countLiveSandboxes option was given, " +
      'so "nothing was created" checks do not run'
    : undefined;

/** All conditions hold; the first unmet one gives the reason. */
export function allOf(...conditions: CaseCondition[]): CaseCondition {
  return (contract) => {
    for (const condition of conditions) {
      const reason = condition(contract);
      if (reason !== undefined) return reason;
    }
    return undefined;
  };
}
