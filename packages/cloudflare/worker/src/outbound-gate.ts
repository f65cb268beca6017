/**
 * The network door of isolates whose egress is an allowlist: every `fetch` the code makes arrives
 * here (as the isolate's `globalOutbound`) and only requests to allowed hosts go on.
 *
 * Where the request goes next depends on where the isolate Worker runs. Under sandport's local mode the
 * Worker has a `SANDPORT_EGRESS` binding to a proxy in Node that resolves the name itself, refuses
 * loopback and private addresses the allowlist does not name, and connects to the address it
 * checked. Deployed on Cloudflare there is no such binding: names are resolved and reached from
 * Cloudflare's network, which cannot reach the operator's loopback or private network, and an
 * address literal goes through only when an address or range entry holds it.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import {
  egressAllowHeader,
  egressRefusalHeader,
  egressUrlHeader,
  urlRefusal,
} from "../../src/isolate/egress-policy.ts";
import type { IsolateWorkerEnv } from "./worker-env.ts";

/** Props the isolate Worker binds into each gate. */
export interface OutboundGateProps {
  /**
   * Allowed hosts: names, `*.` wildcards, addresses and ranges (see egress-policy.ts); `null` for
   * the open network (a gate then only checks the run's liveness).
   */
  allow: string[] | null;
  /** Remote mode: the sandbox and run to ask about before each request (see run-in-isolate.ts). */
  liveness?: { sandbox: string; run: string };
}

/** Forwards allowed requests; any other makes the code's `fetch` reject with a message saying why. */
export class OutboundGate extends WorkerEntrypoint<IsolateWorkerEnv, OutboundGateProps> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const { allow, liveness } = this.ctx.props;
    if (liveness !== undefined) {
      // Asked at each request, never cached: a run that timed out, or whose sandbox was
      // destroyed, is stopped here even if its isolate is still alive.
      const sandbox = this.env.SANDBOXES.get(this.env.SANDBOXES.idFromName(liveness.sandbox));
      if (!(await sandbox.runIsLive(liveness.run))) {
        throw new Error(
          "sandport: this run has ended (it timed out or its sandbox was destroyed); no more network",
        );
      }
    }
    if (allow === null) return fetch(request, { redirect: "manual" });
    // The scheme, the host and the port (an entry without one opens 80 and 443 only).
    const policyRefusal = urlRefusal(url, allow);
    if (policyRefusal !== undefined) throw new Error(policyRefusal);
    // A redirect goes back to the code, whose fetch follows it through this gate again, so an
    // allowed host cannot redirect the code to a host that is not allowed.
    const egress = this.env.SANDPORT_EGRESS;
    if (egress === undefined) return fetch(request, { redirect: "manual" });
    const forwarded = new Request(request, { redirect: "manual" });
    // Set here, over anything the code sent under the same names.
    forwarded.headers.set(egressUrlHeader, url.href);
    forwarded.headers.set(egressAllowHeader, JSON.stringify(allow));
    const response = await egress.fetch(forwarded);
    const refusal = response.headers.get(egressRefusalHeader);
    if (refusal !== null) {
      await response.body?.cancel();
      throw new Error(decodeURIComponent(refusal));
    }
    return response;
  }
}
