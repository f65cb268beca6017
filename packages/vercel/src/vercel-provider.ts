/**
 * The `vercel` provider: Vercel Sandbox microVMs through the official `@vercel/sandbox` SDK.
 */
import {
  AbortedError,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  encodeSandboxId,
  InvalidRequestError,
  type ListFilter,
  matchesLabels,
  NotFoundError,
  type ProviderCapabilities,
  type ProviderDiagnosis,
  ProviderUnavailableError,
  parseCreateSandboxRequest,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import type { Sandbox as VercelSdkSandbox } from "@vercel/sandbox";
import { vercelCapabilities } from "./vercel-capabilities.ts";
import { errorFromVercel } from "./vercel-errors.ts";
import { mapCreateRequest, sandboxNamePattern } from "./vercel-request-mapping.ts";
import { VercelSandbox, type VercelSandboxContext } from "./vercel-sandbox.ts";
import {
  credentialEnvironmentVariables,
  resolveVercelCredentials,
  type VercelCredentials,
  type VercelProviderSettings,
  type VercelSdk,
  vercelTypeInfo,
} from "./vercel-settings.ts";

export type { VercelProviderSettings } from "./vercel-settings.ts";

/** Session states of a sandbox that is alive (anything else has ended or failed). */
const liveStatuses = new Set(["pending", "running"]);

/** The provider. Constructing it sends nothing, reads no credential and imports no SDK. */
export class VercelProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: VercelProviderSettings;
  #connection: Promise<{ sdk: VercelSdk; credentials: VercelCredentials }> | undefined;
  readonly #destroyed = new Set<string>();

  constructor(settings: VercelProviderSettings = {}) {
    this.providerId = settings.providerId ?? "vercel";
    this.capabilities = vercelCapabilities(settings);
    this.#settings = settings;
  }

  /**
   * The SDK and the credentials, resolved once per provider at the first call. Credentials are
   * checked before the SDK is even imported, so a missing one never reaches the SDK's OIDC lookup
   * or its interactive login.
   */
  #connect(): Promise<{ sdk: VercelSdk; credentials: VercelCredentials }> {
    if (this.#connection !== undefined) return this.#connection;
    // Throws (and caches nothing) while a credential is missing.
    const credentials = resolveVercelCredentials(this.#settings, this.providerId);
    this.#connection = (async () => ({
      sdk: this.#settings.sdk ?? (await import("@vercel/sandbox")),
      credentials,
    }))();
    return this.#connection;
  }

  /** What every SDK call takes: the three credentials together, and the injected fetch. */
  #access(credentials: VercelCredentials) {
    return { ...credentials, ...(this.#settings.fetch === undefined ? {} : { fetch: this.#settings.fetch }) };
  }

  #context(sdk: VercelSdk): VercelSandboxContext {
    return {
      providerId: this.providerId,
      sdk,
      runtimes: this.capabilities.runtimes,
      defaultTimeoutMs: this.#settings.defaultTimeoutMs,
      destroyed: this.#destroyed,
    };
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<VercelSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  /**
   * The create request is never cut by the caller's signal: Vercel may make the sandbox even when
   * the connection drops, and the adapter would not know its name to delete it. An abort rejects
   * at once instead, and the sandbox the request makes afterwards is destroyed.
   */
  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<VercelSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    const parameters = mapCreateRequest(this.providerId, this.capabilities, parsed, this.#settings.ports);
    const signal = options?.signal;
    throwIfAborted(signal, this.providerId);
    const { sdk, credentials } = await this.#connect();
    throwIfAborted(signal, this.providerId);
    const creating = this.#createAndCheck(sdk, { ...parameters, ...this.#access(credentials) });
    if (signal === undefined) return creating;
    return new Promise<VercelSandbox>((resolve, reject) => {
      const onAbort = () =>
        reject(new AbortedError("create: aborted", { cause: signal.reason, providerId: this.providerId }));
      signal.addEventListener("abort", onAbort, { once: true });
      creating.then(
        (sandbox) => {
          signal.removeEventListener("abort", onAbort);
          if (!signal.aborted) return resolve(sandbox);
          // The caller gave up while the sandbox started: it gets nothing, and nothing is left behind.
          sandbox.destroy().catch(() => {});
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * `Sandbox.create`, then the checks of its answer. A sandbox whose answer fails a check is
   * destroyed before the error leaves: it was made, and nobody else knows it.
   */
  async #createAndCheck(
    sdk: VercelSdk,
    parameters: Parameters<VercelSdk["Sandbox"]["create"]>[0] & { ports: number[] },
  ): Promise<VercelSandbox> {
    let created: VercelSdkSandbox;
    try {
      created = await sdk.Sandbox.create(parameters);
    } catch (error) {
      throw errorFromVercel(error, sdk, { providerId: this.providerId, operation: "create" });
    }
    const sandbox = new VercelSandbox(this.#context(sdk), created);
    // Every declared port needs its route, or exposePort could not keep its promise.
    const routed = new Set(created.routes.map((route) => route.port));
    const missing = parameters.ports.filter((port) => !routed.has(port));
    if (missing.length > 0) {
      await sandbox.destroy().catch(() => {});
      throw new ProviderUnavailableError(
        `create (Vercel API): the answer has no route for declared port ${missing.join(", ")}; the sandbox was destroyed`,
        { providerId: this.providerId },
      );
    }
    return sandbox;
  }

  /** `GET /v2/sandboxes/{name}` without resuming: a sandbox whose session ended is `not_found`. */
  connect(sandboxId: string, options?: CallOptions): Promise<VercelSandbox> {
    return this.#connectSandbox(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connectSandbox(sandboxId: string, options?: CallOptions): Promise<VercelSandbox> {
    const name = vendorIdFor(this.providerId, sandboxId);
    if (!sandboxNamePattern.test(name)) {
      throw new InvalidRequestError(`sandbox id "${sandboxId}": not a Vercel sandbox name`, {
        providerId: this.providerId,
      });
    }
    throwIfAborted(options?.signal, this.providerId);
    if (this.#destroyed.has(name)) {
      throw new NotFoundError(`sandbox ${sandboxId} was destroyed`, { providerId: this.providerId });
    }
    const { sdk, credentials } = await this.#connect();
    let found: VercelSdkSandbox;
    try {
      found = await sdk.Sandbox.get({
        name,
        resume: false,
        ...this.#access(credentials),
        ...(options?.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      throw errorFromVercel(error, sdk, { providerId: this.providerId, operation: `connect ${sandboxId}` });
    }
    if (!liveStatuses.has(found.status)) {
      throw new NotFoundError(`sandbox ${sandboxId} has ended (its session is ${found.status})`, {
        providerId: this.providerId,
      });
    }
    return new VercelSandbox(this.#context(sdk), found);
  }

  /**
   * Live sandboxes of the project. Vercel filters by one tag on its side; the other labels are
   * matched here.
   */
  list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    return this.#list(filter, options);
  }

  async *#list(filter?: ListFilter, options?: CallOptions): AsyncGenerator<SandboxInfo> {
    let sdk: VercelSdk | undefined;
    try {
      const connection = await this.#connect();
      sdk = connection.sdk;
      const [first] = Object.entries(filter?.labels ?? {});
      // The SDK types `tags` as a single-key literal; one key is what is sent.
      const parameters = {
        ...this.#access(connection.credentials),
        ...(first === undefined ? {} : { tags: { [first[0]]: first[1] } }),
        ...(options?.signal === undefined ? {} : { signal: options.signal }),
      } as Parameters<VercelSdk["Sandbox"]["list"]>[0];
      const pages = await sdk.Sandbox.list(parameters);
      for await (const sandbox of pages) {
        if (!liveStatuses.has(sandbox.status)) continue;
        const labels = { ...sandbox.tags };
        if (!matchesLabels(labels, filter?.labels)) continue;
        yield {
          id: encodeSandboxId(this.providerId, sandbox.name),
          createdAt: new Date(sandbox.createdAt),
          labels,
        };
      }
    } catch (error) {
      if (sdk === undefined) throw toSandportError(error, this.providerId);
      throw errorFromVercel(error, sdk, { providerId: this.providerId, operation: "list" });
    }
  }
}

/** Creates a `vercel` provider. Nothing is sent and no credential read until the first call. */
export function createVercelProvider(settings: VercelProviderSettings = {}): VercelProvider {
  return new VercelProvider(settings);
}

/** Registry entry for `"type": "vercel"` in sandport.json. */
export const vercelProviderFactory = defineProviderFactory({
  ...vercelTypeInfo,
  create: (settings, context) => createVercelProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings) => vercelCapabilities(settings),
  /** Nothing local is needed; reports which credentials are set (never their values). */
  async diagnose(settings, context): Promise<ProviderDiagnosis> {
    const environment =
      (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
    const missing = (["token", "teamId", "projectId"] as const).filter(
      (key) => (settings[key] ?? environment[credentialEnvironmentVariables[key]] ?? "") === "",
    );
    const lines = [
      "backend: Vercel Sandbox (vendor cloud, microVMs) through @vercel/sandbox",
      missing.length === 0
        ? "credentials: token, teamId and projectId are set"
        : `credentials: missing ${missing.join(", ")}`,
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
