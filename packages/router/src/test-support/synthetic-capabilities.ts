/** Capabilities shaped like the real backends', for decision tests that create nothing. */
import type { ProviderCapabilities } from "@sandport/core";

const features = {
  filesystem: true,
  streaming: true,
  background: true,
  separateStderr: true,
  stdin: true,
  processStdin: true,
  images: false,
  ports: false,
  combinedOutput: false,
  snapshots: false,
};

const free = { pricePerVcpuSecond: 0, pricePerGibSecond: 0, pricePerGpuSecond: 0, pricePerRequest: 0 };

export const localCapabilities: ProviderCapabilities = {
  runtimes: ["shell", "python", "javascript"],
  isolation: "namespace",
  residency: "self-hosted",
  regions: [],
  limits: { maxCpu: 2, maxMemoryMb: 4096, gpuTypes: [], scope: "sandbox" },
  network: { modes: ["none", "open"], allowlist: [] },
  features: { ...features, ports: true },
  priors: { coldStartMs: 30, ...free },
};

export const edgeCapabilities: ProviderCapabilities = {
  runtimes: ["javascript", "typescript"],
  isolation: "v8-isolate",
  residency: "self-hosted",
  regions: [],
  limits: { maxMemoryMb: 128, gpuTypes: [], scope: "sandbox" },
  network: { modes: ["none", "open", "allowlist"], allowlist: ["domain", "cidr"] },
  features: { ...features, background: false, stdin: false, processStdin: false },
  priors: { coldStartMs: 5, ...free },
};

export const daytonaCapabilities: ProviderCapabilities = {
  runtimes: ["shell", "python", "javascript"],
  isolation: "container",
  residency: "vendor-cloud",
  regions: ["us", "eu"],
  limits: { maxCpu: 4, maxMemoryMb: 8192, gpuTypes: [], scope: "sandbox" },
  network: { modes: ["none", "open", "allowlist"], allowlist: ["cidr", "domain"] },
  features,
  priors: {
    coldStartMs: 900,
    pricePerVcpuSecond: 0.000014,
    pricePerGibSecond: 0.0000045,
    pricePerGpuSecond: 0,
    pricePerRequest: 0,
  },
};

export const modalCapabilities: ProviderCapabilities = {
  runtimes: ["shell", "python"],
  isolation: "gvisor",
  residency: "vendor-cloud",
  regions: ["us-east", "eu-west"],
  limits: { maxCpu: 64, maxMemoryMb: 262144, gpuTypes: ["A100", "H100"], maxGpuCount: 8, scope: "sandbox" },
  network: { modes: ["none", "open", "allowlist"], allowlist: ["cidr"] },
  features,
  priors: {
    coldStartMs: 1500,
    pricePerVcpuSecond: 0.0000131,
    pricePerGibSecond: 0.00000222,
    pricePerGpuSecond: 0.001097,
    pricePerRequest: 0,
  },
};
