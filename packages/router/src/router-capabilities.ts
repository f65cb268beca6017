/**
 * What a router declares: what it can route to. Runtimes, regions, network modes, GPU types and
 * limits are the union (a request goes to a provider that can take it); features are the
 * intersection, since the caller does not say which it will use (a workload names the features it
 * needs in `providerOptions.router.needs`, and then only providers with them are eligible).
 * Isolation and residency are the weakest any provider offers: what the caller can count on.
 */
import {
  runtimes as allRuntimes,
  type IsolationKind,
  type ProviderCapabilities,
  type ProviderFeatures,
  type Residency,
} from "@sandport/core";

// Weakest first.
const isolationOrder: readonly IsolationKind[] = [
  "none",
  "namespace",
  "container",
  "v8-isolate",
  "gvisor",
  "microvm",
];

function unionOf<T>(lists: readonly (readonly T[])[]): T[] {
  return [...new Set(lists.flat())];
}

function maxOf(values: readonly (number | undefined)[]): number | undefined {
  // One provider without a declared bound means the router has none either.
  if (values.some((value) => value === undefined)) return undefined;
  return values.length === 0 ? undefined : Math.max(...(values as number[]));
}

/** The capabilities of a router over `providers` (at least one). */
export function routerCapabilities(providers: readonly ProviderCapabilities[]): ProviderCapabilities {
  const features = Object.fromEntries(
    (Object.keys(providers[0]?.features ?? {}) as (keyof ProviderFeatures)[]).map((name) => [
      name,
      providers.every((capabilities) => capabilities.features[name]),
    ]),
  ) as unknown as ProviderFeatures;
  const isolation =
    isolationOrder.find((kind) => providers.some((capabilities) => capabilities.isolation === kind)) ??
    "none";
  const residency: Residency = providers.some((capabilities) => capabilities.residency === "vendor-cloud")
    ? "vendor-cloud"
    : "self-hosted";
  const limits = providers.map((capabilities) => capabilities.limits);
  return {
    runtimes: allRuntimes.filter((runtime) =>
      providers.some((capabilities) => capabilities.runtimes.includes(runtime)),
    ),
    isolation,
    residency,
    regions: unionOf(providers.map((capabilities) => capabilities.regions)),
    limits: {
      maxCpu: maxOf(limits.map((limit) => limit.maxCpu)),
      maxMemoryMb: maxOf(limits.map((limit) => limit.maxMemoryMb)),
      maxDiskMb: maxOf(limits.map((limit) => limit.maxDiskMb)),
      gpuTypes: unionOf(limits.map((limit) => limit.gpuTypes)),
      maxGpuCount: maxOf(limits.map((limit) => (limit.gpuTypes.length === 0 ? 0 : limit.maxGpuCount))),
      maxTtlMs: maxOf(limits.map((limit) => limit.maxTtlMs)),
      maxCommandTimeoutMs: maxOf(limits.map((limit) => limit.maxCommandTimeoutMs)),
      maxConcurrency: limits.every((limit) => limit.maxConcurrency !== undefined)
        ? limits.reduce((sum, limit) => sum + (limit.maxConcurrency as number), 0)
        : undefined,
      scope: limits.some((limit) => limit.scope === "process") ? "process" : "sandbox",
    },
    network: {
      modes: unionOf(providers.map((capabilities) => capabilities.network.modes)),
      allowlist: unionOf(providers.map((capabilities) => capabilities.network.allowlist)),
    },
    features,
    priors: {
      coldStartMs: Math.min(...providers.map((capabilities) => capabilities.priors.coldStartMs)),
      pricePerVcpuSecond: Math.min(
        ...providers.map((capabilities) => capabilities.priors.pricePerVcpuSecond),
      ),
      pricePerGibSecond: Math.min(...providers.map((capabilities) => capabilities.priors.pricePerGibSecond)),
      pricePerGpuSecond: Math.min(...providers.map((capabilities) => capabilities.priors.pricePerGpuSecond)),
      pricePerRequest: Math.min(...providers.map((capabilities) => capabilities.priors.pricePerRequest)),
    },
  };
}
