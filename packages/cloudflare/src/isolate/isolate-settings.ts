/** Settings of the `cloudflare-isolate` provider, with their defaults. */
import { availableParallelism } from "node:os";
import type { ProviderContext } from "@sandport/core";
import * as z from "zod";
import type { EgressLookup } from "./egress-proxy.ts";
import { isolateCapabilities } from "./isolate-capabilities.ts";
import { defaultMaxFilesBytes } from "./isolate-worker-protocol.ts";

/** Where the isolates run. */
export type IsolateMode = "local" | "remote";

/** Settings of {@link createCloudflareIsolateProvider}. All optional. */
export interface CloudflareIsolateProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"cloudflare-isolate"`. */
  providerId?: string;
  /**
   * `"local"` (default) runs the isolate Worker under workerd on this machine: no account, no
   * network. `"remote"` talks to the isolate Worker a team deployed with `wrangler deploy`.
   */
  mode?: IsolateMode;
  /**
   * Remote mode: the isolate Worker's URL (https; plain http only to loopback). Default: env
   * `SANDPORT_ISOLATE_WORKER_URL`, else the older `SANDPORT_BRIDGE_URL`.
   */
  url?: string;
  /**
   * Remote mode: the isolate Worker's bearer token. Default: env `SANDPORT_ISOLATE_WORKER_TOKEN`,
   * else the older `SANDPORT_BRIDGE_TOKEN`.
   */
  token?: string;
  /**
   * Local mode: allow `network.egress: "open"`. Default false: code running on this machine could
   * otherwise reach everything the machine reaches (loopback services, the private network). An
   * allowlist and `"none"` are always available (an allowed name must resolve to a public address
   * unless the allowlist names the address or its range); remote mode's open network is
   * Cloudflare's.
   */
  allowNetwork?: boolean;
  /**
   * Local mode: workerd engines in the pool. Each serves one run at a time, so this is also how
   * many runs are in flight at once (more wait for a free engine): a run then never shares its
   * engine's memory, or its crash, with another sandbox's run. Raise it for code that spends its
   * time waiting on timers or the network. Default 2 (1 on a one-core machine).
   */
  engines?: number;
  /**
   * Local mode: memory of a run, MiB. It is the heap limit of each isolate (V8's
   * `--max-old-space-size`), and it sizes each engine's cap on writable memory (`RLIMIT_DATA`,
   * Linux), which bounds what the heap limit does not (ArrayBuffers, WebAssembly memories): see
   * {@link engineDataLimitBytes}: 768 MiB + 2 × `memoryMb` + 40 × `maxFilesBytes` (at most
   * 32 MiB of it), 1,984 MiB per engine with the defaults (24 MiB of files). A run past the heap
   * limit crashes its engine, which is restarted, and fails with `sandbox_failed`; an allocation
   * past the cap throws `RangeError` inside the code. Default 128, Cloudflare's own limit.
   */
  memoryMb?: number;
  /**
   * Local mode: an engine is replaced after answering this many runs (when none is pending on it),
   * because workerd's memory grows a little with every isolate it loaded. Default 2000.
   */
  engineRecycleRuns?: number;
  /** Local mode: engines stop after this long without work, ms (and start again on demand). Default 30000. */
  engineIdleMs?: number;
  /** Per-run timeout when `runCode` is given none, ms. Default 30000. */
  defaultTimeoutMs?: number;
  /** Largest per-run timeout a caller may ask for, ms. Default 300000. */
  maxTimeoutMs?: number;
  /** Largest code accepted, bytes. Default 1 MiB. */
  maxCodeBytes?: number;
  /**
   * Total size of one sandbox's files, bytes: their contents and the UTF-8 bytes of every path,
   * with at most 10,000 files and directories. Default 24 MiB, below the 32 MiB a run can carry
   * over Workers RPC.
   */
  maxFilesBytes?: number;
  /** Remote mode: the `fetch` to use (the seam for tests and proxies). Default the global one. */
  fetch?: typeof fetch;
  /**
   * Local mode: resolves the host names of allowlisted egress, to every address of the name. The
   * egress proxy checks the answer and connects to the address it checked. Default the system
   * resolver (`dns.lookup` with `all: true`); the seam for tests.
   */
  lookup?: EgressLookup;
}

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const cloudflareIsolateSettingsSchema = z.strictObject({
  mode: z.enum(["local", "remote"]).optional(),
  url: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  allowNetwork: z.boolean().optional(),
  engines: z.number().int().min(1).max(64).optional(),
  memoryMb: z.number().int().min(16).optional(),
  engineIdleMs: z.number().int().min(1).optional(),
  engineRecycleRuns: z.number().int().min(1).optional(),
  defaultTimeoutMs: z.number().int().min(1).optional(),
  maxTimeoutMs: z.number().int().min(1).optional(),
  maxCodeBytes: z.number().int().min(1).optional(),
  maxFilesBytes: z.number().int().min(0).optional(),
});

/** Settings with every default filled in (credentials stay unresolved until first use). */
export interface ResolvedIsolateSettings {
  providerId: string;
  mode: IsolateMode;
  url: string | undefined;
  token: string | undefined;
  allowNetwork: boolean;
  engines: number;
  memoryMb: number;
  engineIdleMs: number;
  engineRecycleRuns: number;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxCodeBytes: number;
  maxFilesBytes: number;
  fetch: typeof fetch | undefined;
  lookup: EgressLookup | undefined;
}

/** Fills in defaults. */
export function resolveIsolateSettings(
  settings: CloudflareIsolateProviderSettings = {},
): ResolvedIsolateSettings {
  return {
    providerId: settings.providerId ?? "cloudflare-isolate",
    mode: settings.mode ?? "local",
    url: settings.url,
    token: settings.token,
    allowNetwork: settings.allowNetwork ?? false,
    engines: settings.engines ?? Math.min(2, availableParallelism()),
    memoryMb: settings.memoryMb ?? 128,
    engineIdleMs: settings.engineIdleMs ?? 30_000,
    engineRecycleRuns: settings.engineRecycleRuns ?? 2_000,
    defaultTimeoutMs: settings.defaultTimeoutMs ?? 30_000,
    maxTimeoutMs: settings.maxTimeoutMs ?? 300_000,
    maxCodeBytes: settings.maxCodeBytes ?? 1024 * 1024,
    maxFilesBytes: settings.maxFilesBytes ?? defaultMaxFilesBytes,
    fetch: settings.fetch,
    lookup: settings.lookup,
  };
}

/**
 * workerd's own writable memory, MiB, measured on Linux x64: V8's 512 MiB code range (reserved
 * writable and executable, though barely touched) and about 60 MiB of heaps and buffers, with room
 * for growth until the engine is recycled.
 */
const engineBaseMb = 768;

/**
 * Writable memory a run's files take in the engine, per byte of files: the workspace passes
 * through JSON, base64 and two RPC copies, and V8 keeps the space of those large strings and
 * buffers mapped. Measured: a 30 MiB workspace added 1.1 GiB over two runs.
 */
const filesOverhead = 40;

/** workerd refuses RPC values over 32 MiB, so a larger workspace never reaches a run. */
const largestRunFilesBytes = 32 * 1024 * 1024;

/**
 * Cap on one engine's writable memory (`RLIMIT_DATA`), bytes: the engine's own 768 MiB, the run's
 * heap and as much again outside it (`2 × memoryMb`), and 40 times the files a run can carry
 * (`maxFilesBytes`, at most 32 MiB). One run at a time per engine, so the cap bounds that run.
 * 768 + 2 × 128 + 40 × 24 = 1,984 MiB with the defaults.
 */
export function engineDataLimitBytes(
  settings: Pick<ResolvedIsolateSettings, "memoryMb" | "maxFilesBytes">,
): number {
  const files = Math.min(settings.maxFilesBytes, largestRunFilesBytes);
  return (engineBaseMb + 2 * settings.memoryMb) * 1024 * 1024 + filesOverhead * files;
}

/** What config needs of the `cloudflare-isolate` type, without the adapter (see `@sandport/cloudflare/settings`). */
export const cloudflareIsolateTypeInfo = {
  type: "cloudflare-isolate",
  description:
    "JavaScript/TypeScript in fresh V8 isolates (Cloudflare Worker Loader): on this machine under workerd (mode local) or on a deployed isolate Worker (mode remote).",
  settingsSchema: cloudflareIsolateSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: CloudflareIsolateProviderSettings, context: ProviderContext) =>
    isolateCapabilities(resolveIsolateSettings({ ...settings, providerId: context.providerId })),
} as const;
