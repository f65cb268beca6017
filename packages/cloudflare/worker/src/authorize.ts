/** Bearer-token check for every bridge route. */
import type { BridgeEnv } from "./bridge-env.ts";
import { BridgeFailure } from "./bridge-responses.ts";

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/**
 * Throws `unauthorized` unless the request carries `Authorization: Bearer <SANDPORT_BRIDGE_TOKEN>`.
 * Digests are compared in constant time, so neither the token's bytes nor its length leak.
 */
export async function authorize(request: Request, env: BridgeEnv): Promise<void> {
  const expected = env.SANDPORT_BRIDGE_TOKEN;
  if (expected === undefined || expected === "") {
    throw new BridgeFailure("not_configured", "the bridge has no SANDPORT_BRIDGE_TOKEN secret set");
  }
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const presented = match?.[1];
  if (presented === undefined) {
    throw new BridgeFailure("unauthorized", "missing bearer token");
  }
  const [left, right] = await Promise.all([digest(presented), digest(expected)]);
  if (!crypto.subtle.timingSafeEqual(left, right)) {
    throw new BridgeFailure("unauthorized", "invalid bearer token");
  }
}
