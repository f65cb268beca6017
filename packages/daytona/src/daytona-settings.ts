/** Settings of the `daytona` provider, their config schema, and lazy credential loading. */

import type { Daytona } from "@daytonaio/sdk";
import { AuthenticationError, ConfigInvalidError } from "@sandport/core";
import * as z from "zod";
import { daytonaCapabilities } from "./daytona-capabilities.ts";

/** Environment variable the API key falls back to when `apiKey` is not set. */
export const apiKeyEnvironmentVariable = "DAYTONA_API_KEY";
/** Environment variable the API URL falls back to when `apiUrl` is not set. */
export const apiUrlEnvironmentVariable = "DAYTONA_API_URL";
/** Environment variable the target (region) falls back to when `target` is not set. */
export const targetEnvironmentVariable = "DAYTONA_TARGET";
/** Daytona's public API, used when neither `apiUrl` nor `DAYTONA_API_URL` is set. */
export const defaultApiUrl = "https://app.daytona.io/api";
/** Daytona's public targets (regions). */
export const defaultRegions: readonly string[] = ["us", "eu"];
/** Lifetime given to sandboxes whose request sets no `ttlMs`: one hour. */
export const defaultTtlMs = 60 * 60 * 1000;

/** Settings of {@link createDaytonaProvider}. Nothing is required: credentials may come from the environment. */
export interface DaytonaProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"daytona"`. */
  providerId?: string;
  /**
   * Daytona API key (Bearer). Default: the `DAYTONA_API_KEY` environment variable. Read at the first
   * request, never logged, never put in an error message.
   */
  apiKey?: string;
  /**
   * Base URL of the Daytona API. Default: the `DAYTONA_API_URL` environment variable (the process
   * environment only), else `https://app.daytona.io/api`. Must be `https:` (plain `http:` for
   * loopback hosts only), since the key travels with every request.
   */
  apiUrl?: string;
  /**
   * Default target (Daytona's region) for requests that name no `region`. Default: the
   * `DAYTONA_TARGET` environment variable, else the organization's default target.
   */
  target?: string;
  /**
   * Targets a request may name as `region` (declared as `capabilities.regions`). Default
   * `["us", "eu"]` plus `target` when it is another one.
   */
  regions?: readonly string[];
  /**
   * Lifetime of sandboxes whose request sets no `ttlMs`, ms; forwarded like `ttlMs` so a crashed
   * caller never leaks a sandbox. `0` sends no lifetime (Daytona's defaults: auto-stop after 15
   * idle minutes, stopped sandboxes are kept). Default one hour.
   */
  defaultTtlMs?: number;
  /** Largest `resources.cpu` accepted (vCPUs). Default 4 (Daytona's default per-sandbox quota). */
  maxCpu?: number;
  /** Largest `resources.memoryMb` accepted. Default 8192 (8 GiB). */
  maxMemoryMb?: number;
  /** Largest `resources.diskMb` accepted. Default 10240 (10 GiB). */
  maxDiskMb?: number;
  /** Timeout for commands that set no `timeoutMs`, ms. Default: none. */
  defaultTimeoutMs?: number;
  /** How long `create` waits for the sandbox to start, ms. Default 60000. */
  createTimeoutMs?: number;
  /**
   * A ready `Daytona` client (from `@daytonaio/sdk`), used instead of one built from the settings:
   * the test seam and a way to share one client. It should be built with `useDeprecatedPolling: true`.
   * With it, `regions` defaults to `target` only (the client sends its own target with every create).
   */
  client?: Daytona;
}

const regionSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a Daytona target such as "us"');

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const daytonaSettingsSchema = z.strictObject({
  apiKey: z.string().min(1).optional(),
  apiUrl: z
    .string()
    .refine(isSafeApiUrl, "must be an https: URL (http: only for localhost) of the Daytona API")
    .optional(),
  target: regionSchema.optional(),
  regions: z.array(regionSchema).optional(),
  defaultTtlMs: z.number().int().nonnegative().optional(),
  maxCpu: z.number().positive().optional(),
  maxMemoryMb: z.number().int().positive().optional(),
  maxDiskMb: z.number().int().positive().optional(),
  defaultTimeoutMs: z.number().int().positive().optional(),
  createTimeoutMs: z.number().int().positive().optional(),
});

/** Whether `url` may carry the API key: https, or http to a loopback host. */
export function isSafeApiUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "") return false;
  if (parsed.protocol === "https:") return true;
  return (
    parsed.protocol === "http:" &&
    (parsed.hostname === "localhost" || parsed.hostname === "127.0.0.1" || parsed.hostname === "[::1]")
  );
}

/** Reads an environment variable where a `process` exists, and nothing elsewhere. */
export function environmentValue(name: string): string | undefined {
  const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = environment?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/** What the SDK client is built from, once the settings are checked. */
export interface DaytonaConnection {
  apiKey: string;
  apiUrl: string;
}

/**
 * Finds the API key and URL. Called at the first request, so constructing a provider never throws;
 * the errors name the setting and the environment variable, never the key's value.
 */
export function resolveDaytonaConnection(
  settings: DaytonaProviderSettings,
  providerId: string,
): DaytonaConnection {
  const apiUrl = settings.apiUrl ?? environmentValue(apiUrlEnvironmentVariable) ?? defaultApiUrl;
  if (!isSafeApiUrl(apiUrl)) {
    throw new ConfigInvalidError(
      `providers.${providerId}.apiUrl (or ${apiUrlEnvironmentVariable}): must be an https: URL (http: only for localhost) of the Daytona API`,
      { providerId },
    );
  }
  const apiKey = settings.apiKey ?? environmentValue(apiKeyEnvironmentVariable);
  if (apiKey === undefined || apiKey === "") {
    throw new AuthenticationError(
      `no Daytona API key: set providers.${providerId}.apiKey (e.g. "\${env:${apiKeyEnvironmentVariable}}") ` +
        `or the ${apiKeyEnvironmentVariable} environment variable`,
      { providerId },
    );
  }
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new ConfigInvalidError(
      `providers.${providerId}.apiKey (or ${apiKeyEnvironmentVariable}): contains whitespace or characters that cannot travel in an HTTP header`,
      { providerId },
    );
  }
  return { apiKey, apiUrl: apiUrl.replace(/\/+$/, "") };
}

/** The default target: the setting, else `DAYTONA_TARGET`, else none (the organization's default). */
export function defaultTarget(settings: DaytonaProviderSettings): string | undefined {
  return settings.target ?? environmentValue(targetEnvironmentVariable);
}

/** What config needs of the `daytona` type, without the adapter (see `@sandport/daytona/settings`). */
export const daytonaTypeInfo = {
  type: "daytona",
  description: "Daytona sandboxes through the official @daytonaio/sdk (API key, optional target region).",
  settingsSchema: daytonaSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: DaytonaProviderSettings) => daytonaCapabilities(settings),
} as const;
