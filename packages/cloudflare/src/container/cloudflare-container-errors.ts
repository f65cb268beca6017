/**
 * Maps the sandbox bridge's failures to sandport errors. Core's `errorFromHttpStatus` decides by
 * HTTP status, so a status means the same on every adapter; the sandbox bridge's structured `code` (of its
 * error JSON, `{ error, code }`) refines that only where the status alone would mislead. Never by
 * the text of a message. The vendor's answer is kept as `cause` (a
 * {@link SandboxBridgeResponseError}), with the token removed from any text it carries.
 */
import {
  errorFromHttpStatus,
  InvalidRequestError,
  ProviderUnavailableError,
  QuotaExceededError,
  retryAfterMs,
  SandboxFailedError,
  type SandportError,
} from "@sandport/core";
import { tokenEnvironmentVariable } from "./container-settings.ts";

/** An error answer of the sandbox bridge, as received. Kept as the `cause` of the sandport error. */
export class SandboxBridgeResponseError extends Error {
  /** HTTP status, or 200 for an `error` event inside an exec stream. */
  readonly status: number;
  /** The sandbox bridge's machine-readable `code` (e.g. `"workspace_read_not_found"`), when it sent one. */
  readonly code: string | undefined;

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.name = "SandboxBridgeResponseError";
    this.status = status;
    this.code = code;
  }
}

/** What one failed call looked like on the wire. */
export interface SandboxBridgeFailure {
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

/**
 * The sandport error for a non-2xx answer of the sandbox bridge: core's mapping of the status,
 * with three refinements by the sandbox bridge's `code`.
 */
export function errorFromSandboxBridgeResponse(
  failure: SandboxBridgeFailure,
  context: FailureContext,
): SandportError {
  const { status, code, retryAfter } = failure;
  const { providerId, operation } = context;
  const cause = new SandboxBridgeResponseError(status, code, failure.message ?? `HTTP ${status}`);
  const refused =
    status === 401
      ? ` refused the bearer token (check providers.${providerId}.token or ${tokenEnvironmentVariable}) and`
      : "";
  const what = `${operation} (sandbox bridge):${refused} answered${code === undefined ? "" : ` ${code} with`}`;
  const message = `${what} HTTP ${status}`;
  // The sandbox bridge answers 403 with code invalid_request for a path or cwd outside /workspace.
  if (status === 403 && code === "invalid_request")
    return new InvalidRequestError(message, { cause, providerId });
  // The warm pool reached the deployment's max_instances: capacity frees up as sandboxes end.
  if (status === 503 && code === "capacity_exceeded") {
    const wait = retryAfterMs(retryAfter);
    return new QuotaExceededError(message, {
      cause,
      providerId,
      isRetryable: true,
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    });
  }
  // The container itself refused the write (a read-only path, a link to one): the request's fault, not the
  // sandbox bridge's (which answers it as a 5xx). Issue: confirm against a deployed sandbox bridge which
  // errors land here.
  if (status >= 500 && code === "workspace_archive_write_error") {
    return new InvalidRequestError(`${message}: the path cannot be written in the sandbox`, {
      cause,
      providerId,
    });
  }
  return errorFromHttpStatus({ status, retryAfter, what, providerId, cause });
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
  const cause = new SandboxBridgeResponseError(200, payload.code, payload.message ?? "exec error event");
  const what = `${operation}: the command failed in the container${payload.code === undefined ? "" : ` (${payload.code})`}`;
  if (payload.code === "exec_transport_error") {
    return new ProviderUnavailableError(what, { cause, providerId, isRetryable: false });
  }
  return new SandboxFailedError(what, { cause, providerId });
}

/** A 2xx answer that is not what the route returns (HTML from a proxy, broken JSON). Cause kept. */
export function unreadableResponseError(context: FailureContext, cause: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${context.operation} (sandbox bridge): answered something unreadable (is the URL the deployed sandbox bridge?)`,
    { cause, providerId: context.providerId },
  );
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
