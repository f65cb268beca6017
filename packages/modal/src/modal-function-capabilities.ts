/**
 * What the `modal-function` provider declares: each `exec` / `runCode` is one call of the deployed
 * runner on Modal's autoscaled function containers. What differs from a Modal sandbox is said
 * here, not papered over: nothing runs between calls (no background processes, no input while a
 * command runs, no ports), output arrives when the call ends (no streaming), and the network,
 * image and region are the deployment's, not the request's.
 */
import type { ProviderCapabilities } from "@sandport/core";
import type { ModalFunctionProviderSettings } from "./modal-function-settings.ts";
import { defaultMaxTimeoutMs, defaultModalGpuTypes } from "./modal-settings.ts";

/** Capabilities of a `modal-function` provider, from its settings. */
export function modalFunctionCapabilities(settings: ModalFunctionProviderSettings): ProviderCapabilities {
  const maxTimeoutMs = settings.maxTimeoutMs ?? defaultMaxTimeoutMs;
  return {
    // The shipped runner's image (debian_slim) has sh, coreutils and Python 3; no Node.js.
    runtimes: [...(settings.runtimes ?? ["shell", "python"])],
    // Function containers are gVisor containers, as sandboxes are.
    isolation: "gvisor",
    residency: "vendor-cloud",
    // Placement is the deployment's (`region=` on the decorator); a call cannot choose it.
    regions: [],
    limits: {
      maxCpu: settings.maxCpu ?? 64,
      maxMemoryMb: settings.maxMemoryMb ?? 336 * 1024,
      // Function options carry no disk size: a diskMb request is refused rather than ignored.
      maxDiskMb: 0,
      gpuTypes: [...(settings.gpuTypes ?? defaultModalGpuTypes)],
      maxGpuCount: settings.maxGpuCount ?? 8,
      maxTtlMs: maxTimeoutMs,
      maxCommandTimeoutMs: maxTimeoutMs,
      // cpu, memory and GPUs are per function container, which runs one call at a time.
      scope: "sandbox",
    },
    // The deployment decides the network (the shipped runner's is open); a call cannot narrow it.
    network: { modes: ["open"], allowlist: [] },
    features: {
      // Kept with the caller and sent with each call; what a command changes comes back with its reply.
      filesystem: true,
      // The reply carries the output once the command has ended.
      streaming: false,
      // Nothing outlives a call.
      background: false,
      separateStderr: true,
      // ExecOptions.stdin travels with the call.
      stdin: true,
      processStdin: false,
      // The image is the deployment's.
      images: false,
      ports: false,
      // stdout and stderr are read as two pipes: their relative order is lost.
      combinedOutput: false,
      snapshots: false,
    },
    priors: {
      // create sends nothing; the first call may start a container (Modal quotes about a second for
      // a cold function start, more with a GPU), later calls reuse a warm one.
      coldStartMs: 2000,
      pricePerVcpuSecond: 0.0000131 / 2,
      pricePerGibSecond: 0.00000222,
      pricePerGpuSecond: 0.001097,
      pricePerRequest: 0,
    },
  };
}
