/** Settings of the `modal-function` provider, their config schema and its type info. */
import { runtimes } from "@sandport/core";
import * as z from "zod";
import { modalFunctionCapabilities } from "./modal-function-capabilities.ts";
import type { ModalSdkClient } from "./modal-settings.ts";

/** The app the shipped runner deploys as (`APP_NAME` in runner/sandport_runner.py). */
export const defaultRunnerAppName = "sandport-runner";

/** The runner's function name in its app (`FUNCTION_NAME` in runner/sandport_runner.py). */
export const defaultRunnerFunctionName = "run";

/** Most bytes of files a sandbox holds by default: they travel with every call. */
export const defaultMaxWorkspaceBytes = 256 * 1024 * 1024;

/** The part of the `modal` SDK the `modal-function` provider uses. */
export type ModalFunctionSdk = Pick<
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
  | "FunctionTimeoutError"
  | "RemoteError"
  | "InternalFailure"
>;

/** Settings of {@link createModalFunctionProvider}. Every field is optional. */
export interface ModalFunctionProviderSettings {
  /** Instance name; prefixes sandbox ids. Default `"modal-function"`. */
  providerId?: string;
  /** Modal token id. Default: `MODAL_TOKEN_ID`. Read at the first request; never taken from `~/.modal.toml`. */
  tokenId?: string;
  /** Modal token secret. Default: `MODAL_TOKEN_SECRET`. Never logged, never put in an error message. */
  tokenSecret?: string;
  /** The Modal environment the runner is deployed in. Default: the SDK's (`MODAL_ENVIRONMENT`). */
  environment?: string;
  /** The app of the deployed runner. Default `"sandport-runner"` (as in runner/sandport_runner.py). */
  appName?: string;
  /** The runner's function name. Default `"run"`. */
  functionName?: string;
  /**
   * Languages the runner's image has. Default `["shell", "python"]` (the shipped runner's
   * `debian_slim` image); add `"javascript"` only after adding Node.js to that image.
   */
  runtimes?: readonly ("shell" | "python" | "javascript" | "typescript")[];
  /** GPU types a request may name. Default: Modal's ({@link defaultModalGpuTypes}). */
  gpuTypes?: readonly string[];
  /** Most GPUs per call. Default 8. */
  maxGpuCount?: number;
  /** Most vCPUs per call. Default 64. */
  maxCpu?: number;
  /** Most memory per call, MiB. Default 344064 (336 GiB). */
  maxMemoryMb?: number;
  /** Longest `ttlMs` (sent as the function's timeout), ms. Default 24 hours. */
  maxTimeoutMs?: number;
  /** Timeout of commands that set no `timeoutMs`, ms. Default: none (the function's own timeout). */
  defaultTimeoutMs?: number;
  /** Most bytes of files one sandbox holds (they travel with every call). Default 256 MiB. */
  maxWorkspaceBytes?: number;
  /** Longest wait, seconds, when Modal asks the SDK to back off. Default 30. */
  maxThrottleWaitSecs?: number;
  /** A `ModalClient` to use instead of one built from the credentials (never closed by the provider). */
  client?: ModalSdkClient;
  /** The `modal` module (or a stand-in). Default: the installed `modal`, imported at the first request. */
  sdk?: ModalFunctionSdk;
}

const modalName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be a Modal name (letters, digits, . _ -)");

/** Strict schema of the settings as they appear in `sandport.json` (without `type`). */
export const modalFunctionSettingsSchema = z.strictObject({
  tokenId: z.string().min(1).optional(),
  tokenSecret: z.string().min(1).optional(),
  environment: z.string().min(1).optional(),
  appName: modalName.optional(),
  functionName: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a Python function name")
    .optional(),
  runtimes: z.array(z.enum(runtimes)).min(1).optional(),
  gpuTypes: z.array(z.string().min(1)).optional(),
  maxGpuCount: z.number().int().positive().optional(),
  maxCpu: z.number().positive().optional(),
  maxMemoryMb: z.number().int().positive().optional(),
  maxTimeoutMs: z.number().int().positive().optional(),
  defaultTimeoutMs: z.number().int().positive().optional(),
  maxWorkspaceBytes: z.number().int().positive().optional(),
  maxThrottleWaitSecs: z.number().int().nonnegative().optional(),
});

/** What config needs of the `modal-function` type, without the adapter (see `@sandport/modal/settings`). */
export const modalFunctionTypeInfo = {
  type: "modal-function",
  description:
    "Modal Functions (autoscaled containers, GPUs): each run is one call of sandport's runner, deployed once with `modal deploy`.",
  settingsSchema: modalFunctionSettingsSchema,
  // Light: the capabilities module imports nothing of the adapter, so a router can decide before loading it.
  capabilities: (settings: ModalFunctionProviderSettings) => modalFunctionCapabilities(settings),
} as const;
