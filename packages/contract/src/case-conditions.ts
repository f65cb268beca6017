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

/** A spawned process takes `writeStdin` / `closeStdin`. */
export const needsProcessStdin: CaseCondition = (contract) =>
  contract.capabilities.features.processStdin ? undefined : "features.processStdin is false";

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

/** `sandbox.spawn` starts background processes. */
export const needsBackground: CaseCondition = (contract) =>
  contract.capabilities.features.background ? undefined : "features.background is false";

/** The provider has `list()`. */
export const needsList: CaseCondition = (contract) =>
  contract.provider.list === undefined ? "the provider has no list()" : undefined;

/** A sandbox lifetime of `ttlMs` may be requested (`limits.maxTtlMs` absent means no bound). */
export function needsTtl(ttlMs: number): CaseCondition {
  return (contract) => {
    const max = contract.capabilities.limits.maxTtlMs;
    return max !== undefined && max < ttlMs
      ? `limits.maxTtlMs is ${max}, so ttlMs ${ttlMs} cannot be requested`
      : undefined;
  };
}

/** A sandbox can be observed: through a shell command or through its files. */
export const needsShellOrFilesystem: CaseCondition = (contract) =>
  contract.capabilities.runtimes.includes("shell") || contract.capabilities.features.filesystem
    ? undefined
    : 'needs runtime "shell" or features.filesystem to observe a sandbox';

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

/** At least one condition holds; otherwise every reason, joined. */
export function anyOf(...conditions: CaseCondition[]): CaseCondition {
  return (contract) => {
    const reasons: string[] = [];
    for (const condition of conditions) {
      const reason = condition(contract);
      if (reason === undefined) return undefined;
      reasons.push(reason);
    }
    return reasons.join(", and ");
  };
}
