/**
 * The durable ledger: every live sandbox the router created, with the process that owns it, its
 * lifetime and labels, in SQLite (`node:sqlite`), so that another process can reap what a crashed
 * one left behind. One file per user by default; `:memory:` keeps nothing across processes.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ConfigInvalidError } from "@sandport/core";
import type { LedgerEntry, RecordedHealth, RouterLedger } from "../router-ledger.ts";

/** The default ledger file: under `$XDG_STATE_HOME` (or `~/.local/state`)/sandport. */
export function defaultLedgerPath(env: NodeJS.ProcessEnv = process.env): string {
  const stateHome = env.XDG_STATE_HOME?.startsWith("/")
    ? env.XDG_STATE_HOME
    : join(homedir(), ".local", "state");
  return join(stateHome, "sandport", "ledger.sqlite");
}

/**
 * The identity of a running process: its start time since boot and the boot's id (Linux), so a
 * pid reused after the owner died never counts as the owner. Elsewhere only the pid is known.
 */
export function processStartIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ..." - comm may hold spaces and parentheses: split after the last ")".
    const startTicks = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot}:${startTicks}`;
  } catch {
    return undefined;
  }
}

/** Whether the process that owns an entry is still running. */
export function ownerIsAlive(entry: Pick<LedgerEntry, "ownerPid" | "ownerStart">): boolean {
  try {
    process.kill(entry.ownerPid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const identity = processStartIdentity(entry.ownerPid);
  return identity === undefined || entry.ownerStart === "unknown" || identity === entry.ownerStart;
}

interface Row {
  sandbox_id: string;
  provider_id: string;
  owner_pid: number;
  owner_start: string;
  created_at: number;
  expires_at: number | null;
  labels: string;
}

type Statement = { run(...values: unknown[]): unknown; all(...values: unknown[]): unknown[] };
type Database = { exec(sql: string): void; prepare(sql: string): Statement; close(): void };

/** The ledger file, opened. */
export class SandboxLedger implements RouterLedger {
  readonly path: string;
  readonly #database: Database;
  readonly #insert: Statement;
  readonly #delete: Statement;
  readonly #all: Statement;
  readonly #putHealth: Statement;
  readonly #allHealth: Statement;

  private constructor(path: string, database: Database) {
    this.path = path;
    this.#database = database;
    this.#insert = database.prepare(
      "INSERT OR REPLACE INTO sandboxes (sandbox_id, provider_id, owner_pid, owner_start, created_at, expires_at, labels) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#delete = database.prepare("DELETE FROM sandboxes WHERE sandbox_id = ?");
    this.#all = database.prepare("SELECT * FROM sandboxes ORDER BY created_at, sandbox_id");
    this.#putHealth = database.prepare(
      "INSERT OR REPLACE INTO provider_health (provider_id, health) VALUES (?, ?)",
    );
    this.#allHealth = database.prepare(
      "SELECT provider_id, health FROM provider_health ORDER BY provider_id",
    );
  }

  /**
   * Opens (creating) the ledger at `path` (see {@link openSqliteLedger}). A file that is not a ledger, or one that stays locked,
   * is `config_invalid` naming the path and what to do.
   */
  static async open(path: string): Promise<SandboxLedger> {
    let sqlite: { DatabaseSync: new (path: string, options?: object) => Database };
    try {
      sqlite = (await import("node:sqlite")) as never;
    } catch (error) {
      throw new ConfigInvalidError(
        `the router's ledger needs node:sqlite (Node.js 22.13 or later); this is ${process.version}`,
        { cause: error },
      );
    }
    if (path !== ":memory:") {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new ConfigInvalidError(
          `policy.ledger.path: cannot create the folder of "${path}" (${(error as NodeJS.ErrnoException).code ?? "error"}); point policy.ledger.path at a writable place`,
          { cause: error },
        );
      }
    }
    try {
      const database = new sqlite.DatabaseSync(path);
      database.exec("PRAGMA busy_timeout = 5000");
      if (path !== ":memory:") {
        database.exec("PRAGMA journal_mode = WAL");
        // WAL with NORMAL survives a crash of any process (what reaping needs) without an fsync per
        // create and destroy; only a power loss may drop the last entries.
        database.exec("PRAGMA synchronous = NORMAL");
      }
      database.exec(
        "CREATE TABLE IF NOT EXISTS sandboxes (sandbox_id TEXT PRIMARY KEY, provider_id TEXT NOT NULL, owner_pid INTEGER NOT NULL, owner_start TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, labels TEXT NOT NULL)",
      );
      database.exec(
        "CREATE TABLE IF NOT EXISTS provider_health (provider_id TEXT PRIMARY KEY, health TEXT NOT NULL)",
      );
      return new SandboxLedger(path, database);
    } catch (error) {
      throw new ConfigInvalidError(
        `policy.ledger.path: "${path}" cannot be used as the router's ledger (${describeDatabaseError(error)}); ` +
          "point policy.ledger.path at another file, or move this one aside",
        { cause: error },
      );
    }
  }

  readonly #owner = { pid: process.pid, start: processStartIdentity(process.pid) ?? "unknown" };

  owner(): { pid: number; start: string } {
    return this.#owner;
  }

  /** Entries past their lifetime, or whose owner process is gone. */
  due(now: number): LedgerEntry[] {
    return this.entries().filter(
      (entry) => (entry.expiresAt !== undefined && entry.expiresAt <= now) || !ownerIsAlive(entry),
    );
  }

  /** Records a live sandbox. */
  add(entry: LedgerEntry): void {
    this.#insert.run(
      entry.sandboxId,
      entry.providerId,
      entry.ownerPid,
      entry.ownerStart,
      entry.createdAt,
      entry.expiresAt ?? null,
      JSON.stringify(entry.labels),
    );
  }

  recordHealth(providerId: string, health: RecordedHealth): void {
    this.#putHealth.run(providerId, JSON.stringify(health));
  }

  recordedHealth(): Record<string, RecordedHealth> {
    const rows = this.#allHealth.all() as { provider_id: string; health: string }[];
    return Object.fromEntries(rows.map((row) => [row.provider_id, JSON.parse(row.health) as RecordedHealth]));
  }

  /** Forgets a sandbox (destroyed, or found gone). */
  remove(sandboxId: string): void {
    this.#delete.run(sandboxId);
  }

  /** Every entry. */
  entries(): LedgerEntry[] {
    return (this.#all.all() as Row[]).map((row) => ({
      sandboxId: row.sandbox_id,
      providerId: row.provider_id,
      ownerPid: row.owner_pid,
      ownerStart: row.owner_start,
      createdAt: row.created_at,
      ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
      labels: JSON.parse(row.labels) as Record<string, string>,
    }));
  }

  close(): void {
    this.#database.close();
  }
}

function describeDatabaseError(error: unknown): string {
  const code = (error as { code?: unknown; errcode?: unknown }).errcode ?? (error as { code?: unknown }).code;
  return typeof code === "number" || typeof code === "string"
    ? `SQLite error ${code}`
    : "not a SQLite database";
}

/**
 * Opens (creating) the SQLite ledger at `path` (`":memory:"` for none that outlives the process).
 * A file that is not a ledger, or one that stays locked, is `config_invalid` naming the path.
 */
export function openSqliteLedger(path: string = defaultLedgerPath()): Promise<SandboxLedger> {
  return SandboxLedger.open(path);
}
