/**
 * The `cloudflare-container` provider: Linux containers of `@cloudflare/sandbox`, reached from
 * outside Cloudflare through the team's deployed sandbox bridge (`@cloudflare/sandbox/bridge`).
 */
import {
  abandonIfAborted,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  InvalidRequestError,
  NotFoundError,
  type ProviderCapabilities,
  parseCreateSandboxRequest,
  parseProviderOptions,
  SandboxFailedError,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import { SandboxBridgeResponseError } from "./container/cloudflare-container-errors.ts";
import { containerCapabilities } from "./container/container-capabilities.ts";
import { assertCreateSupported, fileRoutePath } from "./container/container-request-mapping.ts";
import { ContainerSandbox, type ContainerSandboxContext } from "./container/container-sandbox.ts";
import {
  type CloudflareContainerProviderSettings,
  cloudflareContainerTypeInfo,
} from "./container/container-settings.ts";
import { DestroyedSandboxes } from "./container/destroyed-sandboxes.ts";
import { defaultRequestTimeoutMs, SandboxBridgeClient } from "./container/sandbox-bridge-client.ts";
import { decodeSandboxMarker, encodeSandboxMarker, sandboxMarkerPath } from "./container/sandbox-marker.ts";

export type { CloudflareContainerProviderSettings } from "./container/container-settings.ts";

const markerRoute = fileRoutePath(sandboxMarkerPath, "cloudflare-container");

/** Whether a failed marker read means "no such file" (and not, say, a 404 from a wrong URL prefix). */
function isMissingFile(error: unknown): boolean {
  return (
    NotFoundError.isInstance(error) &&
    error.cause instanceof SandboxBridgeResponseError &&
    error.cause.code === "workspace_read_not_found"
  );
}

/** The provider. Constructing it sends nothing and reads no credential. */
export class CloudflareContainerProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #client: SandboxBridgeClient;
  readonly #context: ContainerSandboxContext;

  constructor(settings: CloudflareContainerProviderSettings) {
    this.providerId = settings.providerId ?? "cloudflare-container";
    this.capabilities = containerCapabilities(settings);
    this.#client = new SandboxBridgeClient(settings, this.providerId);
    this.#context = {
      providerId: this.providerId,
      client: this.#client,
      destroyed: new DestroyedSandboxes(),
      runtimes: this.capabilities.runtimes,
      defaultTimeoutMs: settings.defaultTimeoutMs,
      fileTimeoutMs: settings.requestTimeoutMs ?? defaultRequestTimeoutMs,
    };
  }

  /**
   * `POST /sandbox` mints an id; writing the sandbox marker then makes the sandbox bridge start the
   * container, so capacity and start failures surface here (where a router can fail over) and the
   * cold start is paid by `create`, not by the first command.
   */
  create(request: CreateSandboxRequest, options?: CallOptions): Promise<ContainerSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<ContainerSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    // The container provider takes no options: any key is refused, never ignored.
    parseProviderOptions(this.providerId, parsed);
    assertCreateSupported(this.providerId, this.capabilities, parsed);
    const signal = options?.signal;
    throwIfAborted(signal, this.providerId);
    const vendorId = await this.#client.createSandbox(signal);
    const environment = { ...parsed.env };
    try {
      throwIfAborted(signal, this.providerId);
      const marker = encodeSandboxMarker({
        version: 1,
        createdAt: Date.now(),
        env: environment,
        labels: { ...parsed.labels },
      });
      await this.#client.writeFile(vendorId, markerRoute, marker, "create (start the container)", signal);
    } catch (error) {
      // Whatever the sandbox bridge started for this id must not outlive a failed or abandoned create.
      await this.#client.deleteSandbox(vendorId).catch(() => {});
      throw error;
    }
    // A caller who gave up while the container started gets nothing, and nothing is left behind.
    return abandonIfAborted(
      new ContainerSandbox(this.#context, vendorId, environment),
      signal,
      this.providerId,
    );
  }

  /**
   * Reads the sandbox marker. A missing marker means the sandbox bridge handed this id a fresh container
   * (the sandbox was destroyed, or its container was replaced after sleeping): that container is
   * deleted again and the answer is `not_found`.
   */
  connect(sandboxId: string, options?: CallOptions): Promise<ContainerSandbox> {
    return this.#connect(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connect(sandboxId: string, options?: CallOptions): Promise<ContainerSandbox> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    if (!/^[a-z2-7]{1,128}$/.test(vendorId)) {
      throw new InvalidRequestError(
        `sandbox id "${sandboxId}": the sandbox bridge's ids are lowercase base32`,
        {
          providerId: this.providerId,
        },
      );
    }
    throwIfAborted(options?.signal, this.providerId);
    if (this.#context.destroyed.has(vendorId)) {
      throw new NotFoundError(`sandbox ${sandboxId} was destroyed`, { providerId: this.providerId });
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.#client.readFile(vendorId, markerRoute, "connect", options?.signal);
    } catch (error) {
      if (isMissingFile(error)) {
        await this.#client.deleteSandbox(vendorId).catch(() => {});
        throw new NotFoundError(
          `sandbox ${sandboxId} does not exist (destroyed, or its container was replaced)`,
          {
            cause: error,
            providerId: this.providerId,
          },
        );
      }
      throw error;
    }
    let environment: Record<string, string>;
    try {
      environment = decodeSandboxMarker(bytes).env;
    } catch (error) {
      throw new SandboxFailedError(`sandbox ${sandboxId}: its ${sandboxMarkerPath} is damaged`, {
        cause: error,
        providerId: this.providerId,
      });
    }
    return new ContainerSandbox(this.#context, vendorId, environment);
  }
}

/** Creates a `cloudflare-container` provider. Nothing is sent and no credential read until the first call. */
export function createCloudflareContainerProvider(
  settings: CloudflareContainerProviderSettings,
): CloudflareContainerProvider {
  return new CloudflareContainerProvider(settings);
}

/** Registry entry for `"type": "cloudflare-container"` in sandport.json. */
export const cloudflareContainerProviderFactory = defineProviderFactory({
  ...cloudflareContainerTypeInfo,
  create: (settings, context) =>
    createCloudflareContainerProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings) => containerCapabilities(settings),
});
