/** Settings of the `vercel` provider, their config schema, and lazy credential loading. */
import { AuthenticationError, ConfigInvalidError } from "@sandport/core";
import * as z from "zod";
import { vercelCapabilities } from "./vercel-capabilities.ts";

/** Environment variables the credentials fall back to, by setting. */
export const credentialEnvironmentVariables = {
  token: "VERCEL_TOKEN",
  teamId: "VERCEL_TEAM_ID",
  projectId: "VERCEL_PROJECT_ID",
} as const;

/**
 * Vercel regions a sandbox may be placed in by default (`region`, `failoverRegions`). The SDK
 * accepts "any Vercel region"; a team whose plan offers fewer (or more) sets `regions`.
 */
export const defaultVercelRegions: readonly string[] = [
  "arn1",
  "bom1",
  "cdg1",
  "cle1",
  "cpt1",
  "dub1",
  "fra1",
  "gru1",
  "hkg1",
  "hnd1",
  "iad1",
  "icn1",
  "kix1",
  "lhr1",
  "pdx1",
  "sfo1",
  "sin1",
  "syd1",
];

/** Longest sandbox `timeout` of Vercel's Pro and Enterprise plans (5 hours), ms. Hobby allows 45 minutes. */
export const defaultMaxTimeoutMs = 5 * 60 * 60 * 1000;

/** Most vCPUs one Vercel sandbox can have. */
export const defaultMaxVcpus = 8;

/** Settings of {@link createVercelProvider}. Every field is optional. */
export interface VercelProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"vercel"`. */
  providerId?: string;
  /**
   * Vercel access token. Default: the `VERCEL_TOKEN` environment variable. Read at the first
   * request, never logged, never put in an error message. The provider never falls back to the
   * SDK's OIDC lookup or its interactive login: without a token, calls fail with `authentication`.
   */
  token?: string;
  /** The team that owns the sandboxes. Default: `VERCEL_TEAM_ID`. */
  teamId?: string;
  /** The project the sandboxes are billed to. Default: `VERCEL_PROJECT_ID`. */
  projectId?: string;
  /**
   * Regions a request may name (`region`, `providerOptions[id].failoverRegions`). Default: the
   * Vercel regions listed in {@link defaultVercelRegions}.
   */
  regions?: readonly string[];
  /**
   * Longest sandbox lifetime (`ttlMs`, sent as the sandbox's `timeout`) the team's plan allows, ms.
   * Default 5 hours (Pro / Enterprise); Hobby teams set 2700000 (45 minutes).
   */
  maxTimeoutMs?: number;
  /** Most vCPUs a request may ask for (memory follows at 2048 MiB per vCPU). Default 8. */
  maxVcpus?: number;
  /**
   * Timeout for commands that set no `timeoutMs`, ms. Default: none (commands run until they end
   * or the sandbox's own timeout stops it).
   */
  defaultTimeoutMs?: number;
  /**
   * Ports declared on every sandbox at create, which `exposePort` may then open (Vercel routes
   * only ports declared up front; at most 15). A request's `providerOptions[id].ports` replaces
   * them. Default: none, so `exposePort` refuses every port until some are declared.
   */
  ports?: readonly number[];
  /** The `fetch` the SDK uses for every request. Default: the global `fetch`. The test seam. */
  fetch?: typeof fetch;
  /**
   * The `@vercel/sandbox` module (or a stand-in with the same `Sandbox` class). Default: the
   * installed `@vercel/sandbox`, imported at the first request.
   */
  sdk?: VercelSdk;
}

/** The part of `@vercel/sandbox` the adapter uses. */
export type VercelSdk = Pick<typeof import("@vercel/sandbox"), "Sandbox" | "APIError" | "StreamError">;

/** Most ports one Vercel sandbox may declare (`ports` at create). */
export const maxVercelPorts = 15;

/** A list of ports to declare at create: distinct TCP ports, at most {@link maxVercelPorts}. */
export const vercelPortsSchema = z
  .array(z.number().int().min(1).max(65_535))
  .max(maxVercelPorts)
  .refine((ports) => new Set(ports).size === ports.length, "must not repeat a port");

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const vercelSettingsSchema = z.strictObject({
  token: z.string().min(1).optional(),
  teamId: z.string().min(1).optional(),
  projectId: z.string().min(1).optional(),
  regions: z
    .array(z.string().regex(/^[a-z]{3}\d$/, 'must be a Vercel region code such as "iad1"'))
    .optional(),
  maxTimeoutMs: z.number().int().positive().optional(),
  maxVcpus: z.number().int().positive().max(64).optional(),
  defaultTimeoutMs: z.number().int().positive().optional(),
  ports: vercelPortsSchema.optional(),
});

/** The credentials the SDK takes, all three together (so it never looks for OIDC or a login). */
export interface VercelCredentials {
  token: string;
  teamId: string;
  projectId: string;
}

/** Reads an environment variable where a `process` exists, and nothing elsewhere. */
function environmentValue(name: string): string | undefined {
  const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = environment?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Finds the three credentials in the settings or the environment. Called at the first request, so
 * constructing a provider never throws; the error names each missing setting and its environment
 * variable, never a value.
 */
export function resolveVercelCredentials(
  settings: VercelProviderSettings,
  providerId: string,
): VercelCredentials {
  const found: Partial<Record<keyof VercelCredentials, string>> = {};
  const missing: string[] = [];
  for (const key of ["token", "teamId", "projectId"] as const) {
    const value = settings[key] ?? environmentValue(credentialEnvironmentVariables[key]);
    if (value === undefined || value === "") {
      missing.push(
        `providers.${providerId}.${key} (or the ${credentialEnvironmentVariables[key]} environment variable)`,
      );
    } else {
      found[key] = value;
    }
  }
  if (missing.length > 0) {
    throw new AuthenticationError(
      `no Vercel credentials: set ${missing.join(", ")}. The provider never starts the SDK's OIDC lookup or interactive login.`,
      { providerId },
    );
  }
  const credentials = found as VercelCredentials;
  // A token travels in an HTTP header: whitespace or control characters would break the request.
  if (!/^[\x21-\x7e]+$/.test(credentials.token)) {
    throw new ConfigInvalidError(
      `providers.${providerId}.token (or ${credentialEnvironmentVariables.token}): contains whitespace or characters that cannot travel in an HTTP header`,
      { providerId },
    );
  }
  return credentials;
}

/** What config needs of the `vercel` type, without the adapter (see `@sandport/vercel/settings`). */
export const vercelTypeInfo = {
  type: "vercel",
  description: "Vercel Sandbox microVMs through the official @vercel/sandbox SDK (token, team and project).",
  settingsSchema: vercelSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: VercelProviderSettings) => vercelCapabilities(settings),
} as const;
