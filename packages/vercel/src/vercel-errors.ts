/**
 * Maps failures of `@vercel/sandbox` to sandport errors: an `APIError` by its HTTP status and the
 * structured `error.code` of its JSON body, a `StreamError` by its `code`, never by message text.
 * The SDK's error is kept as `cause`. Messages name the operation and the status, never a value
 * that could hold the token.
 *
 * The SDK already retried 5xx and 429 answers twice (about 1.2 s, honouring a `Retry-After` of up
 * to 20 s) before an error reaches here, so nothing is retried again in the adapter: a retryable
 * error tells the caller (or the router) that trying later, or elsewhere, may work.
 */
import {
  AbortedError,
  AuthenticationError,
  errorFromHttpStatus,
  InvalidRequestError,
  NotFoundError,
  ProviderUnavailableError,
  QuotaExceededError,
  SandportError,
  toSandportError,
} from "@sandport/core";
import { credentialEnvironmentVariables, type VercelSdk } from "./vercel-settings.ts";

/** Who failed and doing what, for messages. */
export interface FailureContext {
  providerId: string;
  /** E.g. `"create"`, `"readFile \"notes.txt\""`. */
  operation: string;
}

/** The parts of an `APIError` the mapping reads. */
interface ApiErrorShape {
  response: { status: number; headers: { get(name: string): string | null } };
  json?: unknown;
}

/** The structured code of Vercel's error body (`{ error: { code, message } }`), when present. */
export function vercelErrorCode(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const error = (json as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** Session states after which a (non-persistent) sandbox is gone. */
const stoppedCodes = new Set(["sandbox_stopped", "sandbox_stopping", "session_stopped"]);

/** The sandport error for an SDK `APIError`. */
export function errorFromApiError(error: ApiErrorShape, context: FailureContext): SandportError {
  const { providerId, operation } = context;
  const status = error.response.status;
  const code = vercelErrorCode(error.json);
  const what = `${operation} (Vercel API):${code === undefined ? "" : ` ${code},`}`;
  const options = { cause: error, providerId };
  if (status === 401) {
    return new AuthenticationError(
      `${what} the token was refused (check providers.${providerId}.token or ${credentialEnvironmentVariables.token}) HTTP 401`,
      options,
    );
  }
  // 410: the session stopped (its timeout ran out, or it was stopped); a non-persistent sandbox is gone.
  if (status === 410 || (status === 422 && code !== undefined && stoppedCodes.has(code))) {
    return new NotFoundError(`${what} the sandbox has stopped HTTP ${status}`, options);
  }
  if (status === 402)
    return new QuotaExceededError(`${what} the team's plan does not allow this HTTP 402`, options);
  // A conflict with the sandbox's current state (a name in use, a command already finished).
  if (status === 409) return new InvalidRequestError(`${what} HTTP 409`, options);
  return errorFromHttpStatus({
    status,
    retryAfter: error.response.headers.get("retry-after"),
    what,
    providerId,
    cause: error,
  });
}

/**
 * Any failure of an SDK call as a sandport error. A `StreamError` (an `error` line in a command's
 * log stream, or a stream cut before its end) is not retryable: the command may have run.
 */
export function errorFromVercel(error: unknown, sdk: VercelSdk, context: FailureContext): SandportError {
  const { providerId, operation } = context;
  if (SandportError.isInstance(error)) return toSandportError(error, providerId);
  if (error instanceof sdk.APIError) return errorFromApiError(error as unknown as ApiErrorShape, context);
  if (error instanceof sdk.StreamError) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && stoppedCodes.has(code)) {
      return new NotFoundError(`${operation}: the sandbox stopped while the command ran (${code})`, {
        cause: error,
        providerId,
      });
    }
    return new ProviderUnavailableError(
      `${operation}: the command's stream failed${typeof code === "string" ? ` (${code})` : ""}`,
      { cause: error, providerId, isRetryable: false },
    );
  }
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) {
    return new AbortedError(`${operation}: aborted`, { cause: error, providerId });
  }
  // fetch rejects with a TypeError when the connection fails before an answer.
  if (error instanceof TypeError) {
    return new ProviderUnavailableError(`${operation}: could not reach the Vercel API`, {
      cause: error,
      providerId,
    });
  }
  return toSandportError(error, providerId);
}
