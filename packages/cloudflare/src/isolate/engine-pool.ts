/**
 * A pool of supervised workerd engines for local mode. workerd enforces no CPU limit and dies
 * whole when one isolate exhausts memory, so the pool does it: every request has a deadline, and
 * an engine whose request passes it is killed (SIGKILL) and restarted.
 *
 * Each engine serves one request at a time; the others wait in the pool for a free engine. A run
 * then never shares an engine with another sandbox's run, so a run that exhausts memory, crashes
 * its engine or passes its deadline costs only itself: nothing else was in flight there. It also
 * makes an engine's memory cap (RLIMIT_DATA) the cap of the one run it serves.
 */

import type { IsolateWorkerInstance } from "./isolate-worker.ts";
import { engineStopHeader } from "./isolate-worker-protocol.ts";

/** The request passed its deadline; its engine was killed. */
export class EngineOverrunError extends Error {
  constructor() {
    super("the run passed its deadline and its engine was restarted");
    this.name = "EngineOverrunError";
  }
}

/** The engine died under the request, which was the only one it served. */
export class EngineLostError extends Error {
  constructor(options?: ErrorOptions) {
    super("the isolate engine crashed under the run (most likely the run exhausted its memory)", options);
    this.name = "EngineLostError";
  }
}

/** The request was withdrawn while it waited for a free engine; it never ran. */
export class EngineWaitAbortedError extends Error {
  constructor(options?: ErrorOptions) {
    super("the run was withdrawn before an engine took it", options);
    this.name = "EngineWaitAbortedError";
  }
}

/** The request was ended while an engine ran it: the engine was killed (and restarted). */
export class EngineRunStoppedError extends Error {
  constructor(options?: ErrorOptions) {
    super("the run was stopped while it ran; its engine was restarted", options);
    this.name = "EngineRunStoppedError";
  }
}

/** Options of {@link EnginePool}. */
export interface EnginePoolOptions {
  /** Number of engines, and so of requests served at once. */
  size: number;
  /** Starts one engine. */
  start: () => Promise<IsolateWorkerInstance>;
  /** Bearer token the engines expect. */
  token: string;
  /** Engines stop after this long without requests, ms (they start again on demand). */
  idleMs: number;
  /**
   * An engine is replaced once it has answered this many requests: workerd's memory grows a
   * little with every isolate it has loaded.
   */
  recycleAfter: number;
  /**
   * Asked after each answer: true replaces the engine before it takes another request (its
   * leftover memory would leave the next run less than its due). Default: never.
   */
  worn?: (instance: IsolateWorkerInstance) => boolean;
}

/** Options of one request. */
export interface EnginePostOptions {
  /** The engine is killed if no answer came this long after it took the request, ms. */
  deadlineMs: number;
  /**
   * Ends the request: withdrawn while it waits for an engine; once an engine runs it, that engine
   * is killed and restarted, since workerd cannot stop one isolate's code any other way.
   */
  signal?: AbortSignal;
}

/** An engine's answer. */
export interface EngineReply {
  status: number;
  text: string;
  /** The engine asked to be stopped after this answer (see {@link engineStopHeader}). */
  stopEngine?: boolean;
}

type Outcome = { reply: EngineReply } | { error: Error };

interface WaitingRequest {
  path: string;
  body: string;
  options: EnginePostOptions;
  settle(outcome: Outcome): void;
}

interface RunningRequest {
  timer: ReturnType<typeof setTimeout> | undefined;
  settle(outcome: Outcome): void;
}

interface EngineSlot {
  instance: Promise<IsolateWorkerInstance> | undefined;
  /** The instance has started and answers. */
  ready: boolean;
  /** The one request the engine serves, if any. */
  running: RunningRequest | undefined;
  /** Requests the current instance answered. */
  answered: number;
}

/** The pool. */
export class EnginePool {
  readonly #options: EnginePoolOptions;
  readonly #slots: EngineSlot[];
  /** Requests waiting for a free engine, oldest first. */
  readonly #waiting: WaitingRequest[] = [];
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
      running: undefined,
      answered: 0,
    }));
  }

  /** Sends `body` to `path` on the first engine that is free. */
  post(path: string, body: string, options: EnginePostOptions): Promise<EngineReply> {
    if (this.#disposed) return Promise.reject(new Error("the provider was disposed"));
    clearTimeout(this.#idleTimer);
    this.#idleDelayMs = undefined;
    return new Promise<EngineReply>((resolve, reject) => {
      const { signal } = options;
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiting);
        if (index === -1) return;
        this.#waiting.splice(index, 1);
        waiting.settle({ error: new EngineWaitAbortedError({ cause: signal?.reason }) });
        this.#scheduleIdleStop();
      };
      const waiting: WaitingRequest = {
        path,
        body,
        options,
        settle: (outcome) => {
          signal?.removeEventListener("abort", onAbort);
          if ("reply" in outcome) resolve(outcome.reply);
          else reject(outcome.error);
        },
      };
      if (signal?.aborted) return reject(new EngineWaitAbortedError({ cause: signal.reason }));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiting);
      // Every engine starts, so the pool is warm by the time it is needed.
      for (const slot of this.#slots) this.#instance(slot).catch(() => {});
      this.#dispatch();
    });
  }

  /** Starts every engine now instead of at the first request. */
  async warm(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleDelayMs = undefined;
    await Promise.all(this.#slots.map((slot) => this.#instance(slot)));
    this.#scheduleIdleStop();
  }

  /** Stops every engine; running and waiting requests fail. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    clearTimeout(this.#idleTimer);
    for (const waiting of this.#waiting.splice(0)) {
      waiting.settle({ error: new Error("the provider was disposed") });
    }
    await Promise.all(this.#slots.map((slot) => this.#stop(slot, new Error("the provider was disposed"))));
  }

  /** Hands waiting requests to free engines: started ones first, then ones still starting. */
  #dispatch(): void {
    while (this.#waiting.length > 0 && !this.#disposed) {
      const free = this.#slots.filter((slot) => slot.running === undefined);
      const slot = free.find((candidate) => candidate.ready) ?? free[0];
      if (slot === undefined) return;
      this.#run(slot, this.#waiting.shift() as WaitingRequest);
    }
  }

  #instance(slot: EngineSlot): Promise<IsolateWorkerInstance> {
    if (this.#disposed) return Promise.reject(new Error("the provider was disposed"));
    if (slot.instance === undefined) {
      const starting = this.#options.start();
      slot.instance = starting;
      slot.answered = 0;
      starting.then(
        () => {
          if (slot.instance !== starting) return;
          slot.ready = true;
          // A started engine may be preferred by requests waiting for one.
          this.#dispatch();
        },
        () => {
          if (slot.instance === starting) slot.instance = undefined;
        },
      );
    }
    return slot.instance;
  }

  #run(slot: EngineSlot, waiting: WaitingRequest): void {
    const starting = this.#instance(slot);
    let settled = false;
    let started: IsolateWorkerInstance | undefined;
    const { signal } = waiting.options;
    const onAbort = () => {
      if (slot.running === running && slot.instance === starting) {
        void this.#stop(slot, new EngineRunStoppedError({ cause: signal?.reason }), { restart: true });
      }
    };
    const running: RunningRequest = {
      timer: undefined,
      settle: (outcome) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        clearTimeout(running.timer);
        if (slot.running === running) slot.running = undefined;
        if ("reply" in outcome) slot.answered += 1;
        const worn = "reply" in outcome && started !== undefined && (this.#options.worn?.(started) ?? false);
        const stop = "reply" in outcome && outcome.reply.stopEngine === true;
        if ((slot.answered >= this.#options.recycleAfter || worn || stop) && slot.instance === starting) {
          void this.#stop(slot, new Error("recycled"), { restart: true, failure: false });
        }
        waiting.settle(outcome);
        this.#dispatch();
        this.#scheduleIdleStop();
      },
    };
    slot.running = running;
    if (signal?.aborted) {
      running.settle({ error: new EngineWaitAbortedError({ cause: signal.reason }) });
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    starting.then(
      (instance) => {
        if (settled) return;
        started = instance;
        // The deadline starts with the request itself, not with the engine's start.
        running.timer = setTimeout(() => {
          void this.#stop(slot, new EngineOverrunError(), { restart: true, failure: true });
        }, waiting.options.deadlineMs);
        instance
          .dispatch(waiting.path, {
            method: "POST",
            headers: { authorization: `Bearer ${this.#options.token}`, "content-type": "application/json" },
            body: waiting.body,
          })
          .then(async (response) => ({
            status: response.status,
            text: await response.text(),
            stopEngine: response.headers.has(engineStopHeader),
          }))
          .then(
            (reply) => running.settle({ reply }),
            (error: unknown) => {
              // Only a failure of the engine still in the slot is a crash; a killed one was handled.
              if (slot.instance === starting) {
                void this.#stop(slot, new EngineLostError({ cause: error }), {
                  restart: true,
                  failure: true,
                });
              }
              running.settle({ error: new EngineLostError({ cause: error }) });
            },
          );
      },
      (error: unknown) =>
        running.settle({ error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  /**
   * Kills the slot's engine and fails its running request with `error`; with `restart`, a fresh
   * engine starts at once so the next request finds it warm.
   */
  async #stop(
    slot: EngineSlot,
    error: Error,
    { restart = false, failure = false }: { restart?: boolean; failure?: boolean } = {},
  ): Promise<void> {
    const starting = slot.instance;
    slot.instance = undefined;
    slot.ready = false;
    if (starting !== undefined && failure) this.restarts += 1;
    if (starting !== undefined && !failure && restart) this.recycles += 1;
    if (restart) this.#instance(slot).catch(() => {});
    slot.running?.settle({ error });
    const instance = await starting?.catch(() => undefined);
    await instance?.dispose();
  }

  /**
   * Stops the engines once nothing is running or waiting for `delayMs` (default: the pool's idle
   * time). The owner passes a short delay when no sandbox is left to use them.
   */
  stopWhenIdle(delayMs: number = this.#options.idleMs): void {
    this.#idleDelayMs = delayMs;
    this.#scheduleIdleStop();
  }

  #scheduleIdleStop(): void {
    const busy = this.#waiting.length > 0 || this.#slots.some((slot) => slot.running !== undefined);
    if (busy || this.#disposed) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      for (const slot of this.#slots) {
        if (slot.running === undefined) void this.#stop(slot, new Error("idle"));
      }
    }, this.#idleDelayMs ?? this.#options.idleMs);
    this.#idleTimer.unref();
  }
}
