/** Percentiles and timing helpers for the benchmarks. */

/** The p-th percentile (0-100) of `values`, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Runs `run` `count` times (after `warmup` unmeasured runs) and returns each duration in ms. */
export async function measure(count: number, run: () => Promise<unknown>, warmup = 5): Promise<number[]> {
  for (let index = 0; index < warmup; index++) await run();
  const durations: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await run();
    durations.push(performance.now() - started);
  }
  return durations;
}

/** Formats milliseconds for the report. */
export function milliseconds(value: number): string {
  return value < 1 ? `${(value * 1000).toFixed(2)} µs` : `${value.toFixed(2)} ms`;
}

/**
 * Runs `first` and `second` alternately, `count` times each (after `warmup` unmeasured pairs), and
 * returns each one's durations in ms. Alternating keeps a change in machine load from favouring
 * whichever was measured second.
 */
export async function measureAlternately(
  count: number,
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  warmup = 5,
): Promise<[number[], number[]]> {
  for (let index = 0; index < warmup; index++) {
    await first();
    await second();
  }
  const firstDurations: number[] = [];
  const secondDurations: number[] = [];
  for (let index = 0; index < count; index++) {
    let started = performance.now();
    await first();
    firstDurations.push(performance.now() - started);
    started = performance.now();
    await second();
    secondDurations.push(performance.now() - started);
  }
  return [firstDurations, secondDurations];
}

/** What {@link measureThroughput} counted. */
export interface Throughput {
  /** Runs that resolved. */
  runs: number;
  /** Runs that resolved, per second. */
  runsPerSecond: number;
  /** Runs that threw (not counted in the rate). */
  failures: number;
}

/**
 * Runs `run` in a loop from `callers` concurrent callers until `durationMs` has passed. Runs in
 * flight at the deadline are waited for and counted; a run that throws is counted as a failure
 * instead, so one bad run neither ends the measurement nor flatters the rate.
 */
export async function measureThroughput(
  callers: number,
  durationMs: number,
  run: (caller: number) => Promise<unknown>,
): Promise<Throughput> {
  const started = performance.now();
  const deadline = started + durationMs;
  let runs = 0;
  let failures = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      while (performance.now() < deadline) {
        try {
          await run(caller);
          runs += 1;
        } catch {
          failures += 1;
        }
      }
    }),
  );
  return { runs, runsPerSecond: runs / ((performance.now() - started) / 1000), failures };
}

/** Formats a byte count as MB (2^20 bytes). */
export function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}
