/** Capabilities for test doubles in core's own tests: a shell-only backend that declares nothing else. */
import type { ProviderCapabilities, ProviderFeatures } from "../capabilities.ts";

const noFeatures: ProviderFeatures = {
  filesystem: false,
  streaming: false,
  background: false,
  separateStderr: false,
  stdin: false,
  processStdin: false,
  images: false,
  ports: false,
  combinedOutput: false,
  snapshots: false,
};

/** Overrides of {@link testCapabilities}; `features` are merged flag by flag. */
export type TestCapabilityOverrides = Partial<Omit<ProviderCapabilities, "features">> & {
  features?: Partial<ProviderFeatures>;
};

/** Minimal honest capabilities (shell, no isolation, open network, no features), with `overrides`. */
export function testCapabilities(overrides: TestCapabilityOverrides = {}): ProviderCapabilities {
  const { features, ...rest } = overrides;
  return {
    runtimes: ["shell"],
    isolation: "none",
    residency: "self-hosted",
    regions: [],
    limits: { gpuTypes: [], scope: "process" },
    network: { modes: ["open"], allowlist: [] },
    priors: {
      coldStartMs: 0,
      pricePerVcpuSecond: 0,
      pricePerGibSecond: 0,
      pricePerGpuSecond: 0,
      pricePerRequest: 0,
    },
    ...rest,
    features: { ...noFeatures, ...features },
  };
}
