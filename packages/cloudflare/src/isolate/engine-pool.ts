/**
 * A pool of supervised workerd engines for local mode. workerd enforces no CPU limit and dies
 * whole when one isolate exhausts memory, so the pool does it: every request has a deadline, and
 * an engine whose request passes it is killed (SIGKILL) and restarted. Requests go to the least
 * busy engine, so one runaway stalls only the requests already queued on its engine; those are
 * retried elsewhere when the caller says a retry is safe.
 */
import type { BridgeWorkerInstance } from "./bridge-worker.ts";

/** The request passed its deadline; its engine was killed. */
export class EngineOverrunError extends Error {
  constructor() {
    super("the run passed its deadline and its engine was restarted");
    this.name = "EngineOverrunError";
  }
}

/** The engine died under the request: another run's overrun, or a crash (`crashed`). */
export class EngineLostError extends Error {
  readonly crashed: boolean;

  constructor(crashed: boolean, options?: ErrorOptions) {
    super(
      crashed
        ? "the isolate engine crashed (most likely a run exhausted its memory)"
        : "the isolate engine was restarted because another run passed its timeout",
      options,
    );
    this.name = "EngineLostError";
    this.crashed = crashed;
  }
}

/** Options of {@link EnginePool}. */
export interface EnginePoolOptions {
  /** Number of engines. */
  size: number;
  /** Starts one engine. */
  start: () => Promise<BridgeWorkerInstance>;
  /** Bearer token the engines expect. */
  token: string;
  /** Engines stop after this long without requests, ms (they start again on demand). */
  idleMs: number;
  /**
   * An engine is replaced once it has answered this many requests, when nothing is pending on it:
   * workerd's memory grows a little with every isolate it has loaded.
   */
  recycleAfter: number;
}

/** Options of one request. */
export interface EnginePostOptions {
  /** The engine is killed if no answer came after this long, ms. */
  deadlineMs: number;
  /** Retry once on another engine when this request's engine is killed for another's overrun. */
  retrySafe: boolean;
}

/** An engine's answer. */
export interface EngineReply {
  status: number;
  text: string;
}

interface PendingRequest {
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  settle(outcome: { reply: EngineReply } | { error: Error }): void;
}

interface EngineSlot {
  instance: Promise<BridgeWorkerInstance> | undefined;
  /** The instance has started and answers. */
  ready: boolean;
  pending: Set<PendingRequest>;
  /** Requests the current instance answered. */
  answered: number;
}

/** The pool. */
export class EnginePool {
  readonly #options: EnginePoolOptions;
  readonly #slots: EngineSlot[];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Idle time before the engines stop, when the owner asked for a shorter one. */
  #idleDelayMs: number | undefined;
  #disposed = false;
  /** Engines killed or crashed so far (for tests and benchmarks). */
  restarts = 0;
  /** Engines replaced after `recycleAfter` requests (for tests and benchmarks). */
  recycles = 0;

  constructor(options: EnginePoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.size }, () => ({
      instance: undefined,
      ready: false,
      pending: new Set(),
      answered: 0,
    }));
  }

  /** Sends `body` to `path` on the least busy engine. */
  async post(path: string, body: string, options: EnginePostOptions): Promise<EngineReply> {
    try {
      return await this.#postOnce(path, body, options);
    } catch (error) {
      if (error instanceof EngineLostError && !error.crashed && options.retrySafe) {
        return this.#postOnce(path, body, options);
      }
      throw error;
    }
  }

  /** Starts every engine now instead of at the first request. */
  async warm(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleDelayMs = undefined;
    await Promise.all(this.#slots.map((slot) => this.#instance(slot)));
    this.#scheduleIdleStop();
  }

  /** Stops every engine; pending requests fail. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    clearTimeout(this.#idleTimer);
    await Promise.all(
      this.#slots.map((slot) => this.#stop(slot, () => new Error("the provider was disposed"))),
    );
  }

  #retiring(slot: EngineSlot): boolean {
    return slot.answered >= this.#options.recycleAfter;
  }

  #pick(): EngineSlot {
    const now = Date.now();
    // An engine due for replacement gets nothing new while another can serve, so it drains.
    const candidates = this.#slots.filter((slot) => !this.#retiring(slot));
    const slots = candidates.length > 0 ? candidates : this.#slots;
    const oldest = (slot: EngineSlot) =>
      Math.max(0, ...[...slot.pending].map((request) => now - request.startedAt));
    // Fewest requests first, then a started engine over one still starting, then the engine whose
    // oldest request is youngest, since an old request may be a runaway blocking those behind it.
    return slots.reduce((best, slot) => {
      if (slot.pending.size !== best.pending.size) return slot.pending.size < best.pending.size ? slot : best;
      if (slot.ready !== best.ready) return slot.ready ? slot : best;
      return oldest(slot) < oldest(best) ? slot : best;
    });
  }

  #instance(slot: EngineSlot): Promise<BridgeWorkerInstance> {
    if (this.#disposed) return Promise.reject(new Error("the provider was disposed"));
    if (slot.instance === undefined) {
      const starting = this.#options.start();
      slot.instance = starting;
      slot.answered = 0;
      starting.then(
        () => {
          if (slot.instance === starting) slot.ready = true;
        },
        () => {
          if (slot.instance === starting) slot.instance = undefined;
        },
      );
    }
    return slot.instance;
  }

  #postOnce(path: string, body: string, options: EnginePostOptions): Promise<EngineReply> {
    clearTimeout(this.#idleTimer);
    this.#idleDelayMs = undefined;
    const slot = this.#pick();
    // Other engines start alongside, so the pool is warm by the time it is needed.
    for (const other of this.#slots) if (other !== slot) this.#instance(other).catch(() => {});
    const starting = this.#instance(slot);
    return new Promise<EngineReply>((resolve, reject) => {
      let settled = false;
      const request: PendingRequest = {
        startedAt: Date.now(),
        timer: undefined,
        settle: (outcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(request.timer);
          slot.pending.delete(request);
          if ("reply" in outcome) slot.answered += 1;
          if (this.#retiring(slot) && slot.pending.size === 0 && slot.instance !== undefined) {
            void this.#stop(slot, () => new Error("recycled"), true, false);
          }
          this.#scheduleIdleStop();
          if ("reply" in outcome) resolve(outcome.reply);
          else reject(outcome.error);
        },
      };
      // Counted at once, so requests arriving while the engine starts spread over the pool.
      slot.pending.add(request);
      starting.then(
        (instance) => {
          if (settled) return;
          // The deadline starts with the request itself, not with the engine's start.
          request.timer = setTimeout(() => {
            const overrun = (other: PendingRequest) =>
              other === request ? new EngineOverrunError() : new EngineLostError(false);
            void this.#stop(slot, overrun, true);
          }, options.deadlineMs);
          instance
            .dispatch(path, {
              method: "POST",
              headers: { authorization: `Bearer ${this.#options.token}`, "content-type": "application/json" },
              body,
            })
            .then(async (response) => ({ status: response.status, text: await response.text() }))
            .then(
              (reply) => request.settle({ reply }),
              (error: unknown) => {
                // Only a failure of the engine still in the slot is a crash; a killed one was handled.
                if (slot.instance === starting) {
                  void this.#stop(slot, () => new EngineLostError(true, { cause: error }), true);
                }
                request.settle({ error: new EngineLostError(true, { cause: error }) });
              },
            );
        },
        (error: unknown) =>
          request.settle({ error: error instanceof Error ? error : new Error(String(error)) }),
      );
    });
  }

  /**
   * Kills the slot's engine and fails its pending requests with `errorFor(request)`; with
   * `restart`, a fresh engine starts at once so the next request finds it warm.
   */
  async #stop(
    slot: EngineSlot,
    errorFor: (request: PendingRequest) => Error,
    restart = false,
    failure = restart,
  ): Promise<void> {
    const starting = slot.instance;
    slot.instance = undefined;
    slot.ready = false;
    const pending = [...slot.pending];
    slot.pending.clear();
    for (const request of pending) request.settle({ error: errorFor(request) });
    if (starting !== undefined && failure) this.restarts += 1;
    if (starting !== undefined && !failure && restart) this.recycles += 1;
    if (restart) this.#instance(slot).catch(() => {});
    const instance = await starting?.catch(() => undefined);
    await instance?.dispose();
  }

  /**
   * Stops the engines once nothing is pending for `delayMs` (default: the pool's idle time).
   * The owner passes a short delay when no sandbox is left to use them.
   */
  stopWhenIdle(delayMs: number = this.#options.idleMs): void {
    this.#idleDelayMs = delayMs;
    this.#scheduleIdleStop();
  }

  #scheduleIdleStop(): void {
    if (this.#slots.some((slot) => slot.pending.size > 0) || this.#disposed) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      for (const slot of this.#slots) {
        if (slot.pending.size === 0) void this.#stop(slot, () => new Error("idle"));
      }
    }, this.#idleDelayMs ?? this.#options.idleMs);
    this.#idleTimer.unref();
  }
}
