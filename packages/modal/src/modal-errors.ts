/**
 * Maps failures of the `modal` SDK to sandport errors: a gRPC failure (nice-grpc's `ClientError`,
 * recognised by its structured `code` and `path`) by its status code, an SDK error by its class,
 * never by message text. The SDK's error is kept as `cause`. Messages name the operation and the
 * status, never the server's details (which are kept in `cause`) nor a credential.
 *
 * The SDK already retried before an error reaches here: control-plane calls three times on
 * UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, INTERNAL and UNKNOWN (100 ms, 200 ms, 400 ms), the
 * command router up to ten times, and throttled calls as long as the server's retry policy asks
 * (bounded by `maxThrottleWaitSecs`). So nothing is retried again in the adapter: a retryable
 * error tells the caller (or the router) that trying later, or elsewhere, may work.
 */
import {
  AbortedError,
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  PermissionDeniedError,
  ProviderUnavailableError,
  RateLimitedError,
  SandportError,
  TimeoutError,
  toSandportError,
} from "@sandport/core";
import { credentialEnvironmentVariables, type ModalSdk } from "./modal-settings.ts";

/** Who failed and doing what, for messages. */
export interface FailureContext {
  providerId: string;
  /** E.g. `"create"`, `"readFile \"notes.txt\""`. */
  operation: string;
}

/** gRPC status codes, by number. */
export const grpcStatusNames: Record<number, string> = {
  0: "OK",
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  10: "ABORTED",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  15: "DATA_LOSS",
  16: "UNAUTHENTICATED",
};

/** The status code of a gRPC failure (nice-grpc `ClientError`: numeric `code`, string `path`). */
export function grpcStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { code, path } = error as { code?: unknown; path?: unknown };
  return typeof code === "number" && typeof path === "string" ? code : undefined;
}

/** The sandport error for a gRPC status. */
export function errorFromGrpcStatus(status: number, error: unknown, context: FailureContext): SandportError {
  const { providerId, operation } = context;
  const name = grpcStatusNames[status] ?? `status ${status}`;
  const what = `${operation} (Modal API): ${name}`;
  const options = { cause: error, providerId };
  switch (status) {
    case 16:
      return new AuthenticationError(
        `${what}: the token was refused (check providers.${providerId}.tokenId and tokenSecret, or ${credentialEnvironmentVariables.tokenId} and ${credentialEnvironmentVariables.tokenSecret})`,
        options,
      );
    case 7:
      return new PermissionDeniedError(`${what}: the token may not do this`, options);
    case 5:
      return new NotFoundError(`${what}: no such sandbox, app or resource (or it has ended)`, options);
    case 8:
      // Modal answers RESOURCE_EXHAUSTED for rate limits and for exhausted capacity alike, with no
      // structured field to tell them apart; both may pass with time.
      return new RateLimitedError(`${what}: Modal asked to slow down or is out of capacity`, options);
    case 14:
    case 13:
    case 2:
      return new ProviderUnavailableError(
        `${what}: Modal did not answer (after the SDK's own retries)`,
        options,
      );
    case 4:
      return new TimeoutError(`${what}: no answer in time (after the SDK's own retries)`, options);
    case 3:
    case 6:
    case 9:
    case 11:
      return new InvalidRequestError(`${what}: Modal refused the request`, options);
    case 1:
      return new ProviderUnavailableError(`${what}: the call was cancelled`, {
        ...options,
        isRetryable: false,
      });
    default:
      return new ProviderUnavailableError(`${what}`, { ...options, isRetryable: false });
  }
}

/** Any failure of an SDK call as a sandport error. */
export function errorFromModal(error: unknown, sdk: ModalSdk, context: FailureContext): SandportError {
  const { providerId, operation } = context;
  if (SandportError.isInstance(error)) return toSandportError(error, providerId);
  const status = grpcStatusOf(error);
  if (status !== undefined) return errorFromGrpcStatus(status, error, context);
  const options = { cause: error, providerId };
  if (error instanceof sdk.SandboxFilesystemNotFoundError || error instanceof sdk.NotFoundError) {
    return new NotFoundError(`${operation}: not found`, options);
  }
  if (error instanceof sdk.SandboxFilesystemFileTooLargeError) {
    return new OutputLimitError(`${operation}: the file is larger than Modal reads at once`, options);
  }
  // Is a directory, not a directory, exists, not empty, permission denied inside the sandbox:
  // a path the sandbox cannot use in this way is the caller's error.
  if (error instanceof sdk.SandboxFilesystemError) {
    return new InvalidRequestError(`${operation}: the sandbox refused (${error.name})`, options);
  }
  if (error instanceof sdk.InvalidError || error instanceof sdk.AlreadyExistsError) {
    return new InvalidRequestError(`${operation}: Modal refused the request (${error.name})`, options);
  }
  if (error instanceof sdk.ConflictError || error instanceof sdk.SandboxTimeoutError) {
    return new NotFoundError(`${operation}: the sandbox has already finished`, options);
  }
  if (error instanceof sdk.ResourceExhaustedError) {
    return new ProviderUnavailableError(`${operation}: Modal has no capacity for this sandbox now`, options);
  }
  if (error instanceof sdk.TimeoutError) return new TimeoutError(`${operation}: timed out`, options);
  if (error instanceof sdk.ClientClosedError) {
    return new NotFoundError(`${operation}: the sandbox handle was closed`, options);
  }
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) {
    return new AbortedError(`${operation}: aborted`, options);
  }
  return toSandportError(error, providerId);
}
