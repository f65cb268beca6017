/** What the `vercel` provider declares, derived from what Vercel Sandbox and `@vercel/sandbox` 3.5 can honour. */
import type { ProviderCapabilities } from "@sandport/core";
import {
  defaultMaxTimeoutMs,
  defaultMaxVcpus,
  defaultVercelRegions,
  type VercelProviderSettings,
} from "./vercel-settings.ts";

/** Memory Vercel gives each vCPU, MiB: memory is not set on its own. */
export const memoryMbPerVcpu = 2048;

/** Capabilities of a Vercel team, from the settings that describe its plan. */
export function vercelCapabilities(settings: VercelProviderSettings): ProviderCapabilities {
  const maxVcpus = settings.maxVcpus ?? defaultMaxVcpus;
  return {
    // The default image (vercel/sandbox/universal) ships sh, Python 3 and Node.js 24 (which strips types).
    runtimes: ["shell", "python", "javascript", "typescript"],
    isolation: "microvm",
    residency: "vendor-cloud",
    regions: [...(settings.regions ?? defaultVercelRegions)],
    limits: {
      maxCpu: maxVcpus,
      maxMemoryMb: maxVcpus * memoryMbPerVcpu,
      // The SDK has no disk size: any diskMb request is refused rather than ignored.
      maxDiskMb: 0,
      gpuTypes: [],
      maxTtlMs: settings.maxTimeoutMs ?? defaultMaxTimeoutMs,
      scope: "sandbox",
    },
    // deny-all, allow-all, and a custom policy of domains and CIDR ranges.
    network: { modes: ["none", "open", "allowlist"], allowlist: ["domain", "cidr"] },
    features: {
      filesystem: true,
      // Command logs arrive as NDJSON while the command runs.
      streaming: true,
      // Detached commands: NDJSON logs, wait and kill (with the signal's number).
      background: true,
      separateStderr: true,
      // The command API has no stdin field, for exec as for spawn (writeStdin / closeStdin refuse).
      stdin: false,
      processStdin: false,
      // `image`: a Vercel Container Registry image.
      images: true,
      // Ports declared at create (the ports setting or providerOptions[id].ports), reached
      // through the sandbox's `*.vercel.run` domains; other ports are refused.
      ports: true,
      // stdout and stderr lines arrive in one ordered log stream.
      combinedOutput: true,
      snapshots: false,
    },
    priors: {
      // ComputeSDK's public benchmark, median create -> first command, May 2026.
      coldStartMs: 670,
      // Vercel Sandbox list prices (USD): active CPU $0.128/h per vCPU, memory $0.0106/h per GB.
      pricePerVcpuSecond: 0.128 / 3600,
      pricePerGibSecond: 0.0106 / 3600,
      pricePerGpuSecond: 0,
      // $0.60 per million sandbox creations.
      pricePerRequest: 0.0000006,
    },
  };
}
