/**
 * Maps the bridge Worker's failures to sandport errors, by HTTP status and the bridge's structured
 * error code, never by message text. The bearer token never reaches a message.
 */
import {
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  ProviderUnavailableError,
  QuotaExceededError,
  RateLimitedError,
  type SandportError,
} from "@sandport/core";
import { z } from "zod";
import { retryAfterMs } from "./retry-after.ts";

const bridgeErrorSchema = z.object({
  error: z.object({ code: z.string().nullish(), message: z.string().nullish() }),
});

/** The bridge's own `{ error: { code, message } }`, when the body is one. */
function bridgeError(text: string): { code?: string; message?: string } {
  try {
    const parsed = bridgeErrorSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return {};
    return {
      ...(parsed.data.error.code ? { code: parsed.data.error.code } : {}),
      ...(parsed.data.error.message ? { message: parsed.data.error.message } : {}),
    };
  } catch {
    return {};
  }
}

/** The error for a non-2xx answer of the bridge. */
export function bridgeResponseError(
  status: number,
  text: string,
  headers: Headers,
  providerId: string,
): SandportError {
  const { code, message } = bridgeError(text);
  const detail = message === undefined ? `HTTP ${status}` : `${message} (HTTP ${status})`;
  const options = { providerId, cause: { status, code } };
  if (status === 401)
    return new AuthenticationError(`the bridge refused the bearer token: ${detail}`, options);
  if (status === 403) return new PermissionDeniedError(`the bridge refused the request: ${detail}`, options);
  if (status === 404) return new NotFoundError(`not found on the bridge: ${detail}`, options);
  if (status === 413 || code === "files_too_large") {
    return new QuotaExceededError(`the sandbox's file limit: ${detail}`, options);
  }
  if (status === 400) return new InvalidRequestError(`the bridge refused the request: ${detail}`, options);
  if (status === 429) {
    const wait = retryAfterMs(headers.get("retry-after"));
    return new RateLimitedError(`the bridge is rate limiting: ${detail}`, {
      ...options,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  // A bridge deployed without its token secret will not recover by retrying.
  const retryable = code !== "not_configured";
  return new ProviderUnavailableError(`the bridge failed: ${detail}`, { ...options, isRetryable: retryable });
}
