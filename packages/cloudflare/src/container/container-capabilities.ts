/**
 * What the `cloudflare-container` provider declares, derived from what the sandbox bridge's HTTP API can
 * honour.
 */
import type { ProviderCapabilities, Runtime } from "@sandport/core";
import type { CloudflareContainerProviderSettings } from "./container-settings.ts";

/**
 * Capabilities of a sandbox bridge deployment. Everything the sandbox bridge cannot set per sandbox is
 * declared from the settings (which describe the deployment) or declared absent, so core refuses it before
 * create.
 */
export function containerCapabilities(settings: CloudflareContainerProviderSettings): ProviderCapabilities {
  // The default image ships Node.js 24 (which strips TypeScript types) and Bun; only "python" adds Python.
  const runtimes: Runtime[] = ["shell", "javascript", "typescript"];
  if (settings.image === "python") runtimes.splice(1, 0, "python");
  const instance = settings.instance ?? {};
  return {
    runtimes,
    isolation: "container",
    residency: "vendor-cloud",
    // Cloudflare places containers itself; the sandbox bridge takes no region.
    regions: [],
    limits: {
      // 0 when undeclared: the sandbox bridge has no resource fields, so no request size can be promised.
      maxCpu: instance.cpu ?? 0,
      maxMemoryMb: instance.memoryMb ?? 0,
      maxDiskMb: instance.diskMb ?? 0,
      gpuTypes: [],
      scope: "sandbox",
      // The sandbox bridge has no lifetime field; containers only sleep after the Sandbox's idle
      // `sleepAfter`.
      maxTtlMs: 0,
      ...(settings.maxInstances === undefined ? {} : { maxConcurrency: settings.maxInstances }),
    },
    network: { modes: [settings.egress ?? "open"], allowlist: [] },
    features: {
      filesystem: true,
      streaming: true,
      // The sandbox bridge's exec is run-to-completion; its process routes are not exposed.
      background: false,
      separateStderr: true,
      // The exec body has no stdin field.
      stdin: false,
      processStdin: false,
      images: false,
      ports: false,
      // stdout and stderr events arrive in one ordered event stream.
      combinedOutput: true,
      snapshots: false,
    },
    priors: {
      // ComputeSDK's public benchmark, median create -> first command, May 2026.
      coldStartMs: 2_100,
      // Cloudflare Containers list prices (USD); disk and egress are not modelled.
      pricePerVcpuSecond: 0.00002,
      pricePerGibSecond: 0.0000025,
      pricePerGpuSecond: 0,
      // Workers Paid: $0.30 per million requests.
      pricePerRequest: 0.0000003,
    },
  };
}
