/** Settings of the `cloudflare-container` provider, their config schema, and lazy credential loading. */
import { AuthenticationError, ConfigInvalidError } from "@sandport/core";
import * as z from "zod";
import { isHeaderSafeToken, isSafeEndpointUrl } from "../endpoint-rules.ts";
import { containerCapabilities } from "./container-capabilities.ts";

/** Environment variable the bearer token falls back to when `token` is not set. */
export const tokenEnvironmentVariable = "CLOUDFLARE_SANDBOX_TOKEN";

/** Which `@cloudflare/sandbox` container image the sandbox bridge deployment runs. */
export type ContainerImageVariant = "default" | "python";

/** Resources of the deployment's container instance type, in normalized units. */
export interface ContainerInstanceResources {
  /** vCPUs of one container. */
  cpu?: number;
  /** Memory of one container, MiB. */
  memoryMb?: number;
  /** Disk of one container, MiB. */
  diskMb?: number;
}

/** Settings of {@link createCloudflareContainerProvider}. Only `url` is required. */
export interface CloudflareContainerProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"cloudflare-container"`. */
  providerId?: string;
  /**
   * Base URL of the team's deployed `@cloudflare/sandbox/bridge` Worker, e.g.
   * `"https://sandbox-bridge.example.workers.dev"`. Must be `https:`; plain `http:` is accepted for
   * loopback hosts only (`wrangler dev`), since the bearer token travels with every request.
   */
  url: string;
  /**
   * Bearer token: the sandbox bridge's `SANDBOX_API_KEY` secret. Default: the `CLOUDFLARE_SANDBOX_TOKEN`
   * environment variable. Read at the first request, never logged, never put in an error message.
   * `null` says the deployment has no `SANDBOX_API_KEY` (the bridge then accepts every request):
   * requests carry no `Authorization` header. Said explicitly, so a token missing by mistake is
   * still an error.
   */
  token?: string | null;
  /** Route prefix of the sandbox bridge API (the sandbox bridge's `apiRoutePrefix`). Default `"/v1"`. */
  apiRoutePrefix?: string;
  /**
   * The container image the deployment uses: `"default"` (Ubuntu with Node.js and Bun, no Python)
   * or `"python"` (adds Python 3.11). Decides the declared runtimes. Default `"default"`.
   */
  image?: ContainerImageVariant;
  /**
   * Outbound network of the deployment's containers: `"open"` (the `Sandbox` class default,
   * `enableInternet = true`) or `"none"` (deployed with `enableInternet = false`). The sandbox bridge cannot
   * change it per sandbox, so only this mode is declared. Default `"open"`.
   */
  egress?: "open" | "none";
  /**
   * What one container of the deployment's instance type provides. Requests up to these sizes are
   * satisfied by every container; larger ones are refused. Default: nothing declared, so any
   * `resources` request is refused (the sandbox bridge cannot size a container per request).
   */
  instance?: ContainerInstanceResources;
  /** The deployment's `max_instances`, declared as `limits.maxConcurrency`. Default: not declared. */
  maxInstances?: number;
  /**
   * Timeout for commands that set no `timeoutMs`, ms. At the timeout the provider ends the command with a
   * second exec (the sandbox bridge ends none itself). Default: none (commands run until they end).
   */
  defaultTimeoutMs?: number;
  /**
   * Limit of each non-streaming request (create, files, destroy), and of each file call done with a
   * command in the container (list, stat, make directory, remove, rename), ms. Default 60000.
   */
  requestTimeoutMs?: number;
  /** The `fetch` to use. Default: the global `fetch`, looked up at each request. The test seam. */
  fetch?: typeof fetch;
}

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const cloudflareContainerSettingsSchema = z.strictObject({
  url: z
    .string()
    .refine(
      isSafeEndpointUrl,
      "must be an https: URL (http: only for localhost) of the deployed sandbox bridge",
    ),
  token: z.string().min(1).nullable().optional(),
  apiRoutePrefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must look like "/v1"')
    .optional(),
  image: z.enum(["default", "python"]).optional(),
  egress: z.enum(["open", "none"]).optional(),
  instance: z
    .strictObject({
      cpu: z.number().positive().optional(),
      memoryMb: z.number().int().positive().optional(),
      diskMb: z.number().int().positive().optional(),
    })
    .optional(),
  maxInstances: z.number().int().positive().optional(),
  defaultTimeoutMs: z.number().int().positive().optional(),
  requestTimeoutMs: z.number().int().positive().optional(),
});

/** What the HTTP client needs once the settings are checked. */
export interface SandboxBridgeConnection {
  /** `<url><apiRoutePrefix>`, without a trailing slash. */
  apiBase: string;
  /** The bearer token; undefined for a deployment without a key (`token: null`). */
  token: string | undefined;
}

/** Reads an environment variable where a `process` exists (Node), and nothing elsewhere (workerd). */
function environmentValue(name: string): string | undefined {
  const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = environment?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Checks the URL and finds the token. Called at the first request, so constructing a provider never
 * throws; the errors name the setting and the environment variable, never the token's value.
 */
export function resolveSandboxBridgeConnection(
  settings: CloudflareContainerProviderSettings,
  providerId: string,
): SandboxBridgeConnection {
  if (typeof settings.url !== "string" || !isSafeEndpointUrl(settings.url)) {
    throw new ConfigInvalidError(
      `providers.${providerId}.url: must be an https: URL (http: only for localhost) of the deployed sandbox bridge`,
      { providerId },
    );
  }
  const prefix = settings.apiRoutePrefix ?? "/v1";
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    throw new ConfigInvalidError(`providers.${providerId}.apiRoutePrefix: must look like "/v1"`, {
      providerId,
    });
  }
  const base = settings.url.replace(/\/+$/, "");
  if (settings.token === null) return { apiBase: `${base}${prefix}`, token: undefined };
  const token = settings.token ?? environmentValue(tokenEnvironmentVariable);
  if (token === undefined || token === "") {
    throw new AuthenticationError(
      `no bearer token for the sandbox bridge: set providers.${providerId}.token ` +
        `(e.g. "\${env:${tokenEnvironmentVariable}}") or the ${tokenEnvironmentVariable} environment variable ` +
        "(or token: null for a deployment without SANDBOX_API_KEY)",
      { providerId },
    );
  }
  if (!isHeaderSafeToken(token)) {
    throw new ConfigInvalidError(
      `providers.${providerId}.token (or ${tokenEnvironmentVariable}): contains whitespace or ` +
        "characters that cannot travel in an HTTP header",
      { providerId },
    );
  }
  return { apiBase: `${base}${prefix}`, token };
}

/** What config needs of the `cloudflare-container` type, without the adapter (see `@sandport/cloudflare/settings`). */
export const cloudflareContainerTypeInfo = {
  type: "cloudflare-container",
  description:
    "Linux containers of @cloudflare/sandbox, through the team's deployed sandbox bridge (HTTPS, bearer token).",
  settingsSchema: cloudflareContainerSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: CloudflareContainerProviderSettings) => containerCapabilities(settings),
} as const;
