/** The local provider: sandboxes on this machine, each command in fresh Linux namespaces. */
import { availableParallelism } from "node:os";
import {
  AbortedError,
  assertRequestSupported,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  InvalidRequestError,
  type ListFilter,
  NotFoundError,
  type ProviderCapabilities,
  parseCreateSandboxRequest,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import { unshareFstab } from "./command-launch.ts";
import { findRuntimes } from "./isolation-detect.ts";
import { type LocalEnvironment, prepareEnvironment } from "./local-environment.ts";
import { LocalSandbox } from "./local-sandbox.ts";
import {
  type LocalProviderSettings,
  localSettingsSchema,
  type ResolvedLocalSettings,
  resolveLocalSettings,
} from "./local-settings.ts";
import { newVendorId, type SandboxRecord, sandboxPaths } from "./sandbox-store.ts";

export type { LocalProviderSettings } from "./local-settings.ts";

function localCapabilities(settings: ResolvedLocalSettings): ProviderCapabilities {
  const runtimes = findRuntimes();
  return {
    runtimes: [
      "shell",
      ...(runtimes.python === undefined ? [] : ["python" as const]),
      "javascript",
      "typescript",
    ],
    isolation: settings.isolation === "none" ? "none" : "namespace",
    residency: "self-hosted",
    regions: [],
    limits: {
      maxCpu: availableParallelism(),
      maxMemoryMb: settings.maxMemoryMb,
      // The workspace is a host directory: there is no per-sandbox disk quota to honour diskMb.
      maxDiskMb: 0,
      gpuTypes: [],
      scope: "process",
    },
    network: { modes: settings.allowNetwork ? ["none", "open"] : ["none"], allowlist: [] },
    features: {
      filesystem: true,
      streaming: true,
      background: false,
      separateStderr: true,
      stdin: true,
      images: false,
      ports: false,
      snapshots: false,
    },
    priors: {
      coldStartMs: 15,
      pricePerVcpuSecond: 0,
      pricePerGibSecond: 0,
      pricePerGpuSecond: 0,
      pricePerRequest: 0,
    },
  };
}

/** The local sandbox provider. */
export class LocalProvider implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: ResolvedLocalSettings;
  #environment: Promise<LocalEnvironment> | undefined;

  constructor(settings: LocalProviderSettings = {}) {
    this.#settings = resolveLocalSettings(settings);
    this.providerId = this.#settings.providerId;
    this.capabilities = localCapabilities(this.#settings);
  }

  /** Prepared at first use, so constructing a provider never touches the machine. */
  #prepare(): Promise<LocalEnvironment> {
    this.#environment ??= prepareEnvironment(this.#settings, this.capabilities).catch((error: unknown) => {
      this.#environment = undefined;
      throw toSandportError(error, this.providerId);
    });
    return this.#environment;
  }

  async create(request: CreateSandboxRequest, options?: CallOptions): Promise<LocalSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    const ownOptions = parsed.providerOptions?.[this.providerId];
    if (ownOptions !== undefined && Object.keys(ownOptions).length > 0) {
      throw new InvalidRequestError(
        `providerOptions.${this.providerId}: the local provider takes no options (got ${Object.keys(ownOptions).join(", ")})`,
      );
    }
    assertRequestSupported(this.providerId, this.capabilities, parsed);
    throwIfAborted(options?.signal, this.providerId);
    const environment = await this.#prepare();
    const record: SandboxRecord = {
      vendorId: newVendorId(),
      createdAt: Date.now(),
      ...(parsed.ttlMs === undefined ? {} : { expiresAt: Date.now() + parsed.ttlMs }),
      labels: { ...parsed.labels },
      env: { ...parsed.env },
      network: parsed.network?.egress === "open",
      memoryMb: parsed.resources?.memoryMb ?? this.#settings.memoryMb,
      ...(parsed.resources?.cpu === undefined ? {} : { cpu: parsed.resources.cpu }),
    };
    const paths = sandboxPaths(this.#settings.stateDirectory, record.vendorId);
    const fstab =
      environment.tools?.kind === "unshare" && environment.skeleton !== undefined
        ? unshareFstab({
            skeleton: environment.skeleton,
            rootMountPoint: paths.rootMountPoint,
            workspace: paths.workspace,
            nodeBinary: environment.nodeBinary,
            tmpSizeMb: this.#settings.tmpSizeMb,
          })
        : undefined;
    try {
      await environment.store.create(record, fstab, environment.runAsUid);
    } catch (error) {
      await environment.store.remove(record.vendorId);
      throw toSandportError(error, this.providerId);
    }
    const sandbox = new LocalSandbox(environment, record);
    if (options?.signal?.aborted) {
      // The caller gave up while we were creating: nothing must be left behind.
      await sandbox.destroy();
      throw new AbortedError("sandbox creation was aborted", {
        cause: options.signal.reason,
        providerId: this.providerId,
      });
    }
    if (parsed.ttlMs !== undefined) {
      setTimeout(() => void sandbox.destroy().catch(() => {}), parsed.ttlMs).unref();
    }
    return sandbox;
  }

  async connect(sandboxId: string, options?: CallOptions): Promise<LocalSandbox> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    throwIfAborted(options?.signal, this.providerId);
    const environment = await this.#prepare();
    const record = await environment.store.read(vendorId);
    if (record === undefined || (record.expiresAt !== undefined && record.expiresAt <= Date.now())) {
      throw new NotFoundError(`sandbox ${sandboxId} does not exist`, { providerId: this.providerId });
    }
    return new LocalSandbox(environment, record);
  }

  async *list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    throwIfAborted(options?.signal, this.providerId);
    const environment = await this.#prepare();
    for await (const record of environment.store.records()) {
      const labels = filter?.labels ?? {};
      if (Object.entries(labels).every(([key, value]) => record.labels[key] === value)) {
        yield {
          id: `${this.providerId}:${record.vendorId}`,
          createdAt: new Date(record.createdAt),
          labels: record.labels,
        };
      }
    }
  }
}

/** Creates a local provider. Constructing it does nothing on the machine; the first `create` does. */
export function createLocalProvider(settings: LocalProviderSettings = {}): LocalProvider {
  return new LocalProvider(settings);
}

/** Registry entry for `"type": "local"` in sandport.json. */
export const localProviderFactory = defineProviderFactory({
  type: "local",
  description:
    "Sandboxes on this machine: each command in fresh Linux namespaces (bubblewrap or util-linux unshare).",
  settingsSchema: localSettingsSchema,
  create: (settings, context) => createLocalProvider({ ...settings, providerId: context.providerId }),
});
