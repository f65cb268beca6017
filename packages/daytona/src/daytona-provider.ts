/** The `daytona` provider: Daytona sandboxes through the official `@daytonaio/sdk`. */
import type { Sandbox as DaytonaSdkSandbox } from "@daytonaio/sdk";
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
  parseCreateSandboxRequest,
  parseProviderOptions,
  SandboxFailedError,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import { daytonaCapabilities } from "./daytona-capabilities.ts";
import { DaytonaClients } from "./daytona-client.ts";
import { errorFromDaytona, mapDaytonaErrors } from "./daytona-errors.ts";
import { assertCreateSupported, createParams } from "./daytona-request-mapping.ts";
import { type DaytonaSandboxContext, DaytonaSandboxHandle } from "./daytona-sandbox.ts";
import {
  apiKeyEnvironmentVariable,
  type DaytonaProviderSettings,
  daytonaTypeInfo,
  defaultTarget,
  defaultTtlMs,
  environmentValue,
} from "./daytona-settings.ts";

export type { DaytonaProviderSettings } from "./daytona-settings.ts";

/** Labels the SDK adds to every sandbox it creates; not the caller's, so not reported by `list`. */
const sdkLabels = new Set(["code-toolbox-language"]);
/** States in which a sandbox no longer exists for sandport. */
const goneStates = new Set(["destroyed", "destroying"]);
const failedStates = new Set(["error", "build_failed"]);
/** Node's timers cannot wait longer; Daytona's own lifetime reaps such sandboxes anyway. */
const maxTimerMs = 2 ** 31 - 1;

/** The provider. Constructing it sends nothing and reads no credential. */
export class DaytonaProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: DaytonaProviderSettings;
  readonly #clients: DaytonaClients;
  readonly #context: DaytonaSandboxContext;
  /** Exact-lifetime timers of the sandboxes this instance created (Daytona counts whole minutes). */
  readonly #lifetimes = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(settings: DaytonaProviderSettings = {}) {
    this.#settings = settings;
    this.providerId = settings.providerId ?? "daytona";
    this.capabilities = daytonaCapabilities(settings);
    this.#clients = new DaytonaClients(settings, this.providerId);
    this.#context = {
      providerId: this.providerId,
      runtimes: this.capabilities.runtimes,
      defaultTimeoutMs: settings.defaultTimeoutMs,
      onDestroyed: (vendorId) => {
        const timer = this.#lifetimes.get(vendorId);
        if (timer !== undefined) clearTimeout(timer);
        this.#lifetimes.delete(vendorId);
      },
    };
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<DaytonaSandboxHandle> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<DaytonaSandboxHandle> {
    const parsed = parseCreateSandboxRequest(request);
    // Nothing Daytona-specific is taken yet: any key is refused, never ignored.
    parseProviderOptions(this.providerId, parsed);
    assertCreateSupported(this.providerId, this.capabilities, parsed);
    const signal = options?.signal;
    throwIfAborted(signal, this.providerId);
    const plan = createParams(parsed, {
      defaultTtlMs: this.#settings.defaultTtlMs ?? defaultTtlMs,
      target: defaultTarget(this.#settings),
    });
    const client = await this.#clients.get(plan.target);
    // The first client may have waited for the SDK to load: an abort meanwhile created nothing.
    throwIfAborted(signal, this.providerId);
    // A name of our own, so a sandbox whose create failed after Daytona made it can still be found
    // and deleted (the SDK's error does not carry the id).
    const name = `sandport-${crypto.randomUUID()}`;
    const timeoutSeconds = Math.ceil((this.#settings.createTimeoutMs ?? 60_000) / 1000);
    const creating = client.create({ ...plan.params, name }, { timeout: timeoutSeconds }).then(
      (sandbox) => sandbox,
      async (error: unknown) => {
        const mapped = errorFromDaytona(error, { providerId: this.providerId, operation: "create" });
        if (mapped.code !== "authentication" && mapped.code !== "permission_denied") {
          await client
            .get(name)
            .then((orphan) => orphan.delete())
            .catch(() => {});
        }
        throw mapped;
      },
    );
    const sandbox = await this.#raceAbort(creating, signal);
    const handle = new DaytonaSandboxHandle(this.#context, sandbox);
    if (plan.ttlMs !== undefined && plan.ttlMs <= maxTimerMs) {
      // Daytona's lifetime is whole minutes (rounded up); while this process lives the sandbox also
      // ends at the exact ttlMs. A crash leaves Daytona's own lifetime to reap it.
      const timer = setTimeout(() => {
        this.#lifetimes.delete(handle.vendorId);
        handle.destroy().catch(() => {});
      }, plan.ttlMs);
      timer.unref?.();
      this.#lifetimes.set(handle.vendorId, timer);
    }
    return handle;
  }

  /**
   * Rejects with `AbortedError` as soon as `signal` fires; a sandbox that finishes creating after
   * that is deleted, so nothing is left behind.
   */
  #raceAbort(
    creating: Promise<DaytonaSdkSandbox>,
    signal: AbortSignal | undefined,
  ): Promise<DaytonaSdkSandbox> {
    if (signal === undefined) return creating;
    return new Promise((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(
          new AbortedError("sandbox creation was aborted", {
            cause: signal.reason,
            providerId: this.providerId,
          }),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
      creating.then(
        (sandbox) => {
          signal.removeEventListener("abort", onAbort);
          if (settled) {
            sandbox.delete().catch(() => {});
            return;
          }
          settled = true;
          resolve(sandbox);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          if (settled) return;
          settled = true;
          reject(error);
        },
      );
    });
  }

  /**
   * Gets the sandbox by id. A destroyed one is `not_found`; one in an error state is
   * `sandbox_failed`; a stopped, paused or archived one is started again.
   */
  connect(sandboxId: string, options?: CallOptions): Promise<DaytonaSandboxHandle> {
    return this.#connect(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connect(sandboxId: string, options?: CallOptions): Promise<DaytonaSandboxHandle> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(vendorId)) {
      throw new InvalidRequestError(`sandbox id "${sandboxId}": not a Daytona sandbox id`, {
        providerId: this.providerId,
      });
    }
    throwIfAborted(options?.signal, this.providerId);
    const client = await this.#clients.get(undefined);
    const context = { providerId: this.providerId, operation: "connect" };
    const sandbox = await mapDaytonaErrors(context, () => client.get(vendorId));
    // Only by id: a name would let `connect` reach a sandbox sandport never handed out.
    if (sandbox.id !== vendorId) {
      throw new NotFoundError(`sandbox ${sandboxId} does not exist`, { providerId: this.providerId });
    }
    const state = String(sandbox.state ?? "");
    if (goneStates.has(state)) {
      throw new NotFoundError(`sandbox ${sandboxId} was destroyed`, { providerId: this.providerId });
    }
    if (failedStates.has(state)) {
      throw new SandboxFailedError(`sandbox ${sandboxId} is in Daytona state "${state}"`, {
        providerId: this.providerId,
      });
    }
    if (state !== "started") {
      const timeoutSeconds = Math.ceil((this.#settings.createTimeoutMs ?? 60_000) / 1000);
      await mapDaytonaErrors(context, () =>
        state === "starting" ? sandbox.waitUntilStarted(timeoutSeconds) : sandbox.start(timeoutSeconds),
      );
    }
    return new DaytonaSandboxHandle(this.#context, sandbox);
  }

  /** Lists live sandboxes carrying every label of `filter` (filtered by Daytona, and checked here). */
  list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    return this.#list(filter, options);
  }

  async *#list(filter?: ListFilter, options?: CallOptions): AsyncGenerator<SandboxInfo> {
    const context = { providerId: this.providerId, operation: "list" };
    try {
      throwIfAborted(options?.signal, this.providerId);
      const client = await this.#clients.get(undefined);
      const labels = filter?.labels;
      const query =
        labels === undefined || Object.keys(labels).length === 0 ? undefined : { labels: { ...labels } };
      for await (const sandbox of client.list(query)) {
        throwIfAborted(options?.signal, this.providerId);
        if (goneStates.has(String(sandbox.state ?? ""))) continue;
        const own = Object.fromEntries(
          Object.entries(sandbox.labels ?? {}).filter(([key]) => !sdkLabels.has(key)),
        );
        if (!matchesLabels(sandbox.labels ?? {}, labels)) continue;
        yield {
          id: encodeSandboxId(this.providerId, sandbox.id),
          createdAt: new Date(sandbox.createdAt ?? 0),
          labels: own,
        };
      }
    } catch (error) {
      throw errorFromDaytona(error, context);
    }
  }

  /** Stops the exact-lifetime timers and releases the SDK clients. Sandboxes live on (with their Daytona lifetime). */
  async dispose(): Promise<void> {
    for (const timer of this.#lifetimes.values()) clearTimeout(timer);
    this.#lifetimes.clear();
    await this.#clients.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Creates a `daytona` provider. Nothing is sent and no credential read until the first call. */
export function createDaytonaProvider(settings: DaytonaProviderSettings = {}): DaytonaProvider {
  return new DaytonaProvider(settings);
}

/** What `sandport doctor` can tell without a network call: whether a key is configured. */
async function diagnoseDaytona(
  settings: DaytonaProviderSettings,
  providerId: string,
): Promise<ProviderDiagnosis> {
  const hasKey = settings.apiKey !== undefined || environmentValue(apiKeyEnvironmentVariable) !== undefined;
  const target = defaultTarget(settings);
  const lines = [
    `api key: ${hasKey ? "configured" : "missing"}`,
    `target: ${target ?? "organization default"}`,
  ];
  if (hasKey) return { usable: true, lines, details: { apiKey: true, target: target ?? null } };
  return {
    usable: false,
    lines,
    problem: `no Daytona API key: set providers.${providerId}.apiKey or ${apiKeyEnvironmentVariable}`,
    details: { apiKey: false, target: target ?? null },
  };
}

/** Registry entry for `"type": "daytona"` in sandport.json. */
export const daytonaProviderFactory = defineProviderFactory({
  ...daytonaTypeInfo,
  create: (settings, context) => createDaytonaProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings) => daytonaCapabilities(settings),
  diagnose: (settings, context) => diagnoseDaytona(settings, context.providerId),
});
