/**
 * The `modal-function` provider: Modal Functions, the serverless grid for heavy or GPU work,
 * through the official `modal` JavaScript SDK (0.11).
 *
 * A team deploys sandport's runner once (`modal deploy runner/sandport_runner.py`); the provider
 * finds it by app and function name (`client.functions.fromName`, `FunctionGet`), binds a variant
 * with the request's GPU, cpu, memory and lifetime (`withOptions(...).instance()`,
 * `FunctionBindParams`, once per distinct set of options), and makes each `exec` / `runCode` one
 * call (`remote([request])`: `FunctionMap` + `FunctionGetOutputs`, CBOR both ways, blobs past
 * 2 MiB). A sandbox's files live with the caller and travel with every call (see
 * `modal-function-sandbox.ts`).
 */
import { randomBytes } from "node:crypto";
import {
  AbortedError,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  InvalidRequestError,
  type ListFilter,
  matchesLabels,
  NotFoundError,
  type ProviderCapabilities,
  type ProviderDiagnosis,
  parseCreateSandboxRequest,
  parseProviderOptions,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
  unsupportedReasons,
  vendorIdFor,
} from "@sandport/core";
import * as z from "zod";
import { FunctionWorkspace } from "./function-workspace.ts";
import {
  errorFromRunnerCall,
  errorFromRunnerLookup,
  type ModalRunnerFunction,
  parseRunnerReply,
  type RunnerLocation,
  type RunnerReply,
  type RunnerRequest,
  runnerDeployCommand,
} from "./modal-function-call.ts";
import { modalFunctionCapabilities } from "./modal-function-capabilities.ts";
import {
  expire,
  type FunctionSandboxContext,
  type FunctionSandboxState,
  ModalFunctionSandbox,
} from "./modal-function-sandbox.ts";
import {
  defaultMaxWorkspaceBytes,
  defaultRunnerAppName,
  defaultRunnerFunctionName,
  type ModalFunctionProviderSettings,
  type ModalFunctionSdk,
  modalFunctionTypeInfo,
} from "./modal-function-settings.ts";
import { wholeSeconds } from "./modal-request-mapping.ts";
import {
  credentialEnvironmentVariables,
  environmentValue,
  type ModalSdkClient,
  resolveModalCredentials,
} from "./modal-settings.ts";

export type { ModalFunctionProviderSettings } from "./modal-function-settings.ts";

/** Strict schema of `providerOptions[providerId]`: nothing yet, so any key is refused, not ignored. */
export const modalFunctionProviderOptionsSchema = z.strictObject({});

/** The function options a sandbox's calls run with (the SDK's `withOptions` parameters used). */
export interface ModalFunctionCallOptions {
  /** `"A100"` or `"H100:2"`. */
  gpu?: string;
  cpu?: number;
  memoryMiB?: number;
  /** The sandbox's `ttlMs` in whole seconds: Modal ends any call of the sandbox there. */
  timeoutMs?: number;
}

/**
 * Checks `request` against what a function call can honour and maps it to function options.
 * Everything else is refused before any call with `UnsupportedCapabilityError`.
 */
export function mapFunctionRequest(
  providerId: string,
  capabilities: ProviderCapabilities,
  request: CreateSandboxRequest,
): ModalFunctionCallOptions {
  parseProviderOptions(providerId, request, modalFunctionProviderOptionsSchema);
  const reasons = unsupportedReasons(capabilities, request);
  if (reasons.length > 0) {
    throw new UnsupportedCapabilityError(`provider "${providerId}" does not support: ${reasons.join("; ")}`, {
      providerId,
    });
  }
  const options: ModalFunctionCallOptions = {};
  const resources = request.resources;
  if (resources?.gpu !== undefined) {
    const { type, count } = resources.gpu;
    options.gpu = count === 1 ? type : `${type}:${count}`;
  }
  if (resources?.cpu !== undefined) options.cpu = resources.cpu;
  if (resources?.memoryMb !== undefined) options.memoryMiB = resources.memoryMb;
  if (request.ttlMs !== undefined) options.timeoutMs = wholeSeconds(request.ttlMs);
  return options;
}

interface Connection {
  sdk: ModalFunctionSdk;
  client: ModalSdkClient;
  owned: boolean;
}

/** Ids as this provider mints them: `fn-` and 24 letters or digits. */
const vendorIdPattern = /^fn-[A-Za-z0-9]{24}$/;

function newVendorId(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  return `fn-${[...randomBytes(24)].map((byte) => alphabet[byte % alphabet.length]).join("")}`;
}

/** The provider. Constructing it sends nothing, reads no credential and imports no SDK. */
export class ModalFunctionProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: ModalFunctionProviderSettings;
  readonly #location: RunnerLocation;
  #connection: Promise<Connection> | undefined;
  #runner: Promise<ModalRunnerFunction> | undefined;
  /** Bound variants by their options, so one set of options is bound once. */
  readonly #variants = new Map<string, Promise<ModalRunnerFunction>>();
  readonly #sandboxes = new Map<string, FunctionSandboxState>();

  constructor(settings: ModalFunctionProviderSettings = {}) {
    this.providerId = settings.providerId ?? "modal-function";
    this.capabilities = modalFunctionCapabilities(settings);
    this.#settings = settings;
    this.#location = {
      appName: settings.appName ?? defaultRunnerAppName,
      functionName: settings.functionName ?? defaultRunnerFunctionName,
      environment: settings.environment,
    };
  }

  /** The SDK and its client, once per provider; credentials are checked before the SDK is imported. */
  #connect(): Promise<Connection> {
    if (this.#connection !== undefined) return this.#connection;
    const injected = this.#settings.client;
    const credentials =
      injected === undefined ? resolveModalCredentials(this.#settings, this.providerId) : undefined;
    this.#connection = (async () => {
      const sdk: ModalFunctionSdk = this.#settings.sdk ?? (await import("modal"));
      if (injected !== undefined) return { sdk, client: injected, owned: false };
      const client = new sdk.ModalClient({
        ...credentials,
        ...(this.#settings.environment === undefined ? {} : { environment: this.#settings.environment }),
        maxThrottleWaitSecs: this.#settings.maxThrottleWaitSecs ?? 30,
      });
      return { sdk, client, owned: true };
    })();
    this.#connection.catch(() => {
      this.#connection = undefined;
    });
    return this.#connection;
  }

  /** The deployed runner (`FunctionGet`), looked up once; a missing deployment says how to deploy it. */
  #deployedRunner({ sdk, client }: Connection): Promise<ModalRunnerFunction> {
    this.#runner ??= (async () => {
      try {
        return await client.functions.fromName(this.#location.appName, this.#location.functionName, {
          ...(this.#location.environment === undefined ? {} : { environment: this.#location.environment }),
        });
      } catch (error) {
        throw errorFromRunnerLookup(
          error,
          sdk,
          { providerId: this.providerId, operation: "looking up the runner" },
          this.#location,
        );
      }
    })();
    this.#runner.catch(() => {
      this.#runner = undefined;
    });
    return this.#runner;
  }

  /** The runner bound to `options` (`FunctionBindParams`), or the deployed one when there are none. */
  #variant(connection: Connection, options: ModalFunctionCallOptions): Promise<ModalRunnerFunction> {
    const key = JSON.stringify(options);
    let variant = this.#variants.get(key);
    if (variant === undefined) {
      variant = (async () => {
        const runner = await this.#deployedRunner(connection);
        if (Object.keys(options).length === 0) return runner;
        try {
          return await runner.withOptions(options).instance();
        } catch (error) {
          throw errorFromRunnerCall(
            error,
            connection.sdk,
            { providerId: this.providerId, operation: "binding the runner's options" },
            this.#location.environment,
          );
        }
      })();
      this.#variants.set(key, variant);
      variant.catch(() => this.#variants.delete(key));
    }
    return variant;
  }

  #context(connection: Connection): FunctionSandboxContext {
    return {
      providerId: this.providerId,
      runtimes: this.capabilities.runtimes,
      defaultTimeoutMs: this.#settings.defaultTimeoutMs,
      call: (runner, request, operation) => this.#call(connection, runner, request, operation),
      forget: (vendorId) => this.#sandboxes.delete(vendorId),
    };
  }

  async #call(
    connection: Connection,
    runner: ModalRunnerFunction,
    request: RunnerRequest,
    operation: string,
  ): Promise<RunnerReply> {
    let value: unknown;
    try {
      value = await runner.remote([request]);
    } catch (error) {
      throw errorFromRunnerCall(
        error,
        connection.sdk,
        { providerId: this.providerId, operation },
        this.#location.environment,
      );
    }
    return parseRunnerReply(value, this.providerId, this.#location.environment);
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<ModalFunctionSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<ModalFunctionSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    const callOptions = mapFunctionRequest(this.providerId, this.capabilities, parsed);
    const signal = options?.signal;
    throwIfAborted(signal, this.providerId);
    const connection = await this.#connect();
    // The lookup (and bind) happen here, so a missing runner or refused options fail at create.
    const variant = this.#variant(connection, callOptions);
    const runner = await (signal === undefined
      ? variant
      : new Promise<ModalRunnerFunction>((resolve, reject) => {
          const onAbort = () =>
            reject(
              new AbortedError("sandbox creation was aborted", {
                cause: signal.reason,
                providerId: this.providerId,
              }),
            );
          if (signal.aborted) onAbort();
          signal.addEventListener("abort", onAbort, { once: true });
          variant.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
        }));
    // Nothing exists at Modal yet: a create aborted by now has nothing to clean up.
    throwIfAborted(signal, this.providerId);
    const createdAt = new Date();
    const state: FunctionSandboxState = {
      vendorId: newVendorId(),
      createdAt,
      expiresAt: parsed.ttlMs === undefined ? undefined : createdAt.getTime() + parsed.ttlMs,
      labels: { ...parsed.labels },
      env: { ...parsed.env },
      workspace: new FunctionWorkspace(
        this.providerId,
        this.#settings.maxWorkspaceBytes ?? defaultMaxWorkspaceBytes,
      ),
      runner,
      destroyed: false,
      gone: new AbortController(),
    };
    this.#sandboxes.set(state.vendorId, state);
    const context = this.#context(connection);
    if (state.expiresAt !== undefined) {
      // Frees the files once the ttl has run out, even if no call comes to notice.
      setTimeout(() => expire(state, context), state.expiresAt - Date.now()).unref?.();
    }
    return new ModalFunctionSandbox(context, state);
  }

  /**
   * A sandbox of this provider instance, by id. Its files live in this process: a sandbox made by
   * another process (or before a restart) is `not_found`.
   */
  connect(sandboxId: string, options?: CallOptions): Promise<ModalFunctionSandbox> {
    return (async () => {
      const vendorId = vendorIdFor(this.providerId, sandboxId);
      if (!vendorIdPattern.test(vendorId)) {
        throw new InvalidRequestError(`sandbox id "${sandboxId}": not a ${this.providerId} sandbox id`, {
          providerId: this.providerId,
        });
      }
      throwIfAborted(options?.signal, this.providerId);
      const state = this.#live(vendorId);
      if (state === undefined) {
        throw new NotFoundError(
          `sandbox ${sandboxId} does not exist here (destroyed, expired, or made by another process: modal-function sandboxes live with their provider)`,
          { providerId: this.providerId },
        );
      }
      return new ModalFunctionSandbox(this.#context(await this.#connect()), state);
    })().catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  #live(vendorId: string): FunctionSandboxState | undefined {
    const state = this.#sandboxes.get(vendorId);
    if (state === undefined) return undefined;
    if (state.expiresAt !== undefined && Date.now() >= state.expiresAt) {
      expire(state, { forget: (id) => this.#sandboxes.delete(id) });
      return undefined;
    }
    return state;
  }

  /** The live sandboxes of this provider instance, filtered by labels. */
  list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    return this.#list(filter, options);
  }

  async *#list(filter?: ListFilter, options?: CallOptions): AsyncGenerator<SandboxInfo> {
    throwIfAborted(options?.signal, this.providerId);
    for (const vendorId of [...this.#sandboxes.keys()]) {
      const state = this.#live(vendorId);
      if (state === undefined || !matchesLabels(state.labels, filter?.labels)) continue;
      yield { id: `${this.providerId}:${vendorId}`, createdAt: state.createdAt, labels: { ...state.labels } };
    }
  }

  /** Closes the client the provider built (an injected one is left open). Sandboxes and their files stay. */
  async dispose(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#runner = undefined;
    this.#variants.clear();
    if (connection === undefined) return;
    const resolved = await connection.catch(() => undefined);
    if (resolved?.owned) resolved.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Creates a `modal-function` provider. Nothing is sent and no credential read until the first call. */
export function createModalFunctionProvider(
  settings: ModalFunctionProviderSettings = {},
): ModalFunctionProvider {
  return new ModalFunctionProvider(settings);
}

/** Registry entry for `"type": "modal-function"` in sandport.json. */
export const modalFunctionProviderFactory = defineProviderFactory({
  ...modalFunctionTypeInfo,
  create: (settings, context) => createModalFunctionProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings) => modalFunctionCapabilities(settings),
  /** Reports which credentials are set (never their values) and how to deploy the runner. */
  async diagnose(settings, context): Promise<ProviderDiagnosis> {
    const missing = (["tokenId", "tokenSecret"] as const).filter(
      (key) => (settings[key] ?? environmentValue(credentialEnvironmentVariables[key]) ?? "") === "",
    );
    const lines = [
      "backend: Modal Functions (vendor cloud, autoscaled containers, GPUs) through the modal SDK 0.11",
      `runner: function "${settings.functionName ?? defaultRunnerFunctionName}" of app "${settings.appName ?? defaultRunnerAppName}" (deploy once: ${runnerDeployCommand(settings.environment)})`,
      missing.length === 0
        ? "credentials: tokenId and tokenSecret are set"
        : `credentials: missing ${missing.join(", ")}`,
      `endpoint: ${environmentValue("MODAL_SERVER_URL") ?? "https://api.modal.com (MODAL_SERVER_URL not set)"}`,
    ];
    if (missing.length === 0) return { usable: true, lines, details: { missing } };
    return {
      usable: false,
      lines,
      problem: `set ${missing
        .map((key) => `providers.${context.providerId}.${key} or ${credentialEnvironmentVariables[key]}`)
        .join(", ")}`,
      details: { missing },
    };
  },
});
