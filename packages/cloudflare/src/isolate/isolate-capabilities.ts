/** What the `cloudflare-isolate` provider declares. */
import type { ProviderCapabilities } from "@sandport/core";
import type { ResolvedIsolateSettings } from "./isolate-settings.ts";

/** Memory of one Workers isolate on Cloudflare, MiB. */
export const isolateMemoryMb = 128;

/** Capabilities for the given settings. */
export function isolateCapabilities(settings: ResolvedIsolateSettings): ProviderCapabilities {
  const remote = settings.mode === "remote";
  return {
    runtimes: ["javascript", "typescript"],
    isolation: "v8-isolate",
    residency: remote ? "vendor-cloud" : "self-hosted",
    regions: [],
    limits: {
      // An isolate runs on one thread.
      maxCpu: 1,
      maxMemoryMb: remote ? isolateMemoryMb : settings.memoryMb,
      maxDiskMb: Math.floor(settings.maxFilesBytes / (1024 * 1024)),
      gpuTypes: [],
      scope: "sandbox",
      maxCommandTimeoutMs: settings.maxTimeoutMs,
    },
    network: {
      modes: remote || settings.allowNetwork ? ["none", "open", "allowlist"] : ["none", "allowlist"],
      // Names must resolve to public addresses; loopback and private ones only by address or range.
      allowlist: ["domain", "cidr"],
    },
    features: {
      filesystem: true,
      // Output arrives when the run ends, not while it runs.
      streaming: false,
      background: false,
      separateStderr: true,
      stdin: false,
      processStdin: false,
      images: false,
      ports: false,
      // The runner keeps what both streams wrote in one ordered list.
      combinedOutput: true,
      snapshots: false,
    },
    priors: {
      coldStartMs: remote ? 30 : 5,
      // Workers Standard: $0.02 per million CPU-ms, $0.30 per million requests.
      pricePerVcpuSecond: remote ? 0.00002 : 0,
      pricePerGibSecond: 0,
      pricePerGpuSecond: 0,
      pricePerRequest: remote ? 0.0000003 : 0,
    },
  };
}
