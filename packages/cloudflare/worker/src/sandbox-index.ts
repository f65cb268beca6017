/**
 * The deployment's list of live sandboxes, so a caller can find (and reap) what it created. One
 * instance, named "index"; each sandbox adds itself when created and removes itself when deleted.
 * Entries past their lifetime are never listed, even if a removal was lost.
 */
import { DurableObject } from "cloudflare:workers";
import type { IsolateWorkerSandboxInfo } from "../../src/isolate/isolate-worker-protocol.ts";
import type { IsolateWorkerEnv } from "./worker-env.ts";

/** The one index of a deployment. */
export function sandboxIndex(env: IsolateWorkerEnv): DurableObjectStub<SandboxIndex> {
  return env.SANDBOX_INDEX.get(env.SANDBOX_INDEX.idFromName("index"));
}

/** The Durable Object holding the index. */
export class SandboxIndex extends DurableObject<IsolateWorkerEnv> {
  constructor(state: DurableObjectState, env: IsolateWorkerEnv) {
    super(state, env);
    state.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS sandboxes (id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at INTEGER)",
    );
  }

  /** Records a new sandbox. */
  add(info: IsolateWorkerSandboxInfo): void {
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO sandboxes (id, info, expires_at) VALUES (?, ?, ?)",
      info.id,
      JSON.stringify(info),
      info.expiresAt ?? null,
    );
  }

  /** Forgets a sandbox. */
  remove(id: string): void {
    this.ctx.storage.sql.exec("DELETE FROM sandboxes WHERE id = ?", id);
  }

  /** Live sandboxes carrying all of `labels`, compared as own keys only (see {@link matchesLabels}). */
  list(labels: Record<string, string>): IsolateWorkerSandboxInfo[] {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM sandboxes WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
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
