/**
 * The `cloudflare-isolate` provider: untrusted JavaScript and TypeScript, each run in a fresh V8
 * isolate through Cloudflare's Worker Loader. `mode: "remote"` talks to the isolate Worker a team
 * deployed (`worker/`); `mode: "local"` runs the same Worker under workerd on this machine.
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  abandonIfAborted,
  assertRequestSupported,
  type CallOptions,
  type CreateSandboxRequest,
  defineProviderFactory,
  encodeSandboxId,
  InvalidRequestError,
  type ListFilter,
  matchesLabels,
  NotFoundError,
  type ProviderCapabilities,
  parseCreateSandboxRequest,
  parseProviderOptions,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  vendorIdFor,
} from "@sandport/core";
import * as z from "zod";
import { validAllowEntry } from "./isolate/egress-policy.ts";
import { systemLookup } from "./isolate/egress-proxy.ts";
import { EnginePool } from "./isolate/engine-pool.ts";
import { dataBytesOf } from "./isolate/engine-process.ts";
import { isolateCapabilities } from "./isolate/isolate-capabilities.ts";
import { diagnoseIsolateEngine } from "./isolate/isolate-engine-check.ts";
import type { IsolateSandbox } from "./isolate/isolate-sandbox.ts";
import {
  type CloudflareIsolateProviderSettings,
  cloudflareIsolateTypeInfo,
  engineDataLimitBytes,
  type ResolvedIsolateSettings,
  resolveIsolateSettings,
} from "./isolate/isolate-settings.ts";
import { startIsolateWorker } from "./isolate/isolate-worker.ts";
import { answerText, IsolateWorkerClient } from "./isolate/isolate-worker-client.ts";
import type { IsolateWorkerCreateBody, IsolateWorkerEgress } from "./isolate/isolate-worker-protocol.ts";
import { envBounds, labelBounds, recordBoundsProblem } from "./isolate/isolate-worker-protocol.ts";
import { LocalIsolateSandbox, type LocalSandboxState } from "./isolate/local-isolate-sandbox.ts";
import { RemoteIsolateSandbox } from "./isolate/remote-isolate-sandbox.ts";
import { parseIsolateWorkerJson } from "./isolate/run-request.ts";

export type { CloudflareIsolateProviderSettings } from "./isolate/isolate-settings.ts";

const sandboxInfoSchema = z.object({
  id: z.string().min(1),
  createdAt: z.number(),
  labels: z.record(z.string(), z.string()).nullish(),
});

const sandboxListSchema = z.object({ sandboxes: z.array(sandboxInfoSchema) });

/** How long engines stay up once the last local sandbox is gone, ms. */
const lastSandboxIdleMs = 250;

/** The provider (either mode). */
export class CloudflareIsolateProvider implements SandboxProvider, AsyncDisposable {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly #settings: ResolvedIsolateSettings;
  readonly #local: Map<string, LocalSandboxState> = new Map();
  #pool: EnginePool | undefined;
  #client: IsolateWorkerClient | undefined;

  constructor(settings: CloudflareIsolateProviderSettings = {}) {
    this.#settings = resolveIsolateSettings(settings);
    this.providerId = this.#settings.providerId;
    this.capabilities = isolateCapabilities(this.#settings);
  }

  create(request: CreateSandboxRequest, options?: CallOptions): Promise<IsolateSandbox> {
    return this.#create(request, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #create(request: CreateSandboxRequest, options?: CallOptions): Promise<IsolateSandbox> {
    const parsed = parseCreateSandboxRequest(request);
    // The isolate provider takes no options: any key is refused, never ignored.
    parseProviderOptions(this.providerId, parsed);
    assertRequestSupported(this.providerId, this.capabilities, parsed);
    throwIfAborted(options?.signal, this.providerId);
    const requested = parsed.network?.egress ?? "none";
    if (typeof requested !== "string") {
      const invalid = requested.allow.filter((entry) => !validAllowEntry(entry));
      if (invalid.length > 0) {
        throw new InvalidRequestError(
          `network.egress.allow: ${invalid.map((entry) => JSON.stringify(entry)).join(", ")} is not a host name, "*." wildcard, IP address or CIDR range`,
          { providerId: this.providerId },
        );
      }
    }
    const egress: IsolateWorkerEgress =
      typeof requested === "string" ? requested : { allow: [...requested.allow] };
    const diskMb = parsed.resources?.diskMb;
    const maxFilesBytes =
      diskMb === undefined
        ? this.#settings.maxFilesBytes
        : Math.min(diskMb * 1024 * 1024, this.#settings.maxFilesBytes);
    for (const [field, record, bounds] of [
      ["env", parsed.env ?? {}, envBounds],
      ["labels", parsed.labels ?? {}, labelBounds],
    ] as const) {
      const problem = recordBoundsProblem(record, field, bounds);
      if (problem !== undefined) throw new InvalidRequestError(problem, { providerId: this.providerId });
    }
    const body: IsolateWorkerCreateBody = {
      env: { ...parsed.env },
      egress,
      labels: { ...parsed.labels },
      maxFilesBytes,
      ...(parsed.ttlMs === undefined ? {} : { ttlMs: parsed.ttlMs }),
    };
    // Local creation does no I/O; awaiting once still lets an abort the caller fires right after
    // calling land before the sandbox is handed out.
    const sandbox =
      this.#settings.mode === "local"
        ? await this.#createLocal(body)
        : await this.#createRemote(body, options);
    // The caller gave up while we were creating: nothing must be left behind.
    return abandonIfAborted(sandbox, options?.signal, this.providerId);
  }

  connect(sandboxId: string, options?: CallOptions): Promise<IsolateSandbox> {
    return this.#connect(sandboxId, options).catch((error: unknown) => {
      throw toSandportError(error, this.providerId);
    });
  }

  async #connect(sandboxId: string, options?: CallOptions): Promise<IsolateSandbox> {
    const vendorId = vendorIdFor(this.providerId, sandboxId);
    throwIfAborted(options?.signal, this.providerId);
    if (this.#settings.mode === "local") {
      const state = this.#local.get(vendorId);
      if (state === undefined) {
        throw new NotFoundError(
          `sandbox ${sandboxId} does not exist (local-mode sandboxes live in the process that created them)`,
          { providerId: this.providerId },
        );
      }
      return this.#localSandbox(state);
    }
    const client = this.#remoteClient();
    const response = await client.send({
      method: "GET",
      path: `/v1/sandboxes/${vendorId}`,
      what: "connect",
      signal: options?.signal,
    });
    parseIsolateWorkerJson(answerText(response), sandboxInfoSchema, this.providerId);
    return new RemoteIsolateSandbox(vendorId, this.#settings, client);
  }

  /** Local mode: starts the engines now rather than at the first run. Remote mode: does nothing. */
  async warm(): Promise<void> {
    if (this.#settings.mode === "local") await this.#enginePool().warm();
  }

  /** Stops local mode's engines (they also stop by themselves when idle). Sandboxes are kept. */
  async dispose(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Engine restarts so far in local mode (a run past its timeout or a crash), for diagnostics. */
  get engineRestarts(): number {
    return this.#pool?.restarts ?? 0;
  }

  /** Engines replaced after `engineRecycleRuns` runs so far in local mode, for diagnostics. */
  get engineRecycles(): number {
    return this.#pool?.recycles ?? 0;
  }

  #enginePool(): EnginePool {
    if (this.#pool === undefined) {
      const token = randomBytes(32).toString("base64url");
      const { maxCodeBytes, maxFilesBytes, engines, engineIdleMs, engineRecycleRuns, memoryMb } =
        this.#settings;
      const dataLimitBytes = engineDataLimitBytes(this.#settings);
      // What the engine itself is allowed under the cap; the rest is each run's.
      const engineOwnBytes = engineDataLimitBytes({ memoryMb: 0, maxFilesBytes: 0 });
      this.#pool = new EnginePool({
        size: engines,
        token,
        idleMs: engineIdleMs,
        recycleAfter: engineRecycleRuns,
        // V8 keeps the space of a run's large buffers mapped: once an engine holds more than its
        // own share, the next run would get less than its allowance, so the engine is replaced.
        worn: (instance) => instance.pid !== undefined && (dataBytesOf(instance.pid) ?? 0) > engineOwnBytes,
        start: () =>
          startIsolateWorker({
            token,
            maxCodeBytes,
            maxFilesBytes,
            heapLimitMb: memoryMb,
            dataLimitBytes,
            egressLookup: this.#settings.lookup ?? systemLookup,
          }),
      });
    }
    return this.#pool;
  }

  async #createLocal(body: IsolateWorkerCreateBody): Promise<LocalIsolateSandbox> {
    const state: LocalSandboxState = {
      vendorId: randomUUID(),
      createdAt: Date.now(),
      labels: body.labels,
      env: body.env,
      egress: body.egress,
      files: new Map(),
      fileTimes: new Map(),
      directories: new Map(),
      maxFilesBytes: body.maxFilesBytes ?? this.#settings.maxFilesBytes,
      queue: Promise.resolve(),
      destroyed: false,
      ended: new AbortController(),
    };
    this.#local.set(state.vendorId, state);
    const sandbox = this.#localSandbox(state);
    if (body.ttlMs !== undefined) setTimeout(() => void sandbox.destroy(), body.ttlMs).unref();
    // Engines start in the background, so the first run finds one warm.
    this.#enginePool()
      .warm()
      .catch(() => {});
    return sandbox;
  }

  #localSandbox(state: LocalSandboxState): LocalIsolateSandbox {
    return new LocalIsolateSandbox(
      state,
      this.#settings,
      () => this.#enginePool(),
      (vendorId) => {
        this.#local.delete(vendorId);
        // With no sandbox left the engines stop soon, so a script that is done can exit.
        if (this.#local.size === 0) this.#pool?.stopWhenIdle(lastSandboxIdleMs);
      },
    );
  }

  /**
   * Live sandboxes carrying all of `filter.labels`: in local mode those of this process, in remote
   * mode those of the whole deployment (from its index).
   */
  async *list(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    throwIfAborted(options?.signal, this.providerId);
    if (this.#settings.mode === "remote") {
      yield* await this.#listRemote(filter, options);
      return;
    }
    for (const state of this.#local.values()) {
      if (matchesLabels(state.labels, filter?.labels)) {
        yield {
          id: encodeSandboxId(this.providerId, state.vendorId),
          createdAt: new Date(state.createdAt),
          labels: state.labels,
        };
      }
    }
  }

  async #listRemote(filter?: ListFilter, options?: CallOptions): Promise<SandboxInfo[]> {
    const query = encodeURIComponent(JSON.stringify(filter?.labels ?? {}));
    const response = await this.#remoteClient().send({
      method: "GET",
      path: `/v1/sandboxes?labels=${query}`,
      what: "list",
      signal: options?.signal,
    });
    const { sandboxes } = parseIsolateWorkerJson(answerText(response), sandboxListSchema, this.providerId);
    return sandboxes.map((info) => ({
      id: encodeSandboxId(this.providerId, info.id),
      createdAt: new Date(info.createdAt),
      labels: info.labels ?? {},
    }));
  }

  #remoteClient(): IsolateWorkerClient {
    this.#client ??= new IsolateWorkerClient(this.#settings);
    return this.#client;
  }

  async #createRemote(body: IsolateWorkerCreateBody, options?: CallOptions): Promise<RemoteIsolateSandbox> {
    const client = this.#remoteClient();
    const response = await client.send({
      method: "POST",
      path: "/v1/sandboxes",
      what: "create",
      json: body,
      signal: options?.signal,
    });
    const info = parseIsolateWorkerJson(answerText(response), sandboxInfoSchema, this.providerId);
    return new RemoteIsolateSandbox(info.id, this.#settings, client);
  }
}

/** Creates a `cloudflare-isolate` provider. Constructing it starts nothing and reads no credential. */
export function createCloudflareIsolateProvider(
  settings: CloudflareIsolateProviderSettings = {},
): CloudflareIsolateProvider {
  return new CloudflareIsolateProvider(settings);
}

/** Registry entry for `"type": "cloudflare-isolate"` in sandport.json. */
export const cloudflareIsolateProviderFactory = defineProviderFactory({
  ...cloudflareIsolateTypeInfo,
  create: (settings, context) =>
    createCloudflareIsolateProvider({ ...settings, providerId: context.providerId }),
  capabilities: (settings, context) =>
    isolateCapabilities(resolveIsolateSettings({ ...settings, providerId: context.providerId })),
  diagnose: (settings) => diagnoseIsolateEngine(settings.mode ?? "local"),
});
