/** The local provider: sandboxes on this machine, each with its own supervisor in fresh Linux namespaces. */
import { availableParallelism } from "node:os";
import {
  abandonIfAborted,
  assertRequestSupported,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  type ListFilter,
  matchesLabels,
  NotFoundError,
  type ProviderCapabilities,
  ProviderUnavailableError,
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
import { detectIsolation, findRuntimes } from "./isolation-detect.ts";
import { diagnoseLocal } from "./local-diagnosis.ts";
import {
  prepareEnvironment,
  prepareUnisolatedEnvironment,
  type SandboxCgroups,
} from "./local-environment.ts";
import { LocalSandbox, type SandboxBackend } from "./local-sandbox.ts";
import {
  type LocalProviderSettings,
  localSettingsSchema,
  type ResolvedLocalSettings,
  resolveLocalSettings,
} from "./local-settings.ts";
import { createSandboxCgroup, detectCgroupSupport, openSandboxCgroup } from "./sandbox-cgroup.ts";
import { SandboxRuntimes } from "./sandbox-runtimes.ts";
import { newVendorId, type SandboxRecord } from "./sandbox-store.ts";

export type { LocalProviderSettings } from "./local-settings.ts";

function localCapabilities(
  settings: ResolvedLocalSettings,
  cgroups: SandboxCgroups | undefined,
): ProviderCapabilities {
  const isolated = settings.isolation !== "none";
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
      scope: isolated && cgroups !== undefined ? "sandbox" : "process",
    },
    network: { modes: settings.allowNetwork ? ["none", "open"] : ["none"], allowlist: [] },
    features: {
      filesystem: true,
      streaming: true,
      background: isolated,
      separateStderr: true,
      stdin: true,
      processStdin: isolated,
      images: false,
      ports: true,
      combinedOutput: isolated,
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
  readonly #cgroups: SandboxCgroups | undefined;
  #backend: Promise<SandboxBackend> | undefined;

  constructor(settings: LocalProviderSettings = {}) {
    this.#settings = resolveLocalSettings(settings);
    this.providerId = this.#settings.providerId;
    this.#cgroups = this.#settings.isolation === "none" ? undefined : sandboxCgroups(this.#settings);
    this.capabilities = localCapabilities(this.#settings, this.#cgroups);
  }

  /** Prepared at first use, so constructing a provider never starts anything on the machine. */
  #prepare(): Promise<SandboxBackend> {
    this.#backend ??= this.#prepareBackend().catch((error: unknown) => {
      this.#backend = undefined;
      throw toSandportError(error, this.providerId);
    });
    return this.#backend;
  }

  async #prepareBackend(): Promise<SandboxBackend> {
    if (this.#settings.isolation === "none") {
      return {
        kind: "unisolated",
        environment: await prepareUnisolatedEnvironment(this.#settings, this.capabilities),
      };
    }
    const environment = await prepareEnvironment(this.#settings, this.capabilities, this.#cgroups);
    return { kind: "supervised", environment, runtimes: new SandboxRuntimes(environment) };
  }

  /**
   * A sandbox that could not be built: when this machine gives no namespaces at all, say so with
   * the fix (what `sandport doctor` prints) instead of the failed step alone.
   */
  async #explainSetupFailure(error: unknown): Promise<unknown> {
    if (!SandboxFailedError.isInstance(error)) return toSandportError(error, this.providerId);
    const report = await detectIsolation(this.#settings).catch(() => undefined);
    if (report?.problem === undefined) return error;
    return new ProviderUnavailableError(`local sandboxes cannot start: ${report.problem}`, {
      cause: error,
      providerId: this.providerId,
      isRetryable: false,
    });
  }

  /** Stops every sandbox supervisor this instance started (their processes die; files stay). */
  async dispose(): Promise<void> {
    const backend = await this.#backend?.catch(() => undefined);
    if (backend?.kind === "supervised") await backend.runtimes.stopAll();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<LocalSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<LocalSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    parseProviderOptions(this.providerId, parsed);
    assertRequestSupported(this.providerId, this.capabilities, parsed);
    throwIfAborted(options?.signal, this.providerId);
    const backend = await this.#prepare();
    const { environment } = backend;
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
    const owner = backend.kind === "supervised" ? backend.environment.runAsUid : undefined;
    try {
      await environment.store.create(record, owner);
      // The supervisor starts now, so a sandbox that cannot be built fails here and the first exec is warm.
      if (backend.kind === "supervised") await backend.runtimes.connectionFor(record);
    } catch (error) {
      if (backend.kind === "supervised") await backend.runtimes.stop(record.vendorId);
      await environment.store.remove(record.vendorId);
      throw await this.#explainSetupFailure(error);
    }
    const sandbox = await abandonIfAborted(
      new LocalSandbox(backend, record),
      options?.signal,
      this.providerId,
    );
    if (parsed.ttlMs !== undefined) {
      setTimeout(() => void sandbox.destroy().catch(() => {}), parsed.ttlMs).unref();
    }
    return sandbox;
  }

  connect(sandboxId: string, options?: CallOptions): Promise<LocalSandbox> {
    return this.#connect(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connect(sandboxId: string, options?: CallOptions): Promise<LocalSandbox> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    throwIfAborted(options?.signal, this.providerId);
    const backend = await this.#prepare();
    const record = await backend.environment.store.read(vendorId);
    if (
      record === undefined ||
      record.destroying === true ||
      (record.expiresAt !== undefined && record.expiresAt <= Date.now())
    ) {
      throw new NotFoundError(`sandbox ${sandboxId} does not exist`, { providerId: this.providerId });
    }
    return new LocalSandbox(backend, record);
  }

  async *list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    throwIfAborted(options?.signal, this.providerId);
    const { environment } = await this.#prepare();
    for await (const record of environment.store.records()) {
      if (record.destroying === true) continue;
      if (matchesLabels(record.labels, filter?.labels)) {
        yield {
          id: `${this.providerId}:${record.vendorId}`,
          createdAt: new Date(record.createdAt),
          labels: record.labels,
        };
      }
    }
  }
}

/** Per-sandbox cgroups where this host gives us them (as root), else undefined (rlimits per process). */
function sandboxCgroups(settings: ResolvedLocalSettings): SandboxCgroups | undefined {
  const support = detectCgroupSupport();
  if (support.version === undefined) return undefined;
  return {
    async create(record) {
      // A sandbox whose supervisor is restarted (after a crash, or in a new host process) reuses its id.
      await openSandboxCgroup(support, record.vendorId).remove();
      return createSandboxCgroup(support, record.vendorId, {
        memoryBytes: record.memoryMb * 1024 * 1024,
        processes: settings.processes,
        ...(record.cpu === undefined ? {} : { cpu: record.cpu }),
      });
    },
    remove: (vendorId) => openSandboxCgroup(support, vendorId).remove(),
  };
}

/** Creates a local provider. Constructing it does nothing on the machine; the first `create` does. */
export function createLocalProvider(settings: LocalProviderSettings = {}): LocalProvider {
  return new LocalProvider(settings);
}

/** Registry entry for `"type": "local"` in sandport.json. */
export const localProviderFactory = defineProviderFactory({
  type: "local",
  capabilities: (settings) => {
    const resolved = resolveLocalSettings(settings);
    return localCapabilities(resolved, resolved.isolation === "none" ? undefined : sandboxCgroups(resolved));
  },
  diagnose: (settings, context) => diagnoseLocal({ ...settings, providerId: context.providerId }),
  description:
    "Sandboxes on this machine: a supervisor per sandbox in fresh Linux namespaces, with seccomp and cgroup limits.",
  settingsSchema: localSettingsSchema,
  create: (settings, context) => createLocalProvider({ ...settings, providerId: context.providerId }),
});
