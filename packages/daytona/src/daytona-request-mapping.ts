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
  type ProcessSignal,
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
  return commandJob(input, []);
}

/** The subshell that runs the command, its input attached; `prefix` goes before the program (e.g. `setsid --`). */
function commandJob(input: SessionCommandInput, prefix: readonly string[]): string {
  const argv = "shell" in input.command ? ["sh", "-c", input.command.shell] : [...input.command];
  const steps: string[] = [];
  if (input.cwd !== undefined) steps.push(`cd -- ${shellQuote(input.cwd)}`);
  const assignments = Object.entries(input.env ?? {}).map(([name, value]) => `${name}=${shellQuote(value)}`);
  if (assignments.length > 0) steps.push(`export ${assignments.join(" ")}`);
  steps.push(`exec ${[...prefix, ...argv.map(shellQuote)].join(" ")}`);
  const inner = `(${steps.join(" && ")})`;
  if (input.stdin === undefined) return `${inner} < /dev/null`;
  return `printf '%s' ${shellQuote(base64(input.stdin))} | base64 -d | ${inner}`;
}

/** Where a background process's pid is kept while it runs (see {@link spawnCommandLine}). */
export function processPidFile(processId: string): string {
  return `/tmp/sandport-process-${processId}.pid`;
}

/**
 * The line a session runs for a background process (`spawn`). Session commands have no call that
 * signals them (deleting the session only ever terminates), so the command is made the leader of a
 * process group of its own (`setsid`, which does not fork: a job started with `&` by a shell
 * without job control never leads a group) and its pid, which is the group's id, is written to
 * `pidFile`; {@link killCommandLine} signals that group. The wrapping shell waits for the command
 * and exits with its status (128 + n for a signal); its own stderr is silenced so its notice of a
 * killed job ("Killed") never reaches the command's stderr.
 */
export function spawnCommandLine(input: SessionCommandInput & { pidFile: string }): string {
  const pidFile = shellQuote(input.pidFile);
  const job = commandJob(input, ["setsid", "--"]);
  return (
    `( exec 3>&2 2>/dev/null; ${job} 2>&3 3>&- & printf '%s' "$!" > ${pidFile}; ` +
    `wait "$!"; status=$?; rm -f ${pidFile}; exit "$status" )`
  );
}

/** Signal names `kill -s` takes, by sandport's signal. */
const signalNames: Readonly<Record<ProcessSignal, string>> = {
  SIGTERM: "TERM",
  SIGKILL: "KILL",
  SIGINT: "INT",
  SIGHUP: "HUP",
  SIGQUIT: "QUIT",
  SIGUSR1: "USR1",
  SIGUSR2: "USR2",
};

/** The `kill -s` name of `signal`; undefined for anything that is not a {@link ProcessSignal}. */
export function signalName(signal: unknown): string | undefined {
  return typeof signal === "string" && Object.hasOwn(signalNames, signal)
    ? signalNames[signal as ProcessSignal]
    : undefined;
}

/**
 * The command (for the toolbox's `/process/execute`, which may split it into words without a shell,
 * hence the explicit `sh -c`) that sends `signal` to the process group of a background process: it
 * waits up to two seconds for the pid file (a kill right after spawn), and does nothing once the
 * process has ended (its pid file is gone).
 */
export function killCommandLine(pidFile: string, signal: string): string {
  const script =
    `f=${shellQuote(pidFile)}; n=0; ` +
    `while [ ! -s "$f" ]; do [ "$n" -ge 40 ] && exit 0; n=$((n + 1)); sleep 0.05; done; ` +
    `kill -s ${signal} -- "-$(cat "$f")" 2>/dev/null; exit 0`;
  return `sh -c ${shellQuote(script)}`;
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
