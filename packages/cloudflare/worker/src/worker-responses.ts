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
  quota_exceeded: 429,
  rate_limited: 429,
  not_configured: 503,
  internal: 500,
};

/** A failure the isolate Worker reports to its caller with a stable code. */
export class IsolateWorkerFailure extends Error {
  readonly code: IsolateWorkerErrorCode;
  /** For `rate_limited`: when to try again, ms (sent as `Retry-After`, in whole seconds). */
  readonly retryAfterMs: number | undefined;

  constructor(code: IsolateWorkerErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "IsolateWorkerFailure";
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The error response for `code`. */
export function errorResponse(
  code: IsolateWorkerErrorCode,
  message: string,
  retryAfterMs?: number,
): Response {
  const body: IsolateWorkerErrorBody = { error: { code, message } };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (code === "unauthorized") headers["www-authenticate"] = 'Bearer realm="sandport-isolate-worker"';
  if (retryAfterMs !== undefined)
    headers["retry-after"] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return new Response(JSON.stringify(body), { status: statusOfCode[code], headers });
}

/** Turns anything thrown while handling a request into a response; unknown errors stay opaque. */
export function failureResponse(error: unknown): Response {
  if (error instanceof IsolateWorkerFailure)
    return errorResponse(error.code, error.message, error.retryAfterMs);
  console.error("sandport isolate Worker: unexpected failure", error);
  return errorResponse("internal", "the isolate Worker failed to handle the request");
}

/**
 * A request's body, counted while it arrives: past `maxBytes` the reading stops and `tooLarge` is
 * called (it throws), so a large body is never held whole before its size is known.
 */
export async function readBytes(
  request: Request,
  maxBytes: number,
  tooLarge: () => never,
): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discardRest(reader, maxBytes);
    tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await discardRest(reader, maxBytes);
      tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * Reads and drops the rest of a refused body, so the client finishes sending and reads the
 * refusal instead of a reset connection. Past `4 × maxBytes` (at least 1 MiB) it stops reading:
 * an abusive body gets the reset.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let budget = Math.max(4 * maxBytes, 1024 * 1024);
  while (budget > 0) {
    const { done, value } = await reader.read();
    if (done) return;
    budget -= value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
}

/** Reads a JSON body of at most `maxBytes`, refusing anything that is not a JSON object. */
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const bytes = await readBytes(request, maxBytes, () => {
    throw new IsolateWorkerFailure("invalid_request", `the body is over the limit of ${maxBytes} bytes`);
  });
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new IsolateWorkerFailure("invalid_request", "the body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new IsolateWorkerFailure("invalid_request", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
