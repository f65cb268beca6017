/**
 * The ledger the router records live sandboxes in, as an interface: the durable one is SQLite
 * (`@sandport/router/node`, for Node); the default keeps entries in memory, for runtimes without a
 * filesystem and for callers that reap nothing across processes.
 */

/** One live sandbox. */
export interface LedgerEntry {
  /** The owning provider's id for it (`<provider>:<vendor id>`). */
  sandboxId: string;
  providerId: string;
  /** The process that created it, and that process's start (so a reused pid is not mistaken for it). */
  ownerPid: number;
  ownerStart: string;
  createdAt: number;
  expiresAt?: number;
  labels: Record<string, string>;
}

/** A provider's health as some router last recorded it (so other processes can show it). */
export interface RecordedHealth {
  circuit: "closed" | "open" | "half-open";
  consecutiveFailures: number;
  /** When a `Retry-After` the provider sent ends (ms since the epoch). */
  retryAfterUntil?: number;
  /** When it was recorded (ms since the epoch). */
  recordedAt: number;
}

/** Where the router records its sandboxes. Calls may throw; the router keeps its own list then. */
export interface RouterLedger {
  /** Who owns the entries this process records. */
  owner(): { pid: number; start: string };
  add(entry: LedgerEntry): void;
  remove(sandboxId: string): void;
  entries(): LedgerEntry[];
  /** Entries a reap should take: past their lifetime, or whose owner process is gone. */
  due(now: number): LedgerEntry[];
  /** Records a provider's health after it changed. */
  recordHealth(providerId: string, health: RecordedHealth): void;
  /** The last health each provider was recorded with, by any process sharing the ledger. */
  recordedHealth(): Record<string, RecordedHealth>;
  close(): void;
}

/** A ledger in memory: entries of this process only, due when their lifetime passed. */
export function createMemoryLedger(): RouterLedger {
  const entries = new Map<string, LedgerEntry>();
  const health = new Map<string, RecordedHealth>();
  return {
    owner: () => ({ pid: 0, start: "memory" }),
    add: (entry) => {
      entries.set(entry.sandboxId, entry);
    },
    remove: (sandboxId) => {
      entries.delete(sandboxId);
    },
    entries: () => [...entries.values()],
    due: (now) =>
      [...entries.values()].filter((entry) => entry.expiresAt !== undefined && entry.expiresAt <= now),
    recordHealth: (providerId, recorded) => {
      health.set(providerId, recorded);
    },
    recordedHealth: () => Object.fromEntries(health),
    close: () => entries.clear(),
  };
}
