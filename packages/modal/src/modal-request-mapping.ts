/** Turns normalized sandport requests into what `client.sandboxes.create(app, image, params)` takes. */
import {
  allowlistEntryKind,
  type CreateSandboxRequest,
  InvalidRequestError,
  normalizeAbsolutePath,
  type ProviderCapabilities,
  parseProviderOptions,
  UnsupportedCapabilityError,
  unsupportedReasons,
} from "@sandport/core";
import * as z from "zod";

/** The sandbox's working directory: where relative paths and commands start (created by Modal at start). */
export const modalWorkspaceRoot = "/workspace";

/** Strict schema of `providerOptions[providerId]` for this provider. */
export const modalProviderOptionsSchema = z.strictObject({
  /** Ends the sandbox after this long without a running exec or stdin activity, ms (whole seconds). */
  idleTimeoutMs: z.number().int().min(1000).optional(),
  /** Hard CPU limit in vCPUs, above the `resources.cpu` request (Modal's `cpuLimit`). */
  cpuLimit: z.number().positive().optional(),
  /** Hard memory limit in MiB, above the `resources.memoryMb` request (Modal's `memoryLimitMiB`). */
  memoryLimitMb: z.number().int().positive().optional(),
  /** Cloud provider to run on (Modal's `cloud`: "aws", "gcp", "oci"). */
  cloud: z.string().min(1).optional(),
});

/** The create parameters the adapter passes to the SDK (`SandboxCreateParams`, the fields used). */
export interface ModalCreateParameters {
  /** Sandbox lifetime, ms: a whole number of seconds (sent as `timeout_secs`). */
  timeoutMs: number;
  idleTimeoutMs?: number;
  workdir: string;
  cpu?: number;
  cpuLimit?: number;
  memoryMiB?: number;
  memoryLimitMiB?: number;
  /** `"A100"` or `"H100:2"` (sent as `resources.gpu_config`). */
  gpu?: string;
  env?: Record<string, string>;
  blockNetwork?: boolean;
  outboundCidrAllowlist?: string[];
  outboundDomainAllowlist?: string[];
  regions?: string[];
  tags?: Record<string, string>;
  cloud?: string;
}

/** A lifetime in ms rounded up to whole seconds: Modal's timeouts are seconds, and less than asked would cut it short. */
export function wholeSeconds(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/**
 * Checks `request` against what Modal can honour and maps it. Everything it cannot honour throws
 * `UnsupportedCapabilityError` (or `InvalidRequestError` for a malformed option) before any call.
 */
export function mapCreateRequest(
  providerId: string,
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
  defaultTtlMs: number,
): ModalCreateParameters {
  const options = parseProviderOptions(providerId, request, modalProviderOptionsSchema);
  const reasons = unsupportedReasons(capabilities, request);
  if (reasons.length > 0) {
    throw new UnsupportedCapabilityError(`provider "${providerId}" does not support: ${reasons.join("; ")}`, {
      providerId,
    });
  }
  const resources = request.resources;
  if (options?.cpuLimit !== undefined && (resources?.cpu === undefined || options.cpuLimit < resources.cpu)) {
    throw new InvalidRequestError(
      `providerOptions.${providerId}.cpuLimit: needs resources.cpu, and must not be below it`,
      { providerId },
    );
  }
  if (
    options?.memoryLimitMb !== undefined &&
    (resources?.memoryMb === undefined || options.memoryLimitMb < resources.memoryMb)
  ) {
    throw new InvalidRequestError(
      `providerOptions.${providerId}.memoryLimitMb: needs resources.memoryMb, and must not be below it`,
      { providerId },
    );
  }
  const parameters: ModalCreateParameters = {
    timeoutMs: wholeSeconds(request.ttlMs ?? defaultTtlMs),
    workdir: modalWorkspaceRoot,
  };
  if (options?.idleTimeoutMs !== undefined) parameters.idleTimeoutMs = wholeSeconds(options.idleTimeoutMs);
  if (resources?.cpu !== undefined) parameters.cpu = resources.cpu;
  if (options?.cpuLimit !== undefined) parameters.cpuLimit = options.cpuLimit;
  if (resources?.memoryMb !== undefined) parameters.memoryMiB = resources.memoryMb;
  if (options?.memoryLimitMb !== undefined) parameters.memoryLimitMiB = options.memoryLimitMb;
  if (resources?.gpu !== undefined) {
    const { type, count } = resources.gpu;
    parameters.gpu = count === 1 ? type : `${type}:${count}`;
  }
  if (request.env !== undefined && Object.keys(request.env).length > 0) parameters.env = { ...request.env };
  const egress = request.network?.egress;
  if (egress === "none") parameters.blockNetwork = true;
  else if (egress !== undefined && egress !== "open") {
    // An empty allowlist lets nothing out: Modal's allowlist with no entries says exactly that.
    parameters.outboundCidrAllowlist = egress.allow.filter((entry) => allowlistEntryKind(entry) === "cidr");
    parameters.outboundDomainAllowlist = egress.allow.filter(
      (entry) => allowlistEntryKind(entry) === "domain",
    );
  }
  if (request.region !== undefined) parameters.regions = [request.region];
  if (request.labels !== undefined && Object.keys(request.labels).length > 0)
    parameters.tags = { ...request.labels };
  if (options?.cloud !== undefined) parameters.cloud = options.cloud;
  return parameters;
}

/**
 * A file path (relative to /workspace, or absolute) as a normalized absolute path inside
 * /workspace. File calls are confined to the working directory: a caller's `..` must never reach
 * the image's own files by accident. `allowRoot` admits the workspace itself (listing it).
 */
export function resolveWorkspacePath(
  path: string,
  field: string,
  providerId: string,
  allowRoot = false,
): string {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new InvalidRequestError(`${field}: must be a non-empty path without NUL`, { providerId });
  }
  const absolute = normalizeAbsolutePath(path.startsWith("/") ? path : `${modalWorkspaceRoot}/${path}`);
  if (absolute === modalWorkspaceRoot) {
    if (allowRoot) return absolute;
    throw new InvalidRequestError(`${field} "${path}" names the workspace itself, not a file`, {
      providerId,
    });
  }
  if (!absolute.startsWith(`${modalWorkspaceRoot}/`)) {
    throw new InvalidRequestError(
      `${field} "${path}" is outside the sandbox workspace (${modalWorkspaceRoot})`,
      {
        providerId,
      },
    );
  }
  return absolute;
}

/** The working directory of a command: relative ones resolve against /workspace. */
export function resolveWorkingDirectory(cwd: string | undefined): string {
  if (cwd === undefined) return modalWorkspaceRoot;
  return normalizeAbsolutePath(cwd.startsWith("/") ? cwd : `${modalWorkspaceRoot}/${cwd}`);
}

/** Modal sandbox ids as the API mints them (`sb-...`); checked loosely, since V2 ids have no published shape. */
export const sandboxIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$/;
