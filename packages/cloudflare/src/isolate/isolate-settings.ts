/** Settings of the `cloudflare-isolate` provider, with their defaults. */
import { availableParallelism } from "node:os";
import { z } from "zod";

/** Where the isolates run. */
export type IsolateMode = "local" | "remote";

/** Settings of {@link createCloudflareIsolateProvider}. All optional. */
export interface CloudflareIsolateProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"cloudflare-isolate"`. */
  providerId?: string;
  /**
   * `"local"` (default) runs the bridge Worker under workerd on this machine: no account, no
   * network. `"remote"` talks to the bridge Worker a team deployed with `wrangler deploy`.
   */
  mode?: IsolateMode;
  /** Remote mode: the bridge's URL (https; plain http only to loopback). Env `SANDPORT_BRIDGE_URL`. */
  url?: string;
  /** Remote mode: the bridge's bearer token. Env `SANDPORT_BRIDGE_TOKEN`. */
  token?: string;
  /**
   * Local mode: allow `network.egress: "open"`. Default false: code running on this machine could
   * otherwise reach everything the machine reaches (loopback services, the private network). An
   * allowlist and `"none"` are always available; remote mode's open network is Cloudflare's.
   */
  allowNetwork?: boolean;
  /** Local mode: workerd engines in the pool. Default 2 (1 on a one-core machine). */
  engines?: number;
  /**
   * Local mode: heap limit of each isolate, MiB. A run that passes it crashes its engine, which is
   * restarted, and the run fails with `sandbox_failed`. Default 128, Cloudflare's own limit.
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
  /** Total size of one sandbox's files, bytes. Default 64 MiB. */
  maxFilesBytes?: number;
  /** Remote mode: the `fetch` to use (the seam for tests and proxies). Default the global one. */
  fetch?: typeof fetch;
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
    maxFilesBytes: settings.maxFilesBytes ?? 64 * 1024 * 1024,
    fetch: settings.fetch,
  };
}
