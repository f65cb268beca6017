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
