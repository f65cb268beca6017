/** Settings of the `modal-sandbox` provider, their config schema, and lazy credential loading. */
import { AuthenticationError } from "@sandport/core";
import * as z from "zod";
import { modalCapabilities } from "./modal-capabilities.ts";

/** Environment variables the credentials fall back to, by setting. */
export const credentialEnvironmentVariables = {
  tokenId: "MODAL_TOKEN_ID",
  tokenSecret: "MODAL_TOKEN_SECRET",
} as const;

/** Modal regions a request may name by default (`region`, sent as the sandbox's `regions`). */
export const defaultModalRegions: readonly string[] = [
  "us-east",
  "us-central",
  "us-west",
  "eu-west",
  "eu-north",
  "ap-northeast",
  "ap-southeast",
  "ap-south",
  "sa-east",
  "ca-east",
];

/** GPU types Modal offers (`gpu: "A100"`, `"H100:2"`), as its SDK names them. */
export const defaultModalGpuTypes: readonly string[] = [
  "T4",
  "L4",
  "A10G",
  "A100",
  "A100-40GB",
  "A100-80GB",
  "L40S",
  "H100",
  "H200",
  "B200",
];

/** Longest sandbox `timeout` Modal accepts: 24 hours, ms. */
export const defaultMaxTimeoutMs = 24 * 60 * 60 * 1000;

/** Modal's own sandbox timeout when none is given (5 minutes), used when a request has no `ttlMs`. */
export const defaultSandboxTtlMs = 5 * 60 * 1000;

/** The image sandboxes start from when a request names none: Debian with sh, coreutils and Python 3. */
export const defaultModalImage = "python:3.13-slim";

/** The part of the `modal` SDK the adapter uses. */
export type ModalSdk = Pick<
  typeof import("modal"),
  | "ModalClient"
  | "NotFoundError"
  | "InvalidError"
  | "AlreadyExistsError"
  | "ConflictError"
  | "ResourceExhaustedError"
  | "TimeoutError"
  | "SandboxTimeoutError"
  | "ClientClosedError"
  | "SandboxFilesystemError"
  | "SandboxFilesystemNotFoundError"
  | "SandboxFilesystemFileTooLargeError"
>;

/** The SDK client the provider talks through (`new ModalClient(...)`). */
export type ModalSdkClient = InstanceType<typeof import("modal").ModalClient>;

/** Settings of {@link createModalSandboxProvider}. Every field is optional. */
export interface ModalSandboxProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"modal-sandbox"`. */
  providerId?: string;
  /**
   * Modal token id. Default: the `MODAL_TOKEN_ID` environment variable. Read at the first
   * request; the provider never falls back to the token of `~/.modal.toml`.
   */
  tokenId?: string;
  /** Modal token secret. Default: `MODAL_TOKEN_SECRET`. Never logged, never put in an error message. */
  tokenSecret?: string;
  /** The Modal environment. Default: the SDK's (`MODAL_ENVIRONMENT`, else the workspace default). */
  environment?: string;
  /** The app the sandboxes belong to (created when missing). Default `"sandport"`. */
  appName?: string;
  /** Registry image for requests that name no `image`. Default `"python:3.13-slim"`. */
  image?: string;
  /** Regions a request may name. Default: the Modal regions in {@link defaultModalRegions}. */
  regions?: readonly string[];
  /** GPU types a request may name. Default: {@link defaultModalGpuTypes}. */
  gpuTypes?: readonly string[];
  /** Most GPUs per sandbox. Default 8. */
  maxGpuCount?: number;
  /** Most vCPUs per sandbox. Default 64. */
  maxCpu?: number;
  /** Most memory per sandbox, MiB. Default 344064 (336 GiB). */
  maxMemoryMb?: number;
  /** Longest `ttlMs` (the sandbox's `timeout`), ms. Default 24 hours. */
  maxTimeoutMs?: number;
  /** Sandbox lifetime for requests without `ttlMs`, ms. Default 300000 (Modal's own default). */
  defaultTtlMs?: number;
  /** Timeout for commands that set no `timeoutMs`, ms. Default: none. */
  defaultTimeoutMs?: number;
  /**
   * Longest wait, seconds, when Modal asks the SDK to back off (the SDK then retries by itself).
   * Default 30, so a throttled call ends as `rate_limited` instead of waiting without end.
   */
  maxThrottleWaitSecs?: number;
  /**
   * A `ModalClient` to use instead of one built from the credentials (the test and bundling seam).
   * The provider never closes an injected client.
   */
  client?: ModalSdkClient;
  /** The `modal` module (or a stand-in). Default: the installed `modal`, imported at the first request. */
  sdk?: ModalSdk;
}

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const modalSettingsSchema = z.strictObject({
  tokenId: z.string().min(1).optional(),
  tokenSecret: z.string().min(1).optional(),
  environment: z.string().min(1).optional(),
  appName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a Modal app name (letters, digits, . _ -)")
    .optional(),
  image: z.string().min(1).optional(),
  regions: z.array(z.string().min(1)).optional(),
  gpuTypes: z.array(z.string().min(1)).optional(),
  maxGpuCount: z.number().int().positive().optional(),
  maxCpu: z.number().positive().optional(),
  maxMemoryMb: z.number().int().positive().optional(),
  maxTimeoutMs: z.number().int().positive().optional(),
  defaultTtlMs: z.number().int().min(1000).optional(),
  defaultTimeoutMs: z.number().int().positive().optional(),
  maxThrottleWaitSecs: z.number().int().nonnegative().optional(),
});

/** The credentials the SDK takes. */
export interface ModalCredentials {
  tokenId: string;
  tokenSecret: string;
}

/** Reads an environment variable where a `process` exists, and nothing elsewhere. */
export function environmentValue(name: string): string | undefined {
  const environment = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = environment?.[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Finds both credentials in the settings or the environment. Called at the first request, so
 * constructing a provider never throws; the error names each missing setting and its environment
 * variable, never a value.
 */
export function resolveModalCredentials(
  settings: Pick<ModalSandboxProviderSettings, "tokenId" | "tokenSecret">,
  providerId: string,
): ModalCredentials {
  const found: Partial<ModalCredentials> = {};
  const missing: string[] = [];
  for (const key of ["tokenId", "tokenSecret"] as const) {
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
      `no Modal credentials: set ${missing.join(", ")}. The provider never uses the token of ~/.modal.toml.`,
      { providerId },
    );
  }
  return found as ModalCredentials;
}

/** What config needs of the `modal-sandbox` type, without the adapter (see `@sandport/modal/settings`). */
export const modalSandboxTypeInfo = {
  type: "modal-sandbox",
  description:
    "Modal sandboxes (containers, GPUs) through the official modal JavaScript SDK (token id and secret).",
  settingsSchema: modalSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: ModalSandboxProviderSettings) => modalCapabilities(settings),
} as const;
