/** The benchmark's table: rows collected by each measurement, printed once at the end. */

/** One line of the table. A row with a `target` also says whether the target was met. */
export interface BenchRow {
  name: string;
  value: string;
  target?: string;
  met?: boolean;
}

/** Prints `header`, then one aligned line per row; targets are reported, never asserted. */
export function printReport(header: string, rows: readonly BenchRow[]): void {
  const width = Math.max(...rows.map((row) => row.name.length));
  console.log(header);
  for (const row of rows) {
    const verdict = row.target === undefined ? "" : `  target ${row.target}: ${row.met ? "met" : "MISSED"}`;
    console.log(`${row.name.padEnd(width)}  ${row.value.padStart(10)}${verdict}`);
  }
}
