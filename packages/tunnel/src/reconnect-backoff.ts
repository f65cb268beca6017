/**
 * Full-jitter exponential backoff (a random wait between 0 and min(cap, base * 2^attempt)), so a
 * fleet of daemons that lost the same gateway does not redial in step. No limit on attempts; a
 * connection that stayed up for the healthy period starts the sequence over.
 */

/** Settings of {@link ReconnectBackoff}. */
export interface ReconnectBackoffSettings {
  /** Default 1000 ms. */
  baseMs?: number;
  /** Default 30,000 ms. */
  capMs?: number;
  /** Source of randomness in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/** The delays between reconnection attempts. */
export class ReconnectBackoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(settings: ReconnectBackoffSettings = {}) {
    this.#baseMs = settings.baseMs ?? 1000;
    this.#capMs = settings.capMs ?? 30_000;
    this.#random = settings.random ?? Math.random;
  }

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The wait before the next attempt, ms; counts the attempt. */
  nextDelayMs(): number {
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.floor(this.#random() * ceiling);
  }

  /** Starts over (after a healthy period). */
  reset(): void {
    this.#attempt = 0;
  }
}
