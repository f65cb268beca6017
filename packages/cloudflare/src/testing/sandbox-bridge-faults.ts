/** Failures the sandbox bridge fake can be told to answer with, instead of serving the next request(s). */

/** Routes of the sandbox bridge, for aiming a fault. */
export type SandboxBridgeRoute = "create" | "exec" | "readFile" | "writeFile" | "destroy" | "other";

/** One way to fail. */
export type SandboxBridgeFault =
  /** 401 `{ error: "Unauthorized", code: "unauthorized" }`, as for a wrong token. */
  | { kind: "unauthorized" }
  /** 403 with a body that is not the sandbox bridge's (e.g. Cloudflare Access in front of the Worker). */
  | { kind: "forbidden" }
  /** 429 with `Retry-After` (seconds, or an HTTP date), as Cloudflare's rate limiting answers. */
  | { kind: "rate-limited"; retryAfter: string }
  /** A 5xx (default 502 `pool_error`; 503 `capacity_exceeded` is what a full pool answers). */
  | { kind: "server-error"; status?: number; code?: string; retryAfter?: string }
  /** The connection fails before any answer (`fetch` rejects). */
  | { kind: "network-error" }
  /** 200 whose body is broken JSON (for exec: an `exit` event whose data is broken JSON). */
  | { kind: "malformed-json" }
  /** 200 with an HTML page, as a captive portal or login proxy answers. */
  | { kind: "html-page" }
  /**
   * Exec only: the command runs and its first `afterOutputEvents` output events (default 1) are
   * sent, then the connection closes without an `exit` event, and the command is killed.
   */
  | { kind: "cut-stream"; afterOutputEvents?: number };

/** A queued fault and which requests it applies to. */
export interface QueuedFault {
  fault: SandboxBridgeFault;
  /** Only requests to this route (default: any; `cut-stream` applies to exec only). */
  route: SandboxBridgeRoute | undefined;
  /** How many more matching requests it answers. */
  remaining: number;
}

/** Queue of faults, consumed in order by matching requests. */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  /** Adds a fault for the next `times` matching requests. */
  add(fault: SandboxBridgeFault, route: SandboxBridgeRoute | undefined, times: number): void {
    this.#queue.push({ fault, route: fault.kind === "cut-stream" ? "exec" : route, remaining: times });
  }

  /** The fault for a request to `route`, consuming one use of it; `undefined` when none applies. */
  take(route: SandboxBridgeRoute): SandboxBridgeFault | undefined {
    const index = this.#queue.findIndex((entry) => entry.route === undefined || entry.route === route);
    const entry = this.#queue[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#queue.splice(index, 1);
    return entry.fault;
  }

  /** Drops every queued fault. */
  clear(): void {
    this.#queue.length = 0;
  }
}
