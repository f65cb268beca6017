/** What a provider can do, declared statically. The router selects on it; core checks requests against it. */

/** All runtimes, in a stable order: the one list the type, the schemas and the cases derive from. */
export const runtimes = ["shell", "python", "javascript", "typescript"] as const;

/** Languages a sandbox can run directly. `shell` means POSIX `sh`. */
export type Runtime = (typeof runtimes)[number];

/**
 * How the sandbox is separated from its host. `none` exists only for development setups that
 * explicitly opt out of isolation, and is always declared as such.
 */
export type IsolationKind = "none" | "v8-isolate" | "namespace" | "container" | "gvisor" | "microvm";

/** Where the code runs: on machines the team controls, or in the vendor's cloud. */
export type Residency = "self-hosted" | "vendor-cloud";

/** Network modes a provider can enforce. */
export type NetworkMode = "none" | "open" | "allowlist";

/** Kinds of entries an allowlist may hold. */
export type AllowlistEntryKind = "domain" | "cidr";

/** Upper bounds a provider accepts. An absent bound means "no limit declared". */
export interface ProviderLimits {
  /** Maximum vCPUs per sandbox. */
  maxCpu?: number;
  /** Maximum memory per sandbox, MiB. */
  maxMemoryMb?: number;
  /** Maximum disk per sandbox, MiB. */
  maxDiskMb?: number;
  /** GPU types that can be requested; empty when the provider has no GPUs. */
  gpuTypes: readonly string[];
  /** Maximum GPUs per sandbox. */
  maxGpuCount?: number;
  /** Maximum sandbox lifetime (`ttlMs`). */
  maxTtlMs?: number;
  /** Maximum per-command timeout (`timeoutMs`). */
  maxCommandTimeoutMs?: number;
  /** Maximum live sandboxes at once for this provider instance. */
  maxConcurrency?: number;
  /**
   * What memory, process and CPU limits bound: the whole sandbox (a cgroup, a VM, an isolate), or
   * each process separately (rlimits, so several processes together may use more).
   */
  scope: LimitScope;
}

/** What resource limits apply to: the sandbox as a whole, or each of its processes. */
export type LimitScope = "sandbox" | "process";

/** Network enforcement the provider offers. */
export interface NetworkCapabilities {
  /** Modes that can be requested through `network.egress`. */
  modes: readonly NetworkMode[];
  /** Entry kinds an allowlist may contain (empty unless `modes` has `allowlist`). */
  allowlist: readonly AllowlistEntryKind[];
}

/** Optional features; contract cases and the router read these. */
export interface ProviderFeatures {
  /** `readFile` / `writeFile` work. */
  filesystem: boolean;
  /** `onStdout` / `onStderr` receive output while the command runs. */
  streaming: boolean;
  /** `spawn` is available (background processes). */
  background: boolean;
  /** stdout and stderr are reported separately (otherwise stderr is folded into stdout). */
  separateStderr: boolean;
  /** `ExecOptions.stdin` is delivered to the command. */
  stdin: boolean;
  /**
   * A spawned process takes input while it runs: `writeStdin` and `closeStdin` (with `background`).
   * Without it they reject with `unsupported_capability`.
   */
  processStdin: boolean;
  /** A custom `image` can be requested. */
  images: boolean;
  /** Ports inside the sandbox can be exposed. */
  ports: boolean;
  /** `ExecResult.output` holds stdout and stderr interleaved in arrival order. */
  combinedOutput: boolean;
  /** Sandboxes can be snapshotted and restored. */
  snapshots: boolean;
}

/** Figures the router uses to score providers before it has observed any. */
export interface ProviderPriors {
  /** Typical create -> first command latency, ms. */
  coldStartMs: number;
  /** Price per vCPU-second, USD (0 for self-hosted). */
  pricePerVcpuSecond: number;
  /** Price per GiB of memory per second, USD. */
  pricePerGibSecond: number;
  /** Price per GPU-second, USD. */
  pricePerGpuSecond: number;
  /** Fixed price per request, USD. */
  pricePerRequest: number;
}

/** Everything a provider declares about itself. Honest and static. */
export interface ProviderCapabilities {
  runtimes: readonly Runtime[];
  isolation: IsolationKind;
  residency: Residency;
  /** Regions a request may name; empty when the provider has no notion of region. */
  regions: readonly string[];
  limits: ProviderLimits;
  network: NetworkCapabilities;
  features: ProviderFeatures;
  priors: ProviderPriors;
}
