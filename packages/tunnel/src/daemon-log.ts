/**
 * Operational log of the daemon and the gateway: one event name and a few plain fields per entry.
 * Callers pass only ids, counts, codes and lengths, never frame contents, code or tokens, so a log
 * line cannot carry a secret.
 */

/** One log entry. `event` is `<noun>-<verb>`, e.g. `tunnel-connected`, `frame-rejected`. */
export interface DaemonLogEntry {
  level: "debug" | "info" | "warn" | "error";
  event: string;
  [field: string]: string | number | boolean | null | undefined;
}

/** Receives log entries. */
export type DaemonLogger = (entry: DaemonLogEntry) => void;

/** A logger writing one JSON line per entry to standard error (stdout may carry MCP over stdio). */
export function stderrLogger(minimumLevel: DaemonLogEntry["level"] = "info"): DaemonLogger {
  const order = ["debug", "info", "warn", "error"];
  const minimum = order.indexOf(minimumLevel);
  return (entry) => {
    if (order.indexOf(entry.level) < minimum) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  };
}

/** A logger that drops everything. */
export const silentLogger: DaemonLogger = () => {};

/** The message of an unknown thrown value, for a log line (error messages never carry secrets). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
