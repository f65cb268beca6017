/**
 * The deployment's list of live sandboxes, so a caller can find (and reap) what it created. One
 * instance, named "index"; each sandbox adds itself when created and removes itself when deleted.
 * Entries past their lifetime are never listed, even if a removal was lost.
 */
import { DurableObject } from "cloudflare:workers";
import type { BridgeSandboxInfo } from "../../src/isolate/bridge-protocol.ts";
import type { BridgeEnv } from "./bridge-env.ts";

/** The one index of a deployment. */
export function sandboxIndex(env: BridgeEnv): DurableObjectStub<SandboxIndex> {
  return env.SANDBOX_INDEX.get(env.SANDBOX_INDEX.idFromName("index"));
}

/** The Durable Object holding the index. */
export class SandboxIndex extends DurableObject<BridgeEnv> {
  constructor(state: DurableObjectState, env: BridgeEnv) {
    super(state, env);
    state.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS sandboxes (id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at INTEGER)",
    );
  }

  /** Records a new sandbox. */
  add(info: BridgeSandboxInfo): void {
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

  /** Live sandboxes carrying all of `labels`. */
  list(labels: Record<string, string>): BridgeSandboxInfo[] {
    const now = Date.now();
    this.ctx.storage.sql.exec("DELETE FROM sandboxes WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
    const rows = this.ctx.storage.sql
      .exec<{ info: string }>("SELECT info FROM sandboxes ORDER BY id")
      .toArray();
    return rows
      .map((row) => JSON.parse(row.info) as BridgeSandboxInfo)
      .filter((info) => Object.entries(labels).every(([key, value]) => info.labels[key] === value));
  }
}
