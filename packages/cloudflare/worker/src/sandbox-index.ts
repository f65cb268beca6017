/**
 * One tenant's list of live sandboxes, so a caller can find (and reap) what it created, and the
 * tenant's quota counters. One instance per tenant (see tenants.ts for its name); each sandbox
 * adds itself when created and removes itself when deleted. Entries past their lifetime are never
 * listed nor counted, even if a removal was lost. A Durable Object runs one call at a time, so each
 * check-and-record below is atomic.
 */
import { DurableObject } from "cloudflare:workers";
import type { IsolateWorkerSandboxInfo } from "../../src/isolate/isolate-worker-protocol.ts";
import { failed, type Outcome, succeeded } from "./outcome.ts";
import { type Tenant, tenantIndexName } from "./tenants.ts";
import type { IsolateWorkerEnv } from "./worker-env.ts";

/** The index of `tenant`. */
export function sandboxIndex(env: IsolateWorkerEnv, tenant: Tenant): DurableObjectStub<SandboxIndex> {
  return env.SANDBOX_INDEX.get(env.SANDBOX_INDEX.idFromName(tenantIndexName(tenant)));
}

const minuteMs = 60_000;

/** A refused run: when the current window ends. */
export interface RunRefusal {
  retryAfterMs: number;
}

/** The Durable Object holding one tenant's index. */
export class SandboxIndex extends DurableObject<IsolateWorkerEnv> {
  constructor(state: DurableObjectState, env: IsolateWorkerEnv) {
    super(state, env);
    const sql = state.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS sandboxes (id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at INTEGER)",
    );
    // Indexes made before quotas existed lack the column.
    const columns = sql.exec<{ name: string }>("PRAGMA table_info(sandboxes)").toArray();
    if (!columns.some((column) => column.name === "stored_bytes")) {
      sql.exec("ALTER TABLE sandboxes ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0");
    }
    sql.exec("CREATE TABLE IF NOT EXISTS run_window (id INTEGER PRIMARY KEY, started INTEGER, runs INTEGER)");
  }

  #purgeExpired(): void {
    this.ctx.storage.sql.exec(
      "DELETE FROM sandboxes WHERE expires_at IS NOT NULL AND expires_at <= ?",
      Date.now(),
    );
  }

  /** Records a new sandbox, unless the tenant already has `maxSandboxes` live ones. */
  admit(info: IsolateWorkerSandboxInfo, maxSandboxes: number | undefined): Outcome<null> {
    if (maxSandboxes !== undefined) {
      this.#purgeExpired();
      const live = this.ctx.storage.sql
        .exec<{ live: number }>("SELECT COUNT(*) AS live FROM sandboxes")
        .one().live;
      if (live >= maxSandboxes) {
        return failed(
          "quota_exceeded",
          `this tenant has ${live} live sandboxes, its limit; destroy one or wait for one to expire`,
        );
      }
    }
    this.add(info);
    return succeeded(null);
  }

  /** Records a new sandbox. */
  add(info: IsolateWorkerSandboxInfo): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO sandboxes (id, info, expires_at, stored_bytes) VALUES (?, ?, ?, 0)",
      info.id,
      JSON.stringify(info),
      info.expiresAt ?? null,
    );
  }

  /** Forgets a sandbox (and the bytes it held). */
  remove(id: string): void {
    this.ctx.storage.sql.exec("DELETE FROM sandboxes WHERE id = ?", id);
  }

  #storedByOthers(id: string): number {
    this.#purgeExpired();
    return (
      this.ctx.storage.sql
        .exec<{ total: number | null }>("SELECT SUM(stored_bytes) AS total FROM sandboxes WHERE id != ?", id)
        .one().total ?? 0
    );
  }

  /** How many bytes sandbox `id` may hold under the tenant's `maxStoredBytes`. */
  storageRoom(id: string, maxStoredBytes: number): number {
    return Math.max(0, maxStoredBytes - this.#storedByOthers(id));
  }

  /**
   * Records that sandbox `id` now holds `bytes`, unless the tenant's total would pass
   * `maxStoredBytes` (then nothing changes).
   */
  reserveStorage(id: string, bytes: number, maxStoredBytes: number): Outcome<null> {
    const others = this.#storedByOthers(id);
    if (others + bytes > maxStoredBytes) {
      return failed(
        "quota_exceeded",
        `this tenant's sandboxes would hold ${others + bytes} bytes of files, over its limit of ${maxStoredBytes}`,
      );
    }
    this.ctx.storage.sql.exec("UPDATE sandboxes SET stored_bytes = ? WHERE id = ?", bytes, id);
    return succeeded(null);
  }

  /** Counts one run in the current one-minute window, or says when the next window opens. */
  takeRun(maxRunsPerMinute: number): RunRefusal | null {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    const window = sql
      .exec<{ started: number; runs: number }>("SELECT started, runs FROM run_window WHERE id = 1")
      .toArray()[0];
    if (window === undefined || now - window.started >= minuteMs) {
      sql.exec("INSERT OR REPLACE INTO run_window (id, started, runs) VALUES (1, ?, 1)", now);
      return null;
    }
    if (window.runs >= maxRunsPerMinute) return { retryAfterMs: window.started + minuteMs - now };
    sql.exec("UPDATE run_window SET runs = runs + 1 WHERE id = 1");
    return null;
  }

  /** Live sandboxes carrying all of `labels`, compared as own keys only (see {@link matchesLabels}). */
  list(labels: Record<string, string>): IsolateWorkerSandboxInfo[] {
    this.#purgeExpired();
    const rows = this.ctx.storage.sql
      .exec<{ info: string }>("SELECT info FROM sandboxes ORDER BY id")
      .toArray();
    return rows
      .map((row) => JSON.parse(row.info) as IsolateWorkerSandboxInfo)
      .filter((info) => matchesLabels(info.labels, labels));
  }
}

/**
 * Whether `labels` carry every label of `filter`: core's `matchesLabels`, restated because the
 * Worker cannot import core. Own keys only, so a filter key like `toString` or `__proto__` never
 * matches through the prototype.
 */
export function matchesLabels(
  labels: Readonly<Record<string, string>>,
  filter: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(filter).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value);
}
