/**
 * The network door of isolates whose egress is an allowlist: every `fetch` the code makes arrives
 * here (as the isolate's `globalOutbound`) and only requests to allowed hosts go on.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

/** Props the bridge binds into each gate. */
export interface OutboundGateProps {
  /** Allowed hosts: `example.com` exactly, or `*.example.com` for any subdomain of it. */
  allow: string[];
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** True when `host` is allowed by `pattern`. */
function hostMatches(host: string, pattern: string): boolean {
  const normalizedHost = normalizeHost(host);
  const normalizedPattern = normalizeHost(pattern);
  if (normalizedPattern.startsWith("*.")) {
    const suffix = normalizedPattern.slice(1);
    return normalizedHost.endsWith(suffix) && normalizedHost.length > suffix.length;
  }
  return normalizedHost === normalizedPattern;
}

/** Forwards allowed requests; any other makes the code's `fetch` reject with a message saying why. */
export class OutboundGate extends WorkerEntrypoint<unknown, OutboundGateProps> {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const webScheme = url.protocol === "https:" || url.protocol === "http:";
    if (!webScheme || !this.ctx.props.allow.some((pattern) => hostMatches(url.hostname, pattern))) {
      throw new Error(
        `sandport: network access to ${url.hostname} is not allowed; this sandbox may reach only ${this.ctx.props.allow.join(", ")}`,
      );
    }
    // A redirect goes back to the code, whose fetch follows it through this gate again, so an
    // allowed host cannot redirect the code to a host that is not allowed.
    return fetch(request, { redirect: "manual" });
  }
}
