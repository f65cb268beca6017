/** A sandbox's estimated cost from the provider's declared prices and the workload's size. */
import type { ProviderCapabilities } from "@sandport/core";
import { defaultExpectedDurationMs, type Workload } from "./workload.ts";

// What a request that states no size is assumed to use.
const defaultCpu = 1;
const defaultMemoryMb = 1024;

/** Estimated USD for running `workload` for `durationMs` (default: its expected duration). */
export function estimatedCost(
  capabilities: ProviderCapabilities,
  workload: Workload,
  durationMs: number = workload.hints.expectedDurationMs ?? defaultExpectedDurationMs,
): number {
  const { priors } = capabilities;
  const resources = workload.request.resources ?? {};
  const seconds = durationMs / 1000;
  const perSecond =
    (resources.cpu ?? defaultCpu) * priors.pricePerVcpuSecond +
    ((resources.memoryMb ?? defaultMemoryMb) / 1024) * priors.pricePerGibSecond +
    (resources.gpu?.count ?? 0) * priors.pricePerGpuSecond;
  return priors.pricePerRequest + perSecond * seconds;
}

/** Estimated USD per hour of the sandbox (the policy's cost ceiling is per sandbox-hour). */
export function estimatedCostPerHour(capabilities: ProviderCapabilities, workload: Workload): number {
  return estimatedCost(capabilities, workload, 3_600_000);
}
