/** Turns normalized sandport requests into what `@daytonaio/sdk` and the Daytona toolbox take. */
import type {
  CreateSandboxFromImageParams,
  CreateSandboxFromSnapshotParams,
  Resources,
} from "@daytonaio/sdk";
import {
  allowlistEntryKind,
  type Command,
  type CreateSandboxRequest,
  InvalidRequestError,
  normalizeAbsolutePath,
  type ProviderCapabilities,
  parsePath,
  UnsupportedCapabilityError,
  unsupportedReasons,
} from "@sandport/core";

const mebibytesPerGibibyte = 1024;
const millisecondsPerMinute = 60_000;

/** What {@link createParams} produced: the SDK's create parameters and the target to send them to. */
export interface DaytonaCreatePlan {
  params: CreateSandboxFromImageParams | CreateSandboxFromSnapshotParams;
  /** The target (region) of the create; undefined for the client's default. */
  target: string | undefined;
  /** The lifetime, ms, that was forwarded (undefined when none). */
  ttlMs: number | undefined;
}

/**
 * Throws `UnsupportedCapabilityError` for everything in `request` the provider cannot honour (core's
 * check against the capabilities), before any call.
 */
export function assertCreateSupported(
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

/**
 * Minutes for a lifetime, rounded up: Daytona counts whole minutes, and a sandbox must never be
 * reaped before the lifetime the caller asked for (the provider also ends it at the exact `ttlMs`
 * while it runs, see `DaytonaProvider`).
 */
export function lifetimeMinutes(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / millisecondsPerMinute));
}

/** A bare IP address becomes a range of one, as Daytona's `networkAllowList` takes CIDR ranges only. */
function cidrOf(entry: string): string {
  if (entry.includes("/")) return entry;
  return entry.includes(":") ? `${entry}/128` : `${entry}/32`;
}

/**
 * The SDK's create parameters for a request already checked by {@link assertCreateSupported}.
 *
 * - `cpu` (vCPUs), `memoryMb` and `diskMb` (MiB) become Daytona's whole vCPUs and GiB, rounded
 *   **up**: a request is a minimum, and Daytona has no finer unit.
 * - `ttlMs` (or `defaultTtlMs`) becomes `ttlMinutes` (wall-clock lifetime, destroyed even when
 *   stopped), `autoStopInterval` of the same minutes and `autoDeleteInterval: 0` (a stopped sandbox
 *   is deleted at once), so a crashed caller leaves nothing behind.
 * - `network.egress`: `"none"` -> `networkBlockAll`; an allowlist -> `networkAllowList` (CIDR
 *   ranges, comma-separated) and `domainAllowList` (domains); `"open"` sends nothing (Daytona's default).
 * - `region` -> the SDK client's `target`; `image` -> a Dockerfile `FROM` Daytona builds.
 */
export function createParams(
  request: CreateSandboxRequest,
  defaults: { defaultTtlMs: number; target: string | undefined },
): DaytonaCreatePlan {
  const resources: Resources = {};
  const requested = request.resources ?? {};
  if (requested.cpu !== undefined) resources.cpu = Math.ceil(requested.cpu);
  if (requested.memoryMb !== undefined)
    resources.memory = Math.ceil(requested.memoryMb / mebibytesPerGibibyte);
  if (requested.diskMb !== undefined) resources.disk = Math.ceil(requested.diskMb / mebibytesPerGibibyte);
  const ttlMs = request.ttlMs ?? (defaults.defaultTtlMs > 0 ? defaults.defaultTtlMs : undefined);
  const base: CreateSandboxFromSnapshotParams = {
    envVars: { ...request.env },
    labels: { ...request.labels },
  };
  if (ttlMs !== undefined) {
    const minutes = lifetimeMinutes(ttlMs);
    base.ttlMinutes = minutes;
    base.autoStopInterval = minutes;
    base.autoDeleteInterval = 0;
  }
  const egress = request.network?.egress;
  if (egress === "none") {
    base.networkBlockAll = true;
  } else if (egress !== undefined && egress !== "open") {
    const cidrs = egress.allow.filter((entry) => allowlistEntryKind(entry) === "cidr").map(cidrOf);
    const domains = egress.allow.filter((entry) => allowlistEntryKind(entry) === "domain");
    if (cidrs.length === 0 && domains.length === 0) {
      // An empty allowlist allows nothing.
      base.networkBlockAll = true;
    }
    if (cidrs.length > 0) base.networkAllowList = cidrs.join(",");
    if (domains.length > 0) base.domainAllowList = domains.join(",");
  }
  const target = request.region ?? defaults.target;
  if (request.image !== undefined) {
    const params: CreateSandboxFromImageParams = { ...base, image: request.image };
    if (Object.keys(resources).length > 0) params.resources = resources;
    return { params, target, ttlMs };
  }
  if (Object.keys(resources).length > 0) {
    // Daytona sizes a sandbox only when it is built from an image; the default snapshot is the
    // SDK's own default image, so a sized request names it.
    const params: CreateSandboxFromImageParams = { ...base, image: defaultImage, resources };
    return { params, target, ttlMs };
  }
  return { params: base, target, ttlMs };
}

/** The image Daytona's default snapshot is built from, used when only resources are requested. */
export const defaultImage = "daytonaio/sandbox:0.5.0";

/** Single-quotes `value` for bash: the only character that needs care inside '...' is `'` itself. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** What a session command line is built from. */
export interface SessionCommandInput {
  command: Command;
  /** Working directory as the caller gave it (relative to the session's start, or absolute). */
  cwd?: string | undefined;
  /** Variables for this command only. */
  env?: Readonly<Record<string, string>> | undefined;
  /** Data for standard input; without it the command reads end of input at once. */
  stdin?: Uint8Array | undefined;
}

/** Base64 of bytes, without `Buffer`. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let index = 0; index < bytes.byteLength; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

/**
 * The line a Daytona session runs. Everything happens in a subshell, so neither `cd` nor `export`
 * changes the session, and `exec` replaces only that subshell: the command's exit status (128 + n
 * for a signal) is the line's. argv words are single-quoted (no expansion at all); `{ shell }` runs
 * as `sh -c`. Standard input is `/dev/null` unless `stdin` is given, which travels base64-encoded in
 * the line itself and reaches the command through a pipe that then closes (Daytona's only input
 * call, `sendInput`, cannot close a command's input).
 */
export function sessionCommandLine(input: SessionCommandInput): string {
  const argv = "shell" in input.command ? ["sh", "-c", input.command.shell] : [...input.command];
  const steps: string[] = [];
  if (input.cwd !== undefined) steps.push(`cd -- ${shellQuote(input.cwd)}`);
  const assignments = Object.entries(input.env ?? {}).map(([name, value]) => `${name}=${shellQuote(value)}`);
  if (assignments.length > 0) steps.push(`export ${assignments.join(" ")}`);
  steps.push(`exec ${argv.map(shellQuote).join(" ")}`);
  const inner = `(${steps.join(" && ")})`;
  if (input.stdin === undefined) return `${inner} < /dev/null`;
  return `printf '%s' ${shellQuote(base64(input.stdin))} | base64 -d | ${inner}`;
}

/**
 * A sandbox path as the toolbox takes it: absolute paths normalized, relative ones (resolved by the
 * daemon against the sandbox's working directory) normalized too and refused when they climb above
 * it, so `..` never reaches a directory the caller did not name.
 */
export function toolboxPath(path: string, providerId: string, field = "path"): string {
  let checked: string;
  try {
    checked = parsePath(path, field);
  } catch (error) {
    if (!InvalidRequestError.isInstance(error)) throw error;
    throw new InvalidRequestError(error.message, { providerId, cause: error });
  }
  if (checked.startsWith("/")) return normalizeAbsolutePath(checked);
  const segments: string[] = [];
  for (const segment of checked.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) {
        throw new InvalidRequestError(
          `${field} "${path}" climbs above the sandbox's working directory: name it with an absolute path`,
          { providerId },
        );
      }
      segments.pop();
    } else segments.push(segment);
  }
  return segments.length === 0 ? "." : segments.join("/");
}

/** Joins a toolbox path to the working directory, for the absolute paths `FileInfo` reports. */
export function absoluteFrom(workingDirectory: string, path: string): string {
  if (path.startsWith("/")) return normalizeAbsolutePath(path);
  return normalizeAbsolutePath(`${workingDirectory}/${path}`);
}
