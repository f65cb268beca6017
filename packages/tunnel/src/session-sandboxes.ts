/**
 * The sandboxes one MCP session made with `sandbox_create`. Only those are reachable through the
 * `sandbox_*` tools of that session (an agent cannot name somebody else's sandbox), and each is
 * destroyed when its ttl passes or when the session ends, whichever comes first.
 */
import { NotFoundError, QuotaExceededError, type Sandbox, SandboxFailedError } from "@sandport/core";
import { type DaemonLogger, errorMessage, silentLogger } from "./daemon-log.ts";

/** Settings of {@link SessionSandboxes}. */
export interface SessionSandboxesSettings {
  /** How the session shows in logs, e.g. `stdio`, `http`, `tunnel`. */
  sessionName: string;
  /** Lifetime of each sandbox, ms. */
  ttlMs: number;
  /** Live sandboxes the session may hold. */
  maxSandboxes: number;
  logger?: DaemonLogger;
}

const maxRememberedExpired = 1024;

interface HeldSandbox {
  sandbox: Sandbox;
  providerId: string;
  expiresAt: number;
  timer: NodeJS.Timeout;
}

/** The sandboxes of one session. */
export class SessionSandboxes {
  readonly #settings: SessionSandboxesSettings;
  readonly #held = new Map<string, HeldSandbox>();
  readonly #destroying = new Set<Promise<void>>();
  /** Ids of sandboxes whose ttl passed, so a later call naming one is told why (bounded). */
  readonly #expired = new Set<string>();
  #reserved = 0;
  #closed = false;

  constructor(settings: SessionSandboxesSettings) {
    this.#settings = settings;
  }

  /** Live sandboxes held. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Reserves room for one more sandbox before it is created, so concurrent creates cannot pass
   * the limit. Returns the function that gives the room back when the create fails.
   */
  reserve(): () => void {
    if (this.#closed) throw new SandboxFailedError("the session has ended");
    if (this.#held.size + this.#reserved >= this.#settings.maxSandboxes) {
      throw new QuotaExceededError(
        `this session already holds ${this.#settings.maxSandboxes} sandboxes (limits.maxSandboxesPerSession); destroy one first`,
      );
    }
    this.#reserved++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#reserved--;
    };
  }

  /** Takes `sandbox` into the session (its reservation is consumed). Returns its expiry time. */
  adopt(sandbox: Sandbox, providerId: string, release: () => void, ttlMs = this.#settings.ttlMs): number {
    release();
    if (this.#closed) {
      // The session ended while the sandbox was being created: nobody can reach it any more.
      this.#track(sandbox.destroy().catch(() => {}));
      throw new SandboxFailedError("the session ended while the sandbox was being created");
    }
    const expiresAt = Date.now() + ttlMs;
    const timer = setTimeout(() => {
      this.#settings.logger?.({
        level: "info",
        event: "sandbox-expired",
        session: this.#settings.sessionName,
        sandboxId: sandbox.id,
      });
      this.#expired.add(sandbox.id);
      if (this.#expired.size > maxRememberedExpired) {
        const oldest = this.#expired.values().next().value;
        if (oldest !== undefined) this.#expired.delete(oldest);
      }
      void this.destroy(sandbox.id).catch((error: unknown) => {
        (this.#settings.logger ?? silentLogger)({
          level: "warn",
          event: "sandbox-destroy-failed",
          session: this.#settings.sessionName,
          sandboxId: sandbox.id,
          message: errorMessage(error),
        });
      });
    }, ttlMs);
    timer.unref();
    this.#held.set(sandbox.id, { sandbox, providerId, expiresAt, timer });
    return expiresAt;
  }

  /** The session's sandbox `sandboxId`; `not_found` for any id this session did not create. */
  get(sandboxId: string): { sandbox: Sandbox; providerId: string } {
    const held = this.#held.get(sandboxId);
    if (held === undefined) {
      if (this.#expired.has(sandboxId)) {
        throw new NotFoundError(
          `sandbox ${sandboxId} expired: its ttl passed and it was destroyed (limits.sandboxTtlMs, or the ttlMs it was created with)`,
        );
      }
      throw new NotFoundError(`sandbox ${sandboxId} is not one this session created, or it was destroyed`);
    }
    return held;
  }

  /** Destroys the session's sandbox `sandboxId`; `not_found` when the session holds none by that id. */
  async destroy(sandboxId: string): Promise<void> {
    const held = this.#held.get(sandboxId);
    if (held === undefined) throw new NotFoundError(`sandbox ${sandboxId} is not one this session holds`);
    this.#held.delete(sandboxId);
    clearTimeout(held.timer);
    await this.#track(held.sandbox.destroy());
  }

  /** Ends the session: every sandbox it holds is destroyed; later creates are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const ids = [...this.#held.keys()];
    await Promise.all(
      ids.map((id) =>
        this.destroy(id).catch((error: unknown) => {
          (this.#settings.logger ?? silentLogger)({
            level: "warn",
            event: "sandbox-destroy-failed",
            session: this.#settings.sessionName,
            sandboxId: id,
            message: errorMessage(error),
          });
        }),
      ),
    );
    await Promise.all([...this.#destroying]);
  }

  #track(destroying: Promise<void>): Promise<void> {
    this.#destroying.add(destroying);
    const forget = () => this.#destroying.delete(destroying);
    destroying.then(forget, forget);
    return destroying;
  }
}
