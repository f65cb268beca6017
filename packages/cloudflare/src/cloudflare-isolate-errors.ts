/**
 * Maps the isolate Worker's failures to sandport errors: core's `errorFromHttpStatus` decides by
 * HTTP status, so a status means the same on every adapter, and the Worker's structured error code
 * refines it only where the status alone would mislead. Never by message text; the bearer token
 * never reaches a message.
 */
import {
  errorFromHttpStatus,
  ProviderUnavailableError,
  QuotaExceededError,
  retryAfterMs,
  type SandportError,
} from "@sandport/core";
import * as z from "zod";

const workerErrorSchema = z.object({
  error: z.object({ code: z.string().nullish(), message: z.string().nullish() }),
});

/** The Worker's own `{ error: { code, message } }`, when the body is one. */
function workerError(text: string): { code?: string; message?: string } {
  try {
    const parsed = workerErrorSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return {};
    return {
      ...(parsed.data.error.code ? { code: parsed.data.error.code } : {}),
      ...(parsed.data.error.message ? { message: parsed.data.error.message } : {}),
    };
  } catch {
    // Not the Worker's JSON (a proxy's page): the status alone decides.
    return {};
  }
}

/** A non-2xx answer of the isolate Worker, as received. */
export interface IsolateWorkerAnswer {
  status: number;
  /** The body, as text. */
  text: string;
  /** The `Retry-After` header. */
  retryAfter?: string | null;
  /** The call, for the message: e.g. `create (isolate Worker)`. */
  what: string;
  providerId: string;
  /** Removes secrets from the Worker's message before it is kept. Default: none to remove. */
  redact?: (text: string) => string;
}

/** The sandport error for a non-2xx answer of the isolate Worker (deployed, or local mode's engine). */
export function errorFromIsolateWorkerAnswer(answer: IsolateWorkerAnswer): SandportError {
  const { status, providerId } = answer;
  const { code, message } = workerError(answer.text);
  const shown = message === undefined ? undefined : (answer.redact?.(message) ?? message);
  const what = `${answer.what}: answered${shown === undefined ? "" : ` ${JSON.stringify(shown)} with`}`;
  const cause = { status, code };
  // A Worker deployed without its token secret will not recover by retrying.
  if (code === "not_configured") {
    return new ProviderUnavailableError(`${what} HTTP ${status} (the Worker has no token secret set)`, {
      cause,
      providerId,
      isRetryable: false,
    });
  }
  // 429 alone reads as a rate limit; a tenant at its quota of sandboxes or stored bytes is not one.
  if (code === "quota_exceeded") {
    const wait = retryAfterMs(answer.retryAfter);
    return new QuotaExceededError(`${what} HTTP ${status}`, {
      cause,
      providerId,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  return errorFromHttpStatus({ status, retryAfter: answer.retryAfter, what, providerId, cause });
}
