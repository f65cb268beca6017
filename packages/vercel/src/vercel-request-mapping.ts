/** Turns normalized sandport requests into what `@vercel/sandbox` takes. */
import {
  allowlistEntryKind,
  ConfigInvalidError,
  type CreateSandboxRequest,
  describeIssues,
  InvalidRequestError,
  normalizeAbsolutePath,
  type ProviderCapabilities,
  parseProviderOptions,
  UnsupportedCapabilityError,
  unsupportedReasons,
} from "@sandport/core";
import * as z from "zod";
import { memoryMbPerVcpu } from "./vercel-capabilities.ts";
import { vercelPortsSchema } from "./vercel-settings.ts";

/** The sandbox's working directory: where relative paths and commands start. */
export const vercelWorkspaceRoot = "/vercel/sandbox";

/** Most tags Vercel keeps on a sandbox; labels travel as tags. */
export const maxVercelTags = 5;

/** Strict schema of `providerOptions[providerId]` for this provider. */
export const vercelProviderOptionsSchema = z.strictObject({
  /** Regions the sandbox may fail over to, in order (Vercel's `failoverRegions`). */
  failoverRegions: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Ports `exposePort` may open, declared at create (Vercel routes only these). Replaces the
   * provider's `ports` setting for this sandbox; `[]` declares none.
   */
  ports: vercelPortsSchema.optional(),
});

/** The network policy `@vercel/sandbox` takes. */
export type VercelNetworkPolicy =
  | "allow-all"
  | "deny-all"
  | { allow?: string[]; subnets?: { allow?: string[] } };

/** The create parameters the adapter sends (credentials, fetch and signal are added by the provider). */
export interface VercelCreateParameters {
  timeout?: number;
  resources?: { vcpus: number };
  image?: string;
  env?: Record<string, string>;
  tags?: Record<string, string>;
  networkPolicy?: VercelNetworkPolicy;
  region?: string;
  failoverRegions?: string[];
  /** Always false: a sandbox ends with its session, so a stopped one is gone, as `destroy` leaves it. */
  persistent: false;
  ports: number[];
}

/**
 * vCPUs for a request: enough for both `cpu` and `memoryMb` (Vercel gives 2048 MiB per vCPU and
 * takes whole vCPUs), rounded up so the sandbox has at least what was asked.
 */
export function vcpusFor(resources: CreateSandboxRequest["resources"]): number | undefined {
  if (resources?.cpu === undefined && resources?.memoryMb === undefined) return undefined;
  const forCpu = resources.cpu === undefined ? 1 : Math.ceil(resources.cpu);
  const forMemory = resources.memoryMb === undefined ? 1 : Math.ceil(resources.memoryMb / memoryMbPerVcpu);
  return Math.max(1, forCpu, forMemory);
}

/** Vercel's network policy for the request's egress; undefined leaves Vercel's default (allow-all). */
export function networkPolicyFor(egress: NonNullable<CreateSandboxRequest["network"]>["egress"] | undefined) {
  if (egress === undefined) return undefined;
  if (egress === "none") return "deny-all" as const;
  if (egress === "open") return "allow-all" as const;
  const domains = egress.allow.filter((entry) => allowlistEntryKind(entry) === "domain");
  const cidrs = egress.allow.filter((entry) => allowlistEntryKind(entry) === "cidr");
  // An empty allowlist lets nothing through: Vercel's deny-all says exactly that.
  if (domains.length === 0 && cidrs.length === 0) return "deny-all" as const;
  const policy: { allow?: string[]; subnets?: { allow?: string[] } } = {};
  if (domains.length > 0) policy.allow = domains;
  if (cidrs.length > 0) policy.subnets = { allow: cidrs };
  return policy;
}

/**
 * Checks `request` against what Vercel can honour and maps it. Everything it cannot honour throws
 * `UnsupportedCapabilityError` (or `InvalidRequestError` for a malformed option) before any call.
 */
export function mapCreateRequest(
  providerId: string,
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
  defaultPorts: readonly number[] = [],
): VercelCreateParameters {
  const options = parseProviderOptions(providerId, request, vercelProviderOptionsSchema);
  const reasons = unsupportedReasons(capabilities, request);
  const labels = Object.entries(request.labels ?? {});
  if (labels.length > maxVercelTags) {
    reasons.push(`${labels.length} labels (Vercel keeps at most ${maxVercelTags} tags on a sandbox)`);
  }
  const failoverRegions = options?.failoverRegions;
  if (failoverRegions !== undefined) {
    for (const region of failoverRegions) {
      if (!capabilities.regions.includes(region)) reasons.push(`failover region "${region}"`);
    }
  }
  if (reasons.length > 0) {
    throw new UnsupportedCapabilityError(`provider "${providerId}" does not support: ${reasons.join("; ")}`, {
      providerId,
    });
  }
  if (failoverRegions !== undefined) {
    if (request.region === undefined) {
      throw new InvalidRequestError(
        `providerOptions.${providerId}.failoverRegions: needs a request region to fail over from`,
        { providerId },
      );
    }
    if (
      failoverRegions.includes(request.region) ||
      new Set(failoverRegions).size !== failoverRegions.length
    ) {
      throw new InvalidRequestError(
        `providerOptions.${providerId}.failoverRegions: must not repeat a region or include the request's region`,
        { providerId },
      );
    }
  }
  let ports = options?.ports;
  if (ports === undefined) {
    const checked = vercelPortsSchema.safeParse([...defaultPorts]);
    if (!checked.success) {
      throw new ConfigInvalidError(
        `invalid settings: ${describeIssues(checked.error, `providers.${providerId}.ports`)}`,
        { providerId },
      );
    }
    ports = checked.data;
  }
  const vcpus = vcpusFor(request.resources);
  const networkPolicy = networkPolicyFor(request.network?.egress);
  return {
    persistent: false,
    ports: [...ports],
    ...(request.ttlMs === undefined ? {} : { timeout: request.ttlMs }),
    ...(vcpus === undefined ? {} : { resources: { vcpus } }),
    ...(request.image === undefined ? {} : { image: request.image }),
    ...(request.env === undefined ? {} : { env: { ...request.env } }),
    ...(labels.length === 0 ? {} : { tags: Object.fromEntries(labels) }),
    ...(networkPolicy === undefined ? {} : { networkPolicy }),
    ...(request.region === undefined ? {} : { region: request.region }),
    ...(failoverRegions === undefined ? {} : { failoverRegions: [...failoverRegions] }),
  };
}

/**
 * A file path (relative to /vercel/sandbox, or absolute) as a normalized absolute path inside
 * /vercel/sandbox. File calls are confined to the working directory: the sandbox's user may write
 * elsewhere in the VM, but a caller's `..` must never reach the image's own files by accident.
 * `allowRoot` admits the workspace itself (listing it).
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
  const absolute = normalizeAbsolutePath(path.startsWith("/") ? path : `${vercelWorkspaceRoot}/${path}`);
  if (absolute === vercelWorkspaceRoot) {
    if (allowRoot) return absolute;
    throw new InvalidRequestError(`${field} "${path}" names the workspace itself, not a file`, {
      providerId,
    });
  }
  if (!absolute.startsWith(`${vercelWorkspaceRoot}/`)) {
    throw new InvalidRequestError(
      `${field} "${path}" is outside the sandbox workspace (${vercelWorkspaceRoot})`,
      { providerId },
    );
  }
  return absolute;
}

/** The working directory of a command: relative ones resolve against /vercel/sandbox. */
export function resolveWorkingDirectory(cwd: string | undefined): string {
  if (cwd === undefined) return vercelWorkspaceRoot;
  return normalizeAbsolutePath(cwd.startsWith("/") ? cwd : `${vercelWorkspaceRoot}/${cwd}`);
}

/** Vercel sandbox names: what its API mints and accepts (letters, digits, `-` and `_`). */
export const sandboxNamePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
