/** Cases about create requests the provider must refuse before creating anything. */
import { type CreateSandboxRequest, runtimes } from "@sandport/core";
import type { CaseCondition } from "../case-conditions.ts";
import type { ContractCase } from "../contract-case.ts";
import type { ContractContext } from "../contract-context.ts";
import { expectCreateRejected } from "../expect-create-rejected.ts";

const unsupportedGroup = "unsupported requests";
const invalidGroup = "invalid requests";

/** A case asserting that `request(contract)` is refused with unsupported_capability. */
function unsupportedCase(
  id: string,
  title: string,
  skipReason: CaseCondition,
  request: (contract: ContractContext) => CreateSandboxRequest,
): ContractCase {
  return {
    id,
    group: unsupportedGroup,
    title: `rejects ${title} with unsupported_capability and creates nothing`,
    timeoutMs: 10_000,
    skipReason,
    async run(contract) {
      await expectCreateRejected(contract, request(contract), "unsupported_capability");
    },
  };
}

function missingRuntime(contract: ContractContext) {
  return runtimes.find((runtime) => !contract.capabilities.runtimes.includes(runtime));
}

/** Unsupported- and invalid-request cases, in run order. */
export const requestCases: readonly ContractCase[] = [
  unsupportedCase(
    "unsupported-runtime",
    "a runtime missing from capabilities.runtimes",
    (contract) =>
      missingRuntime(contract) === undefined ? "the provider declares every runtime" : undefined,
    (contract) => ({ runtime: missingRuntime(contract) }),
  ),
  unsupportedCase(
    "unsupported-gpu",
    'a gpu { type: "H100", count: 1 } missing from limits.gpuTypes',
    (contract) =>
      contract.capabilities.limits.gpuTypes.includes("H100") ? 'limits.gpuTypes includes "H100"' : undefined,
    () => ({ resources: { gpu: { type: "H100", count: 1 } } }),
  ),
  unsupportedCase(
    "unsupported-memory",
    "memoryMb above limits.maxMemoryMb",
    (contract) =>
      contract.capabilities.limits.maxMemoryMb === undefined
        ? "limits.maxMemoryMb is not declared"
        : undefined,
    (contract) => ({
      resources: { memoryMb: Math.floor(contract.capabilities.limits.maxMemoryMb ?? 0) + 1 },
    }),
  ),
  unsupportedCase(
    "unsupported-cpu",
    "cpu above limits.maxCpu",
    (contract) =>
      contract.capabilities.limits.maxCpu === undefined ? "limits.maxCpu is not declared" : undefined,
    (contract) => ({ resources: { cpu: (contract.capabilities.limits.maxCpu ?? 0) + 1 } }),
  ),
  unsupportedCase(
    "unsupported-disk",
    "diskMb above limits.maxDiskMb",
    (contract) =>
      contract.capabilities.limits.maxDiskMb === undefined ? "limits.maxDiskMb is not declared" : undefined,
    (contract) => ({ resources: { diskMb: Math.floor(contract.capabilities.limits.maxDiskMb ?? 0) + 1 } }),
  ),
  unsupportedCase(
    "unsupported-ttl",
    "ttlMs above limits.maxTtlMs",
    (contract) =>
      contract.capabilities.limits.maxTtlMs === undefined ? "limits.maxTtlMs is not declared" : undefined,
    (contract) => ({ ttlMs: Math.floor(contract.capabilities.limits.maxTtlMs ?? 0) + 1 }),
  ),
  unsupportedCase(
    "unsupported-image",
    "a custom image without features.images",
    (contract) => (contract.capabilities.features.images ? "features.images is true" : undefined),
    () => ({ image: "sandport-contract/unsupported-image:latest" }),
  ),
  unsupportedCase(
    "unsupported-egress-open",
    'network egress "open" missing from network.modes',
    (contract) =>
      contract.capabilities.network.modes.includes("open") ? 'network.modes includes "open"' : undefined,
    () => ({ network: { egress: "open" } }),
  ),
  unsupportedCase(
    "unsupported-egress-none",
    'network egress "none" missing from network.modes',
    (contract) =>
      contract.capabilities.network.modes.includes("none") ? 'network.modes includes "none"' : undefined,
    () => ({ network: { egress: "none" } }),
  ),
  unsupportedCase(
    "unsupported-allowlist",
    'a network allowlist without "allowlist" in network.modes',
    (contract) =>
      contract.capabilities.network.modes.includes("allowlist")
        ? 'network.modes includes "allowlist"'
        : undefined,
    () => ({ network: { egress: { allow: ["example.com"] } } }),
  ),
  unsupportedCase(
    "unsupported-region",
    "a region missing from capabilities.regions",
    () => undefined,
    () => ({ region: "sandport-contract-nowhere-1" }),
  ),
  {
    id: "invalid-negative-cpu",
    group: invalidGroup,
    title: "rejects resources.cpu -1 with invalid_request and creates nothing",
    timeoutMs: 10_000,
    async run(contract) {
      await expectCreateRejected(contract, { resources: { cpu: -1 } }, "invalid_request");
    },
  },
  {
    id: "invalid-unknown-key",
    group: invalidGroup,
    title: "rejects an unknown top-level request key with invalid_request and creates nothing",
    timeoutMs: 10_000,
    async run(contract) {
      await expectCreateRejected(contract, { bogus: 1 }, "invalid_request");
    },
  },
];
