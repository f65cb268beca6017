/** What the `modal-sandbox` provider declares, derived from what Modal sandboxes and `modal` 0.11 can honour. */
import type { ProviderCapabilities } from "@sandport/core";
import {
  defaultMaxTimeoutMs,
  defaultModalGpuTypes,
  defaultModalRegions,
  type ModalSandboxProviderSettings,
} from "./modal-settings.ts";

/** Capabilities of a Modal workspace, from the settings that describe it. */
export function modalCapabilities(settings: ModalSandboxProviderSettings): ProviderCapabilities {
  return {
    // The default image (python:3.13-slim) has sh, coreutils and Python 3; no Node.js.
    runtimes: ["shell", "python"],
    // gVisor containers.
    isolation: "gvisor",
    residency: "vendor-cloud",
    regions: [...(settings.regions ?? defaultModalRegions)],
    limits: {
      maxCpu: settings.maxCpu ?? 64,
      maxMemoryMb: settings.maxMemoryMb ?? 336 * 1024,
      // The SDK has no disk size for sandboxes: any diskMb request is refused rather than ignored.
      maxDiskMb: 0,
      gpuTypes: [...(settings.gpuTypes ?? defaultModalGpuTypes)],
      maxGpuCount: settings.maxGpuCount ?? 8,
      maxTtlMs: settings.maxTimeoutMs ?? defaultMaxTimeoutMs,
      scope: "sandbox",
    },
    // block_network, open, and an outbound allowlist of CIDR ranges and domains.
    network: { modes: ["none", "open", "allowlist"], allowlist: ["domain", "cidr"] },
    features: {
      filesystem: true,
      // Each exec's stdout and stderr are read as gRPC streams while it runs.
      streaming: true,
      // Exec handles run in the background; kill is done in the sandbox (see modal-exec.ts).
      background: true,
      separateStderr: true,
      stdin: true,
      processStdin: true,
      images: true,
      // Tunnels must be declared at create (encryptedPorts); not exposed through the spec yet.
      ports: false,
      // stdout and stderr are two streams read separately: their relative order is lost.
      combinedOutput: false,
      snapshots: false,
    },
    priors: {
      // ComputeSDK's public benchmark, median create -> first command, May 2026.
      coldStartMs: 1700,
      // Modal list prices (USD): $0.0000131 per physical core-second (= 2 vCPU), $0.00000222 per GiB-second.
      pricePerVcpuSecond: 0.0000131 / 2,
      pricePerGibSecond: 0.00000222,
      // H100 list price, the upper end of the GPU prices.
      pricePerGpuSecond: 0.001097,
      pricePerRequest: 0,
    },
  };
}
