/**
 * What the router knows about each provider's health: a circuit breaker (cockatiel) that takes a
 * provider out after consecutive retryable failures and lets one probe through once it has rested,
 * a `Retry-After` the provider asked for, and the create latencies it observed.
 */
import { SandportError } from "@sandport/core";
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from "cockatiel";

/** What `explain` and `sandport providers` show of one provider's health. */
export interface HealthReport {
  circuit: "closed" | "open" | "half-open";
  /** Consecutive retryable failures counted by the breaker's last run. */
  consecutiveFailures: number;
  /** When a `Retry-After` the provider sent ends (ms since the epoch), if it has not yet. */
  retryAfterUntil?: number;
  /** Expected create latency, ms: the declared prior blended with what was observed. */
  expectedLatencyMs: number;
  /** Creates observed. */
  observedCreates: number;
}

/** Breaker settings. */
export interface HealthOptions {
  failures: number;
  halfOpenAfterMs: number;
}

// Weight of the newest observation in the latency average.
const latencySmoothing = 0.3;

/** Failures that say something about the provider's health (never the caller's mistakes). */
export function countsAgainstHealth(error: unknown): boolean {
  return SandportError.isInstance(error) && error.isRetryable;
}

/** One provider's health. */
export class ProviderHealth {
  readonly #breaker: CircuitBreakerPolicy;
  readonly #halfOpenAfterMs: number;
  #openedAt: number | undefined;
  #failures = 0;
  #retryAfterUntil: number | undefined;
  #latencyMs: number;
  #observed = 0;

  constructor(priorLatencyMs: number, options: HealthOptions) {
    this.#latencyMs = priorLatencyMs;
    this.#halfOpenAfterMs = options.halfOpenAfterMs;
    this.#breaker = circuitBreaker(handleWhen(countsAgainstHealth), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    this.#breaker.onBreak(() => {
      this.#openedAt = Date.now();
    });
    this.#breaker.onReset(() => {
      this.#openedAt = undefined;
      this.#failures = 0;
    });
  }

  /**
   * Why the provider cannot take a create now (its circuit is open and not yet due for a probe, or
   * its `Retry-After` has not passed), or undefined.
   */
  unavailableReason(now: number): string | undefined {
    if (this.#retryAfterUntil !== undefined && now < this.#retryAfterUntil) {
      return `asked to wait until ${new Date(this.#retryAfterUntil).toISOString()} (Retry-After)`;
    }
    if (this.#breaker.state === CircuitState.Open && this.#openedAt !== undefined) {
      if (now - this.#openedAt < this.#halfOpenAfterMs) {
        return `circuit open after ${this.#failures} consecutive failures; probed again after ${this.#halfOpenAfterMs} ms`;
      }
    }
    return undefined;
  }

  /** Runs a create through the breaker, recording its latency and any `Retry-After`. */
  async run<T>(create: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await this.#breaker.execute(create);
      this.#failures = 0;
      this.#retryAfterUntil = undefined;
      this.#observe(performance.now() - started);
      return value;
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw error;
      if (countsAgainstHealth(error)) this.#failures += 1;
      const wait = SandportError.isInstance(error) ? error.retryAfterMs : undefined;
      if (wait !== undefined && wait > 0) this.#retryAfterUntil = Date.now() + wait;
      throw error;
    }
  }

  #observe(durationMs: number): void {
    this.#observed += 1;
    this.#latencyMs = latencySmoothing * durationMs + (1 - latencySmoothing) * this.#latencyMs;
  }

  /** Expected create latency, ms. */
  get expectedLatencyMs(): number {
    return this.#latencyMs;
  }

  report(now: number): HealthReport {
    const state = this.#breaker.state;
    const circuit =
      state === CircuitState.Closed
        ? "closed"
        : state === CircuitState.HalfOpen ||
            (this.#openedAt !== undefined && now - this.#openedAt >= this.#halfOpenAfterMs)
          ? "half-open"
          : "open";
    return {
      circuit,
      consecutiveFailures: this.#failures,
      ...(this.#retryAfterUntil !== undefined && now < this.#retryAfterUntil
        ? { retryAfterUntil: this.#retryAfterUntil }
        : {}),
      expectedLatencyMs: this.#latencyMs,
      observedCreates: this.#observed,
    };
  }
}
