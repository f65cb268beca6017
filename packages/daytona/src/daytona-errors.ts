/**
 * Maps `@daytonaio/sdk` failures to sandport errors: by the SDK error's HTTP `statusCode` (through
 * core's `errorFromHttpStatus`, so a status means the same on every adapter) and the daemon's
 * structured `code`, never by message text. The SDK error is kept as `cause`; messages carry the
 * operation and the status only, never the vendor's text (which could echo a request) nor the key.
 * The SDK's error classes come from the SDK module once it is loaded (see `daytona-sdk.ts`), so
 * importing this file loads no SDK.
 */
import {
  errorFromHttpStatus,
  InvalidRequestError,
  ProviderUnavailableError,
  SandportError,
  TimeoutError,
  toSandportError,
} from "@sandport/core";
import { loadedDaytonaSdk } from "./daytona-sdk.ts";
import { apiKeyEnvironmentVariable } from "./daytona-settings.ts";

/** Who failed and doing what, for messages. */
export interface FailureContext {
  providerId: string;
  /** E.g. `"create"`, `"readFile"`. Never holds arguments (they may hold secrets). */
  operation: string;
}

/** A header value of the SDK error's response headers (axios lower-cases names). */
function headerOf(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== "object") return undefined;
  const record = headers as Record<string, unknown> & { get?: (name: string) => unknown };
  const value = typeof record.get === "function" ? record.get(name) : record[name];
  return typeof value === "string" ? value : undefined;
}

/** The HTTP status, daemon code and headers an SDK error (`DaytonaError`) carries; undefined without a status. */
function statusFields(
  error: unknown,
): { status: number; code: string | undefined; headers: unknown } | undefined {
  if (!(error instanceof Error)) return undefined;
  const fields = error as Error & { statusCode?: unknown; code?: unknown; headers?: unknown };
  if (typeof fields.statusCode !== "number" || !Number.isInteger(fields.statusCode)) return undefined;
  return {
    status: fields.statusCode,
    code: typeof fields.code === "string" ? fields.code : undefined,
    headers: fields.headers,
  };
}

/**
 * The sandport error for anything the SDK threw. A sandport error passes through; an SDK error with
 * a status maps by status, refined by the daemon's `code`:
 * - `FILE_ACCESS_DENIED` (403) is a path the sandbox cannot use: `invalid_request`;
 * - a connection failure (no response) is `provider_unavailable`, not retried here (the SDK itself
 *   already retried connect failures twice);
 * - a client-side deadline is `timeout`.
 */
export function errorFromDaytona(error: unknown, context: FailureContext): SandportError {
  const { providerId, operation } = context;
  if (SandportError.isInstance(error)) return toSandportError(error, providerId);
  const sdk = loadedDaytonaSdk();
  if (sdk !== undefined) {
    const { DaytonaConnectionError, DaytonaError, DaytonaTimeoutError } = sdk;
    if (error instanceof DaytonaConnectionError && !(error instanceof DaytonaTimeoutError)) {
      return new ProviderUnavailableError(`${operation}: the Daytona API could not be reached`, {
        cause: error,
        providerId,
      });
    }
    if (error instanceof DaytonaError && error.statusCode === undefined) {
      if (error instanceof DaytonaTimeoutError) {
        return new TimeoutError(`${operation}: Daytona did not answer in time`, { cause: error, providerId });
      }
      return new ProviderUnavailableError(`${operation}: Daytona failed without an HTTP status`, {
        cause: error,
        providerId,
        isRetryable: false,
      });
    }
  }
  // By the structured fields, so an error of another copy of the SDK (an injected client) maps too.
  const fields = statusFields(error);
  if (fields !== undefined) {
    const { status, code, headers } = fields;
    const refused =
      status === 401
        ? ` refused the API key (check providers.${providerId}.apiKey or ${apiKeyEnvironmentVariable}) and`
        : "";
    const what = `${operation} (Daytona):${refused} answered${code === undefined ? "" : ` ${code} with`}`;
    if (code === "FILE_ACCESS_DENIED" || code === "INVALID_FILE_PATH") {
      return new InvalidRequestError(`${what} HTTP ${status}: the path cannot be used in the sandbox`, {
        cause: error,
        providerId,
      });
    }
    return errorFromHttpStatus({
      status,
      retryAfter: headerOf(headers, "retry-after"),
      what,
      providerId,
      cause: error,
    });
  }
  return toSandportError(error, providerId);
}

/** Runs `call` and maps whatever it throws. */
export async function mapDaytonaErrors<T>(context: FailureContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw errorFromDaytona(error, context);
  }
}
