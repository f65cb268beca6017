/** Bearer-token check for every route of the isolate Worker. */
import type { IsolateWorkerEnv } from "./worker-env.ts";
import { IsolateWorkerFailure } from "./worker-responses.ts";

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/**
 * Throws `unauthorized` unless the request carries `Authorization: Bearer <token>`, the token being
 * the `SANDPORT_ISOLATE_WORKER_TOKEN` secret (or, for deployments made before it was renamed,
 * `SANDPORT_BRIDGE_TOKEN`).
 * Digests are compared in constant time, so neither the token's bytes nor its length leak.
 */
export async function authorize(request: Request, env: IsolateWorkerEnv): Promise<void> {
  const expected = env.SANDPORT_ISOLATE_WORKER_TOKEN || env.SANDPORT_BRIDGE_TOKEN;
  if (expected === undefined || expected === "") {
    throw new IsolateWorkerFailure(
      "not_configured",
      "the isolate Worker has no SANDPORT_ISOLATE_WORKER_TOKEN secret set",
    );
  }
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const presented = match?.[1];
  if (presented === undefined) {
    throw new IsolateWorkerFailure("unauthorized", "missing bearer token");
  }
  const [left, right] = await Promise.all([digest(presented), digest(expected)]);
  if (!crypto.subtle.timingSafeEqual(left, right)) {
    throw new IsolateWorkerFailure("unauthorized", "invalid bearer token");
  }
}
