/**
 * The router: one `SandboxProvider` over several. Each `create` is decided from the workload and
 * the policy (see route-decision.ts), tried on the candidates in order with failover on retryable
 * errors only, and recorded in the ledger; sandbox ids keep their provider's name, so `connect`
 * and `destroy` go straight to the owner.
 */
import {
  AbortedError,
  type CallOptions,
  type CreateSandboxRequest,
  decodeSandboxId,
  encodeSandboxId,
  InvalidRequestError,
  type ListFilter,
  NoEligibleProviderError,
  NotFoundError,
  PolicyDeniedError,
  type ProviderCapabilities,
  type ProviderFailure,
  ProviderUnavailableError,
  reattributedError,
  type Sandbox,
  type SandboxInfo,
  type SandboxProvider,
  type SandportError,
  specificationVersion,
  TimeoutError,
  toSandportError,
  UnsupportedCapabilityError,
  vendorIdFor,
} from "@sandport/core";
import { BrokenCircuitError } from "cockatiel";
import { type HealthReport, ProviderHealth } from "./provider-health.ts";
import {
  decideRoute,
  describeRejections,
  type RouteDecision,
  type RouteRejection,
} from "./route-decision.ts";
import { routedSandbox } from "./routed-sandbox.ts";
import { routerCapabilities } from "./router-capabilities.ts";
import { type RouterEvent, traced } from "./router-events.ts";
import { routerBrand } from "./router-identity.ts";
import {
  createMemoryLedger,
  type LedgerEntry,
  type RecordedHealth,
  type RouterLedger,
} from "./router-ledger.ts";
import { parseRoutingPolicy, type RoutingPolicy } from "./routing-policy.ts";
import { workloadOf } from "./workload.ts";

/**
 * A provider described by its capabilities and built on first use: the router decides without
 * importing adapters that no request needs (a CLI run on `local` never loads a cloud SDK).
 */
export interface DeferredProvider {
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  load(): Promise<SandboxProvider>;
}

/** A provider the router holds: built, or built on first use. */
interface ProviderSlot {
  providerId: string;
  capabilities: ProviderCapabilities;
  instance: Promise<SandboxProvider> | undefined;
  /** Set for a provider given built (its `list` is known). */
  built: SandboxProvider | undefined;
  load: () => Promise<SandboxProvider>;
}

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /** The providers to route between, in config order (each with its own `providerId`). */
  providers: readonly (SandboxProvider | DeferredProvider)[];
  /** The `policy` section of `sandport.json` (validated here), or nothing for the defaults. */
  policy?: unknown;
  /**
   * Where live sandboxes are recorded: `openSqliteLedger(path)` from `@sandport/router/node` for
   * one that other processes can reap from (the `sandport` package opens `policy.ledger.path`).
   * Default: in memory.
   */
  ledger?: RouterLedger | Promise<RouterLedger>;
  /** Receives a structured event per decision and per provider call. */
  onEvent?: (event: RouterEvent) => void;
  /** The router's own id (it prefixes nothing: ids keep their provider's name). Default "router". */
  providerId?: string;
}

/** What {@link Router.reap} did. */
export interface ReapReport {
  /** Sandboxes destroyed. */
  destroyed: string[];
  /** Entries whose sandbox was already gone. */
  gone: string[];
  /** Entries left for a later reap: their provider failed, or is not configured here. */
  failed: { sandboxId: string; error: SandportError }[];
}

const defaultCreateTimeoutMs = 60_000;

/** Builds a router; validates the policy against the providers now (`config_invalid`, with the path). */
export function createRouter(options: RouterOptions): Router {
  return new Router(options);
}

/** The router. */
export class Router implements SandboxProvider {
  readonly specificationVersion = specificationVersion;
  readonly providerId: string;
  readonly capabilities: ProviderCapabilities;
  readonly policy: RoutingPolicy;
  readonly #providers: Map<string, ProviderSlot>;
  readonly #health = new Map<string, ProviderHealth>();
  readonly #onEvent: (event: RouterEvent) => void;
  readonly #ledger: Promise<RouterLedger>;
  /** Sandboxes created here and not yet destroyed: kept even when the ledger cannot be written. */
  readonly #live = new Map<string, LedgerEntry>();
  #disposed: Promise<void> | undefined;
  /** What was last written to the ledger per provider, so unchanged health is not written again. */
  readonly #recordedHealthKeys = new Map<string, string>();
  /** Every provider's live sandboxes; present only when every provider can list (else it would miss some). */
  readonly list?: (filter?: ListFilter, options?: CallOptions) => AsyncIterable<SandboxInfo>;

  constructor(options: RouterOptions) {
    if (options.providers.length === 0) throw new InvalidRequestError("a router needs at least one provider");
    // Marks routers for isRouter (router-identity.ts), across copies of this package.
    Object.defineProperty(this, routerBrand, { value: true });
    this.providerId = options.providerId ?? "router";
    this.#providers = new Map();
    for (const provider of options.providers) {
      if (this.#providers.has(provider.providerId)) {
        throw new InvalidRequestError(`two providers share the name "${provider.providerId}"`);
      }
      const built = "load" in provider ? undefined : provider;
      this.#providers.set(provider.providerId, {
        providerId: provider.providerId,
        capabilities: provider.capabilities,
        built,
        instance: built === undefined ? undefined : Promise.resolve(built),
        load: "load" in provider ? () => provider.load() : () => Promise.resolve(provider),
      });
    }
    const capabilities = new Map(
      [...this.#providers].map(([name, provider]) => [name, provider.capabilities]),
    );
    this.policy = parseRoutingPolicy(options.policy, capabilities);
    this.capabilities = routerCapabilities([...capabilities.values()]);
    const breaker = {
      failures: this.policy.circuitBreaker?.failures ?? 3,
      halfOpenAfterMs: this.policy.circuitBreaker?.halfOpenAfterMs ?? 30_000,
    };
    for (const [name, provider] of this.#providers) {
      this.#health.set(name, new ProviderHealth(provider.capabilities.priors.coldStartMs, breaker));
    }
    this.#onEvent = options.onEvent ?? (() => {});
    if ([...this.#providers.values()].every((slot) => slot.built?.list !== undefined)) {
      this.list = (filter, listOptions) => this.#listAll(filter, listOptions);
    }
    this.#ledger = Promise.resolve(options.ledger ?? createMemoryLedger());
    // Failures surface where the ledger is used (start, create, reap), not as unhandled rejections.
    this.#ledger.catch(() => undefined);
  }

  /** The providers' names, in config order. */
  providerIds(): string[] {
    return [...this.#providers.keys()];
  }

  /** The provider named `providerId`, built now if it was deferred. */
  #instance(slot: ProviderSlot): Promise<SandboxProvider> {
    if (slot.instance === undefined) {
      slot.instance = slot.load();
      // A load that failed is tried again next time (the cause may be transient).
      slot.instance.catch(() => {
        slot.instance = undefined;
      });
    }
    return slot.instance;
  }

  #openLedger(): Promise<RouterLedger> {
    return this.#ledger;
  }

  /** Opens the ledger now (so a bad file fails at start) and reaps when the policy says so. */
  async start(): Promise<ReapReport | undefined> {
    await this.#openLedger();
    return this.policy.ledger?.reapAtStart === true ? this.reap() : undefined;
  }

  /** The decision for `request`, without creating anything. */
  explain(request: CreateSandboxRequest): RouteDecision {
    const workload = workloadOf(request);
    const providers = [...this.#providers.values()].map(({ providerId, capabilities }) => ({
      providerId,
      capabilities,
    }));
    return decideRoute(workload, providers, this.policy, this.#health, Date.now());
  }

  /** Each provider's health: circuit state, failures, Retry-After, expected latency. */
  health(): Record<string, HealthReport> {
    const now = Date.now();
    return Object.fromEntries([...this.#health].map(([name, health]) => [name, health.report(now)]));
  }

  async create(request: CreateSandboxRequest, options: CallOptions = {}): Promise<Sandbox> {
    const started = performance.now();
    const workload = workloadOf(request);
    const providers = [...this.#providers.values()].map(({ providerId, capabilities }) => ({
      providerId,
      capabilities,
    }));
    const decision = decideRoute(workload, providers, this.policy, this.#health, Date.now());
    this.#onEvent({
      type: "decision",
      chosen: decision.chosen,
      candidates: decision.candidates.map((candidate) => candidate.providerId),
      rejected: decision.rejected.map(({ providerId, kind }) => ({ providerId, kind })),
      matchedRules: decision.matchedRules,
      durationMs: performance.now() - started,
    });
    if (decision.candidates.length === 0) throw noCandidateError(decision);
    const ledger = await this.#openLedger();
    const failures: ProviderFailure[] = [];
    for (const candidate of decision.candidates) {
      if (options.signal?.aborted)
        throw new AbortedError("create was aborted", { cause: options.signal.reason });
      const slot = this.#providers.get(candidate.providerId) as ProviderSlot;
      const attemptStarted = performance.now();
      try {
        const provider = await this.#instance(slot);
        const sandbox = await (this.#health.get(candidate.providerId) as ProviderHealth).run(() =>
          traced("sandport.create", { "sandport.provider": candidate.providerId }, () =>
            this.#createOnce(provider, workload.request, options.signal),
          ),
        );
        this.#call(candidate.providerId, "create", attemptStarted, undefined, sandbox.id);
        this.#recordHealth(ledger, candidate.providerId);
        this.#record(ledger, sandbox, candidate.providerId, workload.request);
        return this.#routed(sandbox, ledger);
      } catch (caught) {
        const error =
          caught instanceof BrokenCircuitError
            ? new ProviderUnavailableError(`provider "${candidate.providerId}": its circuit is open`, {
                providerId: candidate.providerId,
                cause: caught,
              })
            : toSandportError(caught, candidate.providerId);
        this.#call(candidate.providerId, "create", attemptStarted, error);
        this.#recordHealth(ledger, candidate.providerId);
        if (error.code === "aborted" || options.signal?.aborted)
          throw reattributedError(error, this.providerId);
        // The caller's mistakes and refusals end the call: another provider would only repeat them.
        if (!error.isRetryable) throw reattributedError(error, this.providerId);
        failures.push({ providerId: candidate.providerId, error });
      }
    }
    const waits = failures.map((failure) => failure.error.retryAfterMs).filter((wait) => wait !== undefined);
    throw new NoEligibleProviderError(
      `every candidate provider failed: ${failures.map((failure) => `${failure.providerId}: ${failure.error.code} (${failure.error.message})`).join(" | ")}`,
      failures,
      { isRetryable: true, ...(waits.length > 0 ? { retryAfterMs: Math.min(...(waits as number[])) } : {}) },
    );
  }

  /**
   * One provider's create under the router's create timeout and the caller's signal. When either
   * fires first, the provider is told to abort, and a sandbox it still finishes creating is destroyed:
   * the request runs in exactly one sandbox.
   */
  #createOnce(
    provider: SandboxProvider,
    request: CreateSandboxRequest,
    signal: AbortSignal | undefined,
  ): Promise<Sandbox> {
    const timeoutMs = this.policy.createTimeoutMs ?? defaultCreateTimeoutMs;
    const controller = new AbortController();
    return new Promise<Sandbox>((resolve, reject) => {
      let settled = false;
      const giveUp = (error: SandportError) => {
        if (settled) return;
        settled = true;
        cleanup();
        controller.abort(error);
        reject(error);
      };
      const timer = setTimeout(
        () =>
          giveUp(
            new TimeoutError(
              `provider "${provider.providerId}" did not create a sandbox within ${timeoutMs} ms`,
              {
                providerId: provider.providerId,
              },
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => giveUp(new AbortedError("create was aborted", { cause: signal?.reason }));
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      provider.create(request, { signal: controller.signal }).then(
        (sandbox) => {
          if (!settled) {
            settled = true;
            cleanup();
            resolve(sandbox);
            return;
          }
          // The router moved on: this sandbox must not outlive the call.
          const started = performance.now();
          sandbox.destroy().then(
            () => this.#call(provider.providerId, "abandoned-create", started, undefined, sandbox.id),
            (error: unknown) =>
              this.#call(
                provider.providerId,
                "abandoned-create",
                started,
                toSandportError(error, provider.providerId),
                sandbox.id,
              ),
          );
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          cleanup();
          reject(error);
        },
      );
    });
  }

  /**
   * Writes a provider's health to the ledger when it changed, so other processes (`sandport
   * providers`, a CLI next to a daemon) see a circuit this router opened.
   */
  #recordHealth(ledger: RouterLedger, providerId: string): void {
    const report = (this.#health.get(providerId) as ProviderHealth).report(Date.now());
    const key = `${report.circuit}:${report.consecutiveFailures}:${report.retryAfterUntil ?? ""}`;
    if (this.#recordedHealthKeys.get(providerId) === key) return;
    this.#recordedHealthKeys.set(providerId, key);
    try {
      ledger.recordHealth(providerId, {
        circuit: report.circuit,
        consecutiveFailures: report.consecutiveFailures,
        ...(report.retryAfterUntil === undefined ? {} : { retryAfterUntil: report.retryAfterUntil }),
        recordedAt: Date.now(),
      });
    } catch {
      // Health is advisory across processes; this router's own view is unaffected.
    }
  }

  /** Each provider's health as last recorded in the ledger, by this or any other process. */
  async recordedHealth(): Promise<Record<string, RecordedHealth>> {
    return (await this.#openLedger()).recordedHealth();
  }

  /** The caller's handle on a provider's sandbox: the router's id, forgotten when destroyed. */
  #routed(sandbox: Sandbox, ledger: RouterLedger): Sandbox {
    return routedSandbox(
      sandbox,
      encodeSandboxId(this.providerId, sandbox.id),
      this.providerId,
      (sandboxId) => this.#forget(ledger, sandboxId),
    );
  }

  #record(ledger: RouterLedger, sandbox: Sandbox, providerId: string, request: CreateSandboxRequest): void {
    const now = Date.now();
    const entry: LedgerEntry = {
      sandboxId: sandbox.id,
      providerId,
      ownerPid: ledger.owner().pid,
      ownerStart: ledger.owner().start,
      createdAt: now,
      ...(request.ttlMs === undefined ? {} : { expiresAt: now + request.ttlMs }),
      labels: { ...request.labels },
    };
    this.#live.set(sandbox.id, entry);
    try {
      ledger.add(entry);
    } catch (error) {
      this.#onEvent({
        type: "ledger-error",
        operation: "add",
        sandboxId: sandbox.id,
        message: String(error),
      });
    }
  }

  #forget(ledger: RouterLedger, sandboxId: string): void {
    this.#live.delete(sandboxId);
    try {
      ledger.remove(sandboxId);
    } catch (error) {
      this.#onEvent({ type: "ledger-error", operation: "remove", sandboxId, message: String(error) });
    }
  }

  #call(
    providerId: string,
    operation: "create" | "connect" | "destroy" | "reap" | "abandoned-create",
    started: number,
    error?: SandportError,
    sandboxId?: string,
  ): void {
    this.#onEvent({
      type: "call",
      providerId,
      operation,
      ...(sandboxId === undefined ? {} : { sandboxId }),
      durationMs: performance.now() - started,
      outcome: error === undefined ? "ok" : "error",
      ...(error === undefined ? {} : { errorCode: error.code }),
    });
  }

  /**
   * The owning provider and its id for a router id: another router's or provider's id is
   * `invalid_request`; one of ours naming no provider here (or malformed inside) is `not_found`.
   */
  #owner(sandboxId: string): { slot: ProviderSlot; innerId: string } {
    const innerId = vendorIdFor(this.providerId, sandboxId);
    let providerId: string;
    try {
      providerId = decodeSandboxId(innerId).providerId;
    } catch {
      throw new NotFoundError(`sandbox ${sandboxId} does not exist`, { providerId: this.providerId });
    }
    const slot = this.#providers.get(providerId);
    if (slot === undefined) {
      throw new NotFoundError(
        `sandbox ${sandboxId} belongs to provider "${providerId}", which this router does not have`,
        { providerId: this.providerId },
      );
    }
    return { slot, innerId };
  }

  async connect(sandboxId: string, options?: CallOptions): Promise<Sandbox> {
    let owner: { slot: ProviderSlot; innerId: string };
    try {
      owner = this.#owner(sandboxId);
    } catch (error) {
      throw toSandportError(error, this.providerId);
    }
    const { slot, innerId } = owner;
    const provider = await this.#instance(slot);
    const started = performance.now();
    try {
      const sandbox = await provider.connect(innerId, options);
      this.#call(provider.providerId, "connect", started, undefined, innerId);
      return this.#routed(sandbox, await this.#openLedger());
    } catch (error) {
      const failure = toSandportError(error, provider.providerId);
      this.#call(provider.providerId, "connect", started, failure, innerId);
      throw reattributedError(failure, this.providerId);
    }
  }

  async *#listAll(filter?: ListFilter, options?: CallOptions): AsyncIterable<SandboxInfo> {
    for (const slot of this.#providers.values()) {
      for await (const info of slot.built?.list?.(filter, options) ?? []) {
        yield { ...info, id: encodeSandboxId(this.providerId, info.id) };
      }
    }
  }

  /**
   * Destroys what a dead process or an expired lifetime left behind, as the ledger records it:
   * entries of live processes are left alone, except expired ones. Run by `sandport reap`, and at
   * start when `policy.ledger.reapAtStart` is set.
   */
  async reap(options: CallOptions = {}): Promise<ReapReport> {
    const ledger = await this.#openLedger();
    const report: ReapReport = { destroyed: [], gone: [], failed: [] };
    const now = Date.now();
    const due = ledger.due(now);
    // A few at a time: reaping many sandboxes of one vendor must not be a burst of calls.
    const concurrency = 8;
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < due.length; index = next++) {
        const entry = due[index] as LedgerEntry;
        if (options.signal?.aborted) return;
        await this.#reapOne(ledger, entry, report);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    return report;
  }

  async #reapOne(ledger: RouterLedger, entry: LedgerEntry, report: ReapReport): Promise<void> {
    const slot = this.#providers.get(entry.providerId);
    if (slot === undefined) {
      report.failed.push({
        sandboxId: entry.sandboxId,
        error: new NotFoundError(`provider "${entry.providerId}" is not configured here; the entry is kept`),
      });
      return;
    }
    const started = performance.now();
    let provider: SandboxProvider;
    try {
      provider = await this.#instance(slot);
    } catch (error) {
      report.failed.push({ sandboxId: entry.sandboxId, error: toSandportError(error, slot.providerId) });
      return;
    }
    try {
      const sandbox = await provider.connect(entry.sandboxId);
      await sandbox.destroy();
      report.destroyed.push(entry.sandboxId);
      this.#forget(ledger, entry.sandboxId);
      this.#call(provider.providerId, "reap", started, undefined, entry.sandboxId);
    } catch (error) {
      const failure = toSandportError(error, provider.providerId);
      if (failure.code === "not_found") {
        report.gone.push(entry.sandboxId);
        this.#forget(ledger, entry.sandboxId);
      } else {
        report.failed.push({ sandboxId: entry.sandboxId, error: failure });
      }
      this.#call(provider.providerId, "reap", started, failure, entry.sandboxId);
    }
  }

  /** Sandboxes this router created and has not destroyed (known even when the ledger failed). */
  liveSandboxes(): LedgerEntry[] {
    return [...this.#live.values()];
  }

  /** Releases every provider and closes the ledger. Sandboxes stay (see `reap`). */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      await Promise.allSettled(
        [...this.#providers.values()].map(async (slot) => (await slot.instance)?.dispose?.()),
      );
      // The ledger belongs to whoever opened it.
    })();
    return this.#disposed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** The error when no provider may take a request, each rejection kept. */
function noCandidateError(decision: RouteDecision): SandportError {
  const failures = decision.rejected.map((rejection) => ({
    providerId: rejection.providerId,
    error: rejectionError(rejection),
  }));
  const summary = describeRejections(decision.rejected);
  const none = new NoEligibleProviderError(`no provider can take this request: ${summary}`, failures, {
    // Only health passes with time.
    isRetryable: decision.rejected.some((rejection) => rejection.kind === "health"),
  });
  // A request no provider supports is refused as any provider refuses it.
  if (decision.rejected.every((rejection) => rejection.kind === "capability")) {
    return new UnsupportedCapabilityError(`no provider supports this request: ${summary}`, { cause: none });
  }
  return none;
}

function rejectionError(rejection: RouteRejection): SandportError {
  const message = `${rejection.providerId}: ${rejection.reasons.join("; ")}`;
  const options = { providerId: rejection.providerId };
  switch (rejection.kind) {
    case "capability":
      return new UnsupportedCapabilityError(message, options);
    case "health":
      return new ProviderUnavailableError(message, options);
    default:
      return new PolicyDeniedError(message, options);
  }
}
