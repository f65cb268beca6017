/** What the `daytona` provider declares, derived from what Daytona's API (through `@daytonaio/sdk` 0.218) can honour. */
import type { ProviderCapabilities } from "@sandport/core";
import { type DaytonaProviderSettings, defaultRegions, defaultTarget } from "./daytona-settings.ts";

/** Default per-sandbox maxima: Daytona's default organization quota. */
const defaultMaxCpu = 4;
const defaultMaxMemoryMb = 8 * 1024;
const defaultMaxDiskMb = 10 * 1024;

/** The targets a request may name as `region`. */
export function daytonaRegions(settings: DaytonaProviderSettings): string[] {
  if (settings.regions !== undefined) return [...settings.regions];
  const target = defaultTarget(settings);
  // An injected client is bound to its one target: the SDK sends the client's target with every create.
  if (settings.client !== undefined) return target === undefined ? [] : [target];
  const regions = [...defaultRegions];
  if (target !== undefined && !regions.includes(target)) regions.push(target);
  return regions;
}

/** Capabilities of a `daytona` provider with these settings. Static, and never reads a credential. */
export function daytonaCapabilities(settings: DaytonaProviderSettings): ProviderCapabilities {
  return {
    // The default Daytona snapshot ships bash and coreutils, Python 3 and Node.js. TypeScript is not
    // declared: whether its Node strips types depends on the snapshot's Node version.
    runtimes: ["shell", "python", "javascript"],
    isolation: "container",
    residency: "vendor-cloud",
    regions: daytonaRegions(settings),
    limits: {
      maxCpu: settings.maxCpu ?? defaultMaxCpu,
      maxMemoryMb: settings.maxMemoryMb ?? defaultMaxMemoryMb,
      maxDiskMb: settings.maxDiskMb ?? defaultMaxDiskMb,
      // Daytona's GPU sandboxes are not offered through this adapter yet.
      gpuTypes: [],
      scope: "sandbox",
    },
    // networkBlockAll, networkAllowList (CIDR) and domainAllowList of the create call.
    network: { modes: ["none", "open", "allowlist"], allowlist: ["cidr", "domain"] },
    features: {
      filesystem: true,
      // Session commands stream their logs over a WebSocket, stdout and stderr marked apart.
      streaming: true,
      // Async session commands, one per process, each in a process group of its own (kill signals it).
      background: true,
      separateStderr: true,
      // Delivered inside the command line (see the request mapping), so it reaches EOF.
      stdin: true,
      // Nothing closes a session command's input (no EOF): writeStdin / closeStdin are unsupported.
      processStdin: false,
      // `image` becomes a Dockerfile `FROM <image>` that Daytona builds.
      images: true,
      // Preview links (a URL and a token header).
      ports: true,
      // One log stream carries both outputs in the order the daemon read them.
      combinedOutput: true,
      snapshots: false,
    },
    priors: {
      // ComputeSDK's public benchmark, median create -> first command, May 2026.
      coldStartMs: 190,
      // Daytona list prices (USD): $0.0504 per vCPU-hour, $0.0162 per GiB-hour.
      pricePerVcpuSecond: 0.000014,
      pricePerGibSecond: 0.0000045,
      pricePerGpuSecond: 0,
      pricePerRequest: 0,
    },
  };
}
