/**
 * Maps the bridge's failures to sandport errors: by HTTP status and the structured `code` of its
 * error JSON (`{ error, code }`), never by the text of a message. The vendor's answer is kept as
 * `cause` (a {@link BridgeResponseError}), with the token removed from any text it carries.
 */
import {
  AuthenticationError,
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  PermissionDeniedError,
  ProviderUnavailableError,
  QuotaExceededError,
  RateLimitedError,
  SandboxFailedError,
  type SandportError,
} from "@sandport/core";
import { retryAfterMs } from "../retry-after.ts";
import { tokenEnvironmentVariable } from "./container-settings.ts";

/** An error answer of the bridge, as received. Kept as the `cause` of the sandport error. */
export class BridgeResponseError extends Error {
  /** HTTP status, or 200 for an `error` event inside an exec stream. */
  readonly status: number;
  /** The bridge's machine-readable `code` (e.g. `"workspace_read_not_found"`), when it sent one. */
  readonly code: string | undefined;

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.name = "BridgeResponseError";
    this.status = status;
    this.code = code;
  }
}

/** What one failed call looked like on the wire. */
export interface BridgeFailure {
  status: number;
  /** `code` of the error JSON, when the body was one. */
  code?: string;
  /** `error` of the error JSON, already free of the token. */
  message?: string;
  /** The `Retry-After` header. */
  retryAfter?: string | null;
}

/** Who failed and doing what, for messages. */
export interface FailureContext {
  providerId: string;
  /** E.g. `"create"`, `"readFile notes.txt"`. */
  operation: string;
}

/** Replaces every occurrence of `secret` in `text`, so vendor text can be kept safely. */
export function redact(text: string, secret: string): string {
  return secret === "" ? text : text.split(secret).join("[redacted]");
}

/** The sandport error for a non-2xx answer of the bridge. */
export function errorFromBridgeResponse(failure: BridgeFailure, context: FailureContext): SandportError {
  const { status, code } = failure;
  const { providerId, operation } = context;
  const cause = new BridgeResponseError(status, code, failure.message ?? `HTTP ${status}`);
  const what = `${operation}: the Cloudflare sandbox bridge answered HTTP ${status}${code === undefined ? "" : ` (${code})`}`;
  const retryAfter = retryAfterMs(failure.retryAfter);
  const timing = retryAfter === undefined ? {} : { retryAfterMs: retryAfter };
  if (status === 401) {
    return new AuthenticationError(
      `${what}: the bearer token was rejected; check providers.${providerId}.token or ${tokenEnvironmentVariable}`,
      { cause, providerId },
    );
  }
  // The bridge answers 403 with code invalid_request for a path or cwd outside /workspace.
  if (status === 403 && code === "invalid_request")
    return new InvalidRequestError(what, { cause, providerId });
  if (status === 403) return new PermissionDeniedError(what, { cause, providerId });
  if (status === 404) return new NotFoundError(what, { cause, providerId });
  if (status === 413) return new OutputLimitError(what, { cause, providerId });
  if (status === 429) return new RateLimitedError(what, { cause, providerId, ...timing });
  // The warm pool reached the deployment's max_instances: capacity frees up as sandboxes end.
  if (status === 503 && code === "capacity_exceeded") {
    return new QuotaExceededError(what, { cause, providerId, isRetryable: true, ...timing });
  }
  // The container itself refused the write (a read-only path, a link to one): the request's
  // fault, not the bridge's. Issue: confirm against a deployed bridge which errors land here.
  if (code === "workspace_archive_write_error") {
    return new InvalidRequestError(`${what}: the path cannot be written in the sandbox`, {
      cause,
      providerId,
    });
  }
  if (status >= 500) return new ProviderUnavailableError(what, { cause, providerId, ...timing });
  if (status === 400) return new InvalidRequestError(what, { cause, providerId });
  // Any other status means a bridge this client does not understand (another version, a proxy).
  return new ProviderUnavailableError(what, { cause, providerId, isRetryable: false });
}

/**
 * The sandport error for an `error` event in an exec stream. `exec_transport_error`: the Worker
 * could not reach the container; `exec_error`: the container failed to run the command.
 * Neither is retried: the command may have run, and running it twice is not safe.
 */
export function errorFromExecEvent(
  payload: { code?: string; message?: string },
  context: FailureContext,
): SandportError {
  const { providerId, operation } = context;
  const cause = new BridgeResponseError(200, payload.code, payload.message ?? "exec error event");
  const what = `${operation}: the command failed in the container${payload.code === undefined ? "" : ` (${payload.code})`}`;
  if (payload.code === "exec_transport_error") {
    return new ProviderUnavailableError(what, { cause, providerId, isRetryable: false });
  }
  return new SandboxFailedError(what, { cause, providerId });
}

/** A 2xx answer that is not what the route returns (HTML from a proxy, broken JSON). Cause kept. */
export function unreadableResponseError(context: FailureContext, cause: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${context.operation}: the Cloudflare sandbox bridge answered something unreadable (is the URL the bridge Worker?)`,
    { cause, providerId: context.providerId },
  );
}

/** `fetch` itself failed: DNS, TLS, connection refused or reset, a refused redirect. */
export function networkError(context: FailureContext, cause: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(`${context.operation}: could not reach the Cloudflare sandbox bridge`, {
    cause,
    providerId: context.providerId,
  });
}

/**
 * The exec stream ended without its `exit` or `error` event: the connection was cut. Not retryable,
 * because the command may have run (or may still be running) in the container.
 */
export function streamCutError(context: FailureContext, cause?: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${context.operation}: the exec stream ended before the command's exit status arrived`,
    { cause, providerId: context.providerId, isRetryable: false },
  );
}
