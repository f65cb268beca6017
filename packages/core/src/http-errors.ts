/**
 * HTTP answers of a vendor's API as sandport errors, by status and structured fields only (never
 * by the message text), so one failure maps to one code on every adapter.
 */
import {
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  PermissionDeniedError,
  ProviderUnavailableError,
  RateLimitedError,
  type SandportError,
  TimeoutError,
} from "./errors.ts";

/** What failed, for the message, and who failed. */
export interface HttpFailure {
  status: number;
  /** The `Retry-After` header, as received. */
  retryAfter?: string | null;
  /** The start of the message, e.g. `create (POST /v1/sandbox): the bridge answered`. */
  what: string;
  providerId: string;
  /** The vendor's error, kept. */
  cause?: unknown;
}

/** Milliseconds from a `Retry-After` header (delta seconds or an HTTP date), or undefined. */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === undefined || header === null || header.trim() === "") return undefined;
  // Delta-seconds is a non-negative integer (RFC 9110); anything else numeric is malformed.
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  if (/^\s*[-+.\d]+\s*$/.test(header)) return undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The error for a non-2xx status. 413 is `output_limit` everywhere (a body over the vendor's
 * size cap); 5xx and 429 are retryable; anything unexpected is `provider_unavailable`, not retryable.
 */
export function errorFromHttpStatus(failure: HttpFailure): SandportError {
  const { status, providerId, cause } = failure;
  const what = `${failure.what} HTTP ${status}`;
  const wait = retryAfterMs(failure.retryAfter);
  const timing = wait === undefined ? {} : { retryAfterMs: wait };
  if (status === 400 || status === 422) return new InvalidRequestError(what, { cause, providerId });
  if (status === 401) return new AuthenticationError(what, { cause, providerId });
  if (status === 403) return new PermissionDeniedError(what, { cause, providerId });
  if (status === 404 || status === 410) return new NotFoundError(what, { cause, providerId });
  if (status === 408 || status === 504) return new TimeoutError(what, { cause, providerId, ...timing });
  if (status === 413) return new OutputLimitError(what, { cause, providerId });
  if (status === 429) return new RateLimitedError(what, { cause, providerId, ...timing });
  if (status >= 500) return new ProviderUnavailableError(what, { cause, providerId, ...timing });
  return new ProviderUnavailableError(what, { cause, providerId, isRetryable: false });
}
