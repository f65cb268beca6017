/**
 * The `modal-sandbox` provider: Modal sandboxes (gVisor containers, with GPUs) through the official
 * `modal` JavaScript SDK (0.11).
 *
 * The SDK takes its endpoint only from `MODAL_SERVER_URL` (read when the client is built) and reads
 * `~/.modal.toml` when it is imported unless `MODAL_CONFIG_PATH` names another file. The provider
 * imports the SDK at its first call, builds one `ModalClient` per provider instance with the
 * credentials from the settings or `MODAL_TOKEN_ID` / `MODAL_TOKEN_SECRET` (never the token of
 * `~/.modal.toml`), and accepts an injected client instead.
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
  parseCreateSandboxRequest,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import { modalCapabilities } from "./modal-capabilities.ts";
import { errorFromModal } from "./modal-errors.ts";
import type { ModalSdkSandbox } from "./modal-exec.ts";
import { type ModalCreateParameters, mapCreateRequest, sandboxIdPattern } from "./modal-request-mapping.ts";
import { ModalSandbox, type ModalSandboxContext } from "./modal-sandbox.ts";
import {
  credentialEnvironmentVariables,
  defaultModalImage,
  defaultSandboxTtlMs,
  environmentValue,
  type ModalSandboxProviderSettings,
  type ModalSdk,
  type ModalSdkClient,
  modalSandboxTypeInfo,
  resolveModalCredentials,
} from "./modal-settings.ts";

export type { ModalSandboxProviderSettings } from "./modal-settings.ts";

type ModalApp = Awaited<ReturnType<ModalSdkClient["apps"]["fromName"]>>;
type ModalImage = ReturnType<ModalSdkClient["images"]["fromRegistry"]>;

interface Connection {
  sdk: ModalSdk;
  client: ModalSdkClient;
  /** Whether the provider built the client (and so closes it on dispose). */
  owned: boolean;
}

/** The provider. Constructing it sends nothing, reads no credential and imports no SDK. */
export class ModalSandboxProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: ModalSandboxProviderSettings;
  #connection: Promise<Connection> | undefined;
  #app: Promise<ModalApp> | undefined;
  readonly #images = new Map<string, ModalImage>();
  readonly #destroyed = new Set<string>();

  constructor(settings: ModalSandboxProviderSettings = {}) {
    this.providerId = settings.providerId ?? "modal-sandbox";
    this.capabilities = modalCapabilities(settings);
    this.#settings = settings;
  }

  /**
   * The SDK and its client, resolved once per provider at the first call. Credentials are checked
   * before the SDK is even imported, so a missing one never reaches the SDK's profile lookup.
   */
  #connect(): Promise<Connection> {
    if (this.#connection !== undefined) return this.#connection;
    const injected = this.#settings.client;
    // Throws (and caches nothing) while a credential is missing.
    const credentials =
      injected === undefined ? resolveModalCredentials(this.#settings, this.providerId) : undefined;
    this.#connection = (async () => {
      const sdk: ModalSdk = this.#settings.sdk ?? (await import("modal"));
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

  /** The app every sandbox belongs to, looked up (or created) once. */
  #appOf(client: ModalSdkClient): Promise<ModalApp> {
    this.#app ??= client.apps.fromName(this.#settings.appName ?? "sandport", {
      createIfMissing: true,
      ...(this.#settings.environment === undefined ? {} : { environment: this.#settings.environment }),
    });
    this.#app.catch(() => {
      this.#app = undefined;
    });
    return this.#app;
  }

  /** One image object per tag: once built, its id is reused and the build is not asked again. */
  #imageOf(client: ModalSdkClient, tag: string): ModalImage {
    let image = this.#images.get(tag);
    if (image === undefined) {
      image = client.images.fromRegistry(tag);
      this.#images.set(tag, image);
    }
    return image;
  }

  #context(sdk: ModalSdk): ModalSandboxContext {
    return {
      providerId: this.providerId,
      sdk,
      runtimes: this.capabilities.runtimes,
      defaultTimeoutMs: this.#settings.defaultTimeoutMs,
      destroyed: this.#destroyed,
    };
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<ModalSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<ModalSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    const parameters = mapCreateRequest(
      this.providerId,
      this.capabilities,
      parsed,
      this.#settings.defaultTtlMs ?? defaultSandboxTtlMs,
    );
    const signal = options?.signal;
    throwIfAborted(signal, this.providerId);
    const { sdk, client } = await this.#connect();
    const creating = this.#createSandbox(
      sdk,
      client,
      parameters,
      parsed.image ?? this.#settings.image ?? defaultModalImage,
    );
    if (signal === undefined) return creating;
    // The SDK's create takes no signal: the caller is answered at once, and a sandbox that
    // finishes creating afterwards is terminated instead of leaking.
    return new Promise<ModalSandbox>((resolve, reject) => {
      const onAbort = () =>
        reject(
          new AbortedError("sandbox creation was aborted", {
            cause: signal.reason,
            providerId: this.providerId,
          }),
        );
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      creating.then(
        (sandbox) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) {
            void sandbox.destroy().catch(() => {});
            return;
          }
          resolve(sandbox);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  async #createSandbox(
    sdk: ModalSdk,
    client: ModalSdkClient,
    parameters: ModalCreateParameters,
    imageTag: string,
  ): Promise<ModalSandbox> {
    const operation = { providerId: this.providerId, operation: "create" };
    let created: ModalSdkSandbox;
    try {
      const app = await this.#appOf(client);
      created = await client.sandboxes.create(app, this.#imageOf(client, imageTag), parameters);
    } catch (error) {
      throw errorFromModal(error, sdk, operation);
    }
    return new ModalSandbox(this.#context(sdk), created);
  }

  /**
   * Reattaches by id: `SandboxWaitV2` with no wait says whether the sandbox still runs; one that
   * has ended (or that Modal does not know) is `not_found`.
   */
  connect(sandboxId: string, options?: CallOptions): Promise<ModalSandbox> {
    return this.#connectSandbox(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connectSandbox(sandboxId: string, options?: CallOptions): Promise<ModalSandbox> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    if (!sandboxIdPattern.test(vendorId)) {
      throw new InvalidRequestError(`sandbox id "${sandboxId}": not a Modal sandbox id`, {
        providerId: this.providerId,
      });
    }
    throwIfAborted(options?.signal, this.providerId);
    if (this.#destroyed.has(vendorId)) {
      throw new NotFoundError(`sandbox ${sandboxId} was destroyed`, { providerId: this.providerId });
    }
    const { sdk, client } = await this.#connect();
    const context = { providerId: this.providerId, operation: `connect ${sandboxId}` };
    let found: ModalSdkSandbox;
    let exitCode: number | null;
    try {
      found = await client.sandboxes.fromId(vendorId);
      exitCode = await found.poll();
    } catch (error) {
      throw errorFromModal(error, sdk, context);
    }
    if (exitCode !== null) {
      found.detach();
      throw new NotFoundError(`sandbox ${sandboxId} has ended`, { providerId: this.providerId });
    }
    return new ModalSandbox(this.#context(sdk), found);
  }

  /**
   * Running sandboxes of the provider's app (`SandboxListV2`, newest first, paged by creation
   * time). Modal filters by tags on its side; labels are tags.
   */
  list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    return this.#list(filter, options);
  }

  async *#list(filter?: ListFilter, options?: CallOptions): AsyncGenerator<SandboxInfo> {
    const context = { providerId: this.providerId, operation: "list" };
    let sdk: ModalSdk | undefined;
    try {
      const connection = await this.#connect();
      sdk = connection.sdk;
      const app = await this.#appOf(connection.client);
      const tags = Object.entries(filter?.labels ?? {}).map(([tagName, tagValue]) => ({ tagName, tagValue }));
      let beforeTimestamp: number | undefined;
      for (;;) {
        throwIfAborted(options?.signal, this.providerId);
        // The SDK's list yields bare handles; the response itself has the creation time and tags.
        const response = await connection.client.cpClient.sandboxListV2({
          appId: app.appId,
          includeFinished: false,
          tags,
          ...(beforeTimestamp === undefined ? {} : { beforeTimestamp }),
        });
        if (response.sandboxes.length === 0) return;
        for (const info of response.sandboxes) {
          if (this.#destroyed.has(info.id)) continue;
          const labels = Object.fromEntries(info.tags.map((tag) => [tag.tagName, tag.tagValue]));
          if (!matchesLabels(labels, filter?.labels)) continue;
          yield {
            id: encodeSandboxId(this.providerId, info.id),
            createdAt: new Date(info.createdAt * 1000),
            labels,
          };
        }
        beforeTimestamp = response.sandboxes[response.sandboxes.length - 1]?.createdAt;
      }
    } catch (error) {
      if (sdk === undefined) throw toSandportError(error, this.providerId);
      throw errorFromModal(error, sdk, context);
    }
  }

  /** Closes the client the provider built (an injected one is left open). Sandboxes keep running. */
  async dispose(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#app = undefined;
    this.#images.clear();
    if (connection === undefined) return;
    const resolved = await connection.catch(() => undefined);
    if (resolved?.owned) resolved.client.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

/** Creates a `modal-sandbox` provider. Nothing is sent and no credential read until the first call. */
export function createModalSandboxProvider(
  settings: ModalSandboxProviderSettings = {},
): ModalSandboxProvider {
  return new ModalSandboxProvider(settings);
}

/** Nothing local is needed; reports which credentials are set (never their values). */
async function diagnoseModalSandbox(
  settings: ModalSandboxProviderSettings,
  context: { providerId: string },
): Promise<ProviderDiagnosis> {
  const missing = (["tokenId", "tokenSecret"] as const).filter(
    (key) => (settings[key] ?? environmentValue(credentialEnvironmentVariables[key]) ?? "") === "",
  );
  const lines = [
    "backend: Modal sandboxes (vendor cloud, gVisor containers, GPUs) through the modal SDK 0.11",
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
}

/** Registry entry for `"type": "modal-sandbox"` in sandport.json. */
export const modalSandboxProviderFactory = defineProviderFactory({
  ...modalSandboxTypeInfo,
  create: (settings, context) => createModalSandboxProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings) => modalCapabilities(settings),
  diagnose: diagnoseModalSandbox,
});
