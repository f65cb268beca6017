/** JSON and error responses of the bridge protocol. */
import type { BridgeErrorBody, BridgeErrorCode } from "../../src/isolate/bridge-protocol.ts";

const statusOfCode: Record<BridgeErrorCode, number> = {
  unauthorized: 401,
  not_found: 404,
  invalid_request: 400,
  files_too_large: 413,
  not_configured: 503,
  internal: 500,
};

/** A failure the bridge reports to its caller with a stable code. */
export class BridgeFailure extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message: string) {
    super(message);
    this.name = "BridgeFailure";
    this.code = code;
  }
}

/** The error response for `code`. */
export function errorResponse(code: BridgeErrorCode, message: string): Response {
  const body: BridgeErrorBody = { error: { code, message } };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="sandport-bridge"';
  return new Response(JSON.stringify(body), { status: statusOfCode[code], headers });
}

/** Turns anything thrown while handling a request into a response; unknown errors stay opaque. */
export function failureResponse(error: unknown): Response {
  if (error instanceof BridgeFailure) return errorResponse(error.code, error.message);
  console.error("sandport bridge: unexpected failure", error);
  return errorResponse("internal", "the bridge failed to handle the request");
}

/** Reads a JSON body, refusing anything that is not a JSON object. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new BridgeFailure("invalid_request", "the body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BridgeFailure("invalid_request", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
