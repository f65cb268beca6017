/** JSON and error responses of the isolate Worker protocol. */
import type {
  IsolateWorkerErrorBody,
  IsolateWorkerErrorCode,
} from "../../src/isolate/isolate-worker-protocol.ts";

const statusOfCode: Record<IsolateWorkerErrorCode, number> = {
  unauthorized: 401,
  not_found: 404,
  invalid_request: 400,
  files_too_large: 413,
  not_configured: 503,
  internal: 500,
};

/** A failure the isolate Worker reports to its caller with a stable code. */
export class IsolateWorkerFailure extends Error {
  readonly code: IsolateWorkerErrorCode;

  constructor(code: IsolateWorkerErrorCode, message: string) {
    super(message);
    this.name = "IsolateWorkerFailure";
    this.code = code;
  }
}

/** The error response for `code`. */
export function errorResponse(code: IsolateWorkerErrorCode, message: string): Response {
  const body: IsolateWorkerErrorBody = { error: { code, message } };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="sandport-isolate-worker"';
  return new Response(JSON.stringify(body), { status: statusOfCode[code], headers });
}

/** Turns anything thrown while handling a request into a response; unknown errors stay opaque. */
export function failureResponse(error: unknown): Response {
  if (error instanceof IsolateWorkerFailure) return errorResponse(error.code, error.message);
  console.error("sandport isolate Worker: unexpected failure", error);
  return errorResponse("internal", "the isolate Worker failed to handle the request");
}

/** Reads a JSON body, refusing anything that is not a JSON object. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new IsolateWorkerFailure("invalid_request", "the body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new IsolateWorkerFailure("invalid_request", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
