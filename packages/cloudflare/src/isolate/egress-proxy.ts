/**
 * Local mode's way out for allowlisted egress. The isolate Worker's outbound gate checks the host
 * name, then hands the request to this handler in Node (a miniflare service binding), which
 * resolves the name itself, refuses loopback, private and other special addresses the allowlist
 * does not name explicitly, and connects to exactly the address it checked: workerd would resolve
 * the name again on its own, so a DNS answer that changes between check and connect (rebinding)
 * could otherwise reach the host's services.
 */
import { promises as dns } from "node:dns";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import {
  addressRefusal,
  egressAllowHeader,
  egressRefusalHeader,
  egressUrlHeader,
  parseIpAddress,
  portOf,
  urlRefusal,
} from "./egress-policy.ts";

/** One address a name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to its addresses (every one of them). */
export type EgressLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver, as Node's own connections use it. */
export const systemLookup: EgressLookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

// Hop-by-hop headers (RFC 9110 section 7.6.1) and the gate's own are not forwarded.
const droppedHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

function forwardedHeaders(headers: IncomingMessage["headers"]): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || droppedHeaders.has(name)) continue;
    // miniflare marks its loopback requests with mf-* headers; those and ours stay behind.
    if (name.startsWith("mf-") || name.startsWith("x-sandport-egress-")) continue;
    kept[name] = value;
  }
  return kept;
}

function refuse(response: ServerResponse, message: string): void {
  response.writeHead(502, { [egressRefusalHeader]: encodeURIComponent(message) });
  response.end();
}

/** The address to connect to for `host`, or the reason there is none. */
async function pinnedAddress(
  host: string,
  port: number,
  allow: readonly string[],
  lookup: EgressLookup,
): Promise<ResolvedAddress | { refusal: string }> {
  const literal = parseIpAddress(host);
  let addresses: readonly ResolvedAddress[];
  if (literal !== undefined) {
    addresses = [{ address: host, family: literal.length === 4 ? 4 : 6 }];
  } else {
    try {
      addresses = await lookup(host);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { refusal: `sandport: network access to ${host} failed: the name does not resolve (${reason})` };
    }
  }
  let firstRefusal: string | undefined;
  for (const candidate of addresses) {
    // The address is checked for the port too: an allowlisted 127.0.0.1:8080 opens no other port.
    const refusal = addressRefusal(host, candidate.address, allow, port);
    if (refusal === undefined) return candidate;
    firstRefusal ??= refusal;
  }
  return { refusal: firstRefusal ?? `sandport: network access to ${host} failed: the name has no address` };
}

/**
 * The handler behind the Worker's `SANDPORT_EGRESS` binding. Redirects are not followed here:
 * they go back to the code, whose `fetch` follows them through the gate, so every hop is checked.
 */
export function egressProxy(lookup: EgressLookup) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    let target: URL;
    let allow: string[];
    try {
      target = new URL(String(request.headers[egressUrlHeader]));
      const parsed: unknown = JSON.parse(String(request.headers[egressAllowHeader]));
      if (!Array.isArray(parsed) || !parsed.every((entry) => typeof entry === "string")) throw new Error();
      allow = parsed;
    } catch {
      return refuse(response, "sandport: the outbound gate sent a malformed request");
    }
    const host = target.hostname.startsWith("[") ? target.hostname.slice(1, -1) : target.hostname;
    // The gate checked the URL already; checked again here so this handler stands on its own.
    const refusal = urlRefusal(target, allow);
    if (refusal !== undefined) return refuse(response, refusal);
    const port = portOf(target);
    const pinned = await pinnedAddress(host, port, allow, lookup);
    if ("refusal" in pinned) return refuse(response, pinned.refusal);
    // Every lookup answers with the checked address, so the connection goes exactly there, while
    // the Host header, TLS SNI and certificate check keep the name.
    const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
      if (options.all) callback(null, [pinned]);
      else callback(null, pinned.address, pinned.family);
    };
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const upstream = send({
      protocol: target.protocol,
      hostname: host,
      port,
      path: `${target.pathname}${target.search}`,
      method: request.method,
      headers: { ...forwardedHeaders(request.headers), host: target.host },
      lookup: pinnedLookup,
      // No connection pool: a pooled socket to one sandbox's checked address must never carry
      // another sandbox's request, whose allowlist may differ.
      agent: false,
    });
    upstream.on("response", (answer) => {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value === undefined || name.startsWith("x-sandport-egress-")) continue;
        if (name === "connection" || name === "keep-alive" || name === "transfer-encoding") continue;
        headers[name] = value;
      }
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, headers);
      answer.pipe(response);
      answer.on("error", () => response.destroy());
    });
    upstream.on("error", (error) => {
      if (response.headersSent) response.destroy();
      else refuse(response, `sandport: network access to ${host} failed: ${error.message}`);
    });
    // The run ended (or its engine died): the upstream request goes too.
    response.on("close", () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  };
}
