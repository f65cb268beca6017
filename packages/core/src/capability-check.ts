/** Rejects requests a provider cannot honour, before anything is created. */
import type { AllowlistEntryKind, ProviderCapabilities } from "./capabilities.ts";
import { UnsupportedCapabilityError } from "./errors.ts";
import type { CreateSandboxRequest } from "./sandbox-request.ts";

// A bare address counts as a range of one (/32 or /128): it names no domain.
const cidrPattern = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*:[0-9a-fA-F:.]*)(?:\/\d{1,3})?$/;

/** Whether an allowlist entry is a CIDR range (or a single IP address) or a domain name. */
export function allowlistEntryKind(entry: string): AllowlistEntryKind {
  return cidrPattern.test(entry) ? "cidr" : "domain";
}

/** Every reason the provider cannot honour `request`; empty when it can. */
export function unsupportedReasons(
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
): string[] {
  const reasons: string[] = [];
  const { limits, features, network } = capabilities;
  if (request.runtime !== undefined && !capabilities.runtimes.includes(request.runtime)) {
    reasons.push(`runtime "${request.runtime}" (supported: ${capabilities.runtimes.join(", ")})`);
  }
  if (request.image !== undefined && !features.images) reasons.push("custom images");
  const resources = request.resources;
  if (resources?.cpu !== undefined && limits.maxCpu !== undefined && resources.cpu > limits.maxCpu) {
    reasons.push(`cpu ${resources.cpu} (max ${limits.maxCpu})`);
  }
  if (
    resources?.memoryMb !== undefined &&
    limits.maxMemoryMb !== undefined &&
    resources.memoryMb > limits.maxMemoryMb
  ) {
    reasons.push(`memoryMb ${resources.memoryMb} (max ${limits.maxMemoryMb})`);
  }
  if (
    resources?.diskMb !== undefined &&
    limits.maxDiskMb !== undefined &&
    resources.diskMb > limits.maxDiskMb
  ) {
    reasons.push(`diskMb ${resources.diskMb} (max ${limits.maxDiskMb})`);
  }
  if (resources?.gpu !== undefined) {
    const { type, count } = resources.gpu;
    if (!limits.gpuTypes.includes(type)) {
      reasons.push(
        limits.gpuTypes.length === 0
          ? "GPUs"
          : `gpu type "${type}" (available: ${limits.gpuTypes.join(", ")})`,
      );
    } else if (limits.maxGpuCount !== undefined && count > limits.maxGpuCount) {
      reasons.push(`gpu count ${count} (max ${limits.maxGpuCount})`);
    }
  }
  if (request.ttlMs !== undefined && limits.maxTtlMs !== undefined && request.ttlMs > limits.maxTtlMs) {
    reasons.push(`ttlMs ${request.ttlMs} (max ${limits.maxTtlMs})`);
  }
  const egress = request.network?.egress;
  if (egress === "none" || egress === "open") {
    if (!network.modes.includes(egress)) reasons.push(`network egress "${egress}"`);
  } else if (egress !== undefined) {
    if (!network.modes.includes("allowlist")) {
      reasons.push("network allowlists");
    } else {
      for (const entry of egress.allow) {
        const kind = allowlistEntryKind(entry);
        if (!network.allowlist.includes(kind)) reasons.push(`${kind} allowlist entry "${entry}"`);
      }
    }
  }
  if (request.region !== undefined && !capabilities.regions.includes(request.region)) {
    reasons.push(
      capabilities.regions.length === 0
        ? `region "${request.region}" (this provider has no regions)`
        : `region "${request.region}" (available: ${capabilities.regions.join(", ")})`,
    );
  }
  return reasons;
}

/** Throws `UnsupportedCapabilityError` listing everything the provider cannot honour. */
export function assertRequestSupported(
  providerId: string,
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
): void {
  const reasons = unsupportedReasons(capabilities, request);
  if (reasons.length > 0) {
    throw new UnsupportedCapabilityError(`provider "${providerId}" does not support: ${reasons.join("; ")}`, {
      providerId,
    });
  }
}
