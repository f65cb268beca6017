/**
 * The audit log: one JSON line per tool call, with what happened but never what ran. Code, file
 * contents, command lines, environment values and tokens are never written.
 */
import { createWriteStream, type WriteStream } from "node:fs";

/** One tool call, as the audit log keeps it. */
export interface AuditRecord {
  /** ISO 8601 time the call started. */
  time: string;
  tool: string;
  tenant?: string;
  /** Provider that served the call (the router's choice when "auto"). */
  provider?: string;
  sandboxId?: string;
  durationMs: number;
  exitCode?: number;
  timedOut?: boolean;
  truncated?: boolean;
  /** The sandport error code when the call failed. */
  errorCode?: string;
  /** How the call arrived: `stdio`, `http` or `tunnel`. */
  transport?: string;
}

/** Where audit records go. */
export interface AuditLog {
  write(record: AuditRecord): void;
  /** Flushes and closes the sink. */
  close(): Promise<void>;
}

/** An audit log appending JSON lines to `path` (created with mode 0600). */
export function createFileAuditLog(path: string): AuditLog {
  const stream: WriteStream = createWriteStream(path, { flags: "a", mode: 0o600 });
  // A full disk must not take the daemon down: a write error stops the log, not the calls.
  stream.on("error", () => {});
  return {
    write(record) {
      if (!stream.destroyed) stream.write(`${JSON.stringify(record)}\n`);
    },
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}

/** An audit log handing each record to `write` (tests, or a caller's own sink). */
export function createCallbackAuditLog(write: (record: AuditRecord) => void): AuditLog {
  return { write, close: async () => {} };
}
