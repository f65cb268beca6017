/**
 * The one error hierarchy of sandport. Every failure a provider, the router or the CLI reports is a
 * `SandportError` with a stable string `code`. Checks across package copies use the
 * `Symbol.for("sandport.error.<Name>")` brand through `static isInstance`, never `instanceof`.
 */

/** Stable machine-readable error codes. */
export type SandportErrorCode =
  | "invalid_request"
  | "config_invalid"
  | "unsupported_capability"
  | "authentication"
  | "permission_denied"
  | "not_found"
  | "rate_limited"
  | "quota_exceeded"
  | "timeout"
  | "provider_unavailable"
  | "sandbox_failed"
  | "output_limit"
  | "policy_denied"
  | "no_eligible_provider"
  | "aborted";

/** Codes that are worth retrying (possibly on another provider) unless an error says otherwise. */
const retryableCodes: ReadonlySet<SandportErrorCode> = new Set([
  "rate_limited",
  "provider_unavailable",
  "timeout",
]);

/** Options shared by every error constructor. */
export interface SandportErrorOptions {
  /** The underlying failure (a vendor SDK error, a system error), kept for debugging. */
  cause?: unknown;
  /** Instance name of the provider the error came from, e.g. `"daytona-eu"`. */
  providerId?: string;
  /** Overrides the default retryability of the code. */
  isRetryable?: boolean;
  /** How long to wait before retrying, when the backend said so. */
  retryAfterMs?: number;
}

function brandOf(name: string): symbol {
  return Symbol.for(`sandport.error.${name}`);
}

function markBrand(error: Error, name: string): void {
  Object.defineProperty(error, brandOf(name), { value: true, enumerable: false });
}

function hasBrand(value: unknown, name: string): boolean {
  const brand = brandOf(name);
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** Base class of every sandport error. */
export class SandportError extends Error {
  /** Stable machine-readable code. */
  readonly code: SandportErrorCode;
  /** Whether trying again (the same call, or on another provider) may succeed. */
  readonly isRetryable: boolean;
  /** Suggested wait before a retry, in milliseconds, when known. */
  readonly retryAfterMs: number | undefined;
  /** Instance name of the provider involved, when one is. */
  readonly providerId: string | undefined;

  constructor(code: SandportErrorCode, message: string, options: SandportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    markBrand(this, "SandportError");
    this.name = "SandportError";
    this.code = code;
    this.isRetryable = options.isRetryable ?? retryableCodes.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.providerId = options.providerId;
  }

  /** True for any sandport error, from any copy of this package. */
  static isInstance(value: unknown): value is SandportError {
    return hasBrand(value, "SandportError");
  }

  /** A plain object for JSON output and logs (no cause, which may carry vendor internals). */
  toJSON(): {
    name: string;
    code: SandportErrorCode;
    message: string;
    isRetryable: boolean;
    providerId?: string;
  } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      isRetryable: this.isRetryable,
      ...(this.providerId === undefined ? {} : { providerId: this.providerId }),
    };
  }
}

/**
 * Declares one error class per code. Each gets its own brand, so `NotFoundError.isInstance` is
 * true only for not-found errors, while `SandportError.isInstance` stays true for all.
 */
/** Each code's class, for {@link reattributedError}. */
const classOfCode = new Map<
  SandportErrorCode,
  new (
    message: string,
    options?: SandportErrorOptions,
  ) => SandportError
>();

function errorClass<Code extends SandportErrorCode>(name: string, code: Code) {
  const ErrorClass = class extends SandportError {
    constructor(message: string, options?: SandportErrorOptions) {
      super(code, message, options);
      markBrand(this, name);
      this.name = name;
    }
    /** True for errors of this class, from any copy of this package. */
    static override isInstance(value: unknown): value is SandportError {
      return hasBrand(value, name);
    }
  };
  Object.defineProperty(ErrorClass, "name", { value: name });
  classOfCode.set(code, ErrorClass);
  return ErrorClass;
}

/** A request or argument is malformed; the message names the field. Never retryable. */
export const InvalidRequestError = errorClass("InvalidRequestError", "invalid_request");
export type InvalidRequestError = InstanceType<typeof InvalidRequestError>;

/** `sandport.json` (or provider settings) is invalid; the message names the JSON path. */
export const ConfigInvalidError = errorClass("ConfigInvalidError", "config_invalid");
export type ConfigInvalidError = InstanceType<typeof ConfigInvalidError>;

/** The provider cannot honour the request; raised before anything is created. */
export const UnsupportedCapabilityError = errorClass("UnsupportedCapabilityError", "unsupported_capability");
export type UnsupportedCapabilityError = InstanceType<typeof UnsupportedCapabilityError>;

/** Credentials are missing or rejected. The message never contains the credential. */
export const AuthenticationError = errorClass("AuthenticationError", "authentication");
export type AuthenticationError = InstanceType<typeof AuthenticationError>;

/** Credentials are valid but not allowed to do this. */
export const PermissionDeniedError = errorClass("PermissionDeniedError", "permission_denied");
export type PermissionDeniedError = InstanceType<typeof PermissionDeniedError>;

/** The sandbox, file or resource does not exist (or no longer exists). */
export const NotFoundError = errorClass("NotFoundError", "not_found");
export type NotFoundError = InstanceType<typeof NotFoundError>;

/** The backend asked us to slow down; `retryAfterMs` says for how long when known. */
export const RateLimitedError = errorClass("RateLimitedError", "rate_limited");
export type RateLimitedError = InstanceType<typeof RateLimitedError>;

/** An account limit (sandboxes, spend, GPUs) is reached. */
export const QuotaExceededError = errorClass("QuotaExceededError", "quota_exceeded");
export type QuotaExceededError = InstanceType<typeof QuotaExceededError>;

/** An operation (not a sandboxed command, which reports `timedOut`) took too long. */
export const TimeoutError = errorClass("TimeoutError", "timeout");
export type TimeoutError = InstanceType<typeof TimeoutError>;

/** The backend is down, overloaded or answered something unreadable. Retryable. */
export const ProviderUnavailableError = errorClass("ProviderUnavailableError", "provider_unavailable");
export type ProviderUnavailableError = InstanceType<typeof ProviderUnavailableError>;

/** The sandbox itself broke (crashed, was lost, could not be set up). */
export const SandboxFailedError = errorClass("SandboxFailedError", "sandbox_failed");
export type SandboxFailedError = InstanceType<typeof SandboxFailedError>;

/** Data exceeded a configured size limit where truncation is not possible (files, code). */
export const OutputLimitError = errorClass("OutputLimitError", "output_limit");
export type OutputLimitError = InstanceType<typeof OutputLimitError>;

/** The configured policy forbids this request. Never retried elsewhere. */
export const PolicyDeniedError = errorClass("PolicyDeniedError", "policy_denied");
export type PolicyDeniedError = InstanceType<typeof PolicyDeniedError>;

/** The caller's signal aborted the operation. */
export const AbortedError = errorClass("AbortedError", "aborted");
export type AbortedError = InstanceType<typeof AbortedError>;

/** One provider's failure inside a {@link NoEligibleProviderError}. */
export interface ProviderFailure {
  providerId: string;
  error: SandportError;
}

/** No provider could take the request; `failures` lists each provider and why, not a joined string. */
export class NoEligibleProviderError extends SandportError {
  /** Why each candidate provider was rejected or failed. */
  readonly failures: readonly ProviderFailure[];

  constructor(message: string, failures: readonly ProviderFailure[], options?: SandportErrorOptions) {
    super("no_eligible_provider", message, options);
    markBrand(this, "NoEligibleProviderError");
    this.name = "NoEligibleProviderError";
    this.failures = failures;
  }

  /** True for errors of this class, from any copy of this package. */
  static override isInstance(value: unknown): value is NoEligibleProviderError {
    return hasBrand(value, "NoEligibleProviderError");
  }
}

/**
 * The same failure reported by another provider (`providerId`): a provider that delegates, such as
 * the router, answers errors under its own name. Same class, code, retryability and wait; the
 * message names the provider that failed, and the original is kept as `cause`.
 */
export function reattributedError(error: SandportError, providerId: string): SandportError {
  if (error.providerId === providerId) return error;
  const options: SandportErrorOptions = {
    cause: error,
    providerId,
    isRetryable: error.isRetryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  };
  const message = error.providerId === undefined ? error.message : `${error.providerId}: ${error.message}`;
  if (NoEligibleProviderError.isInstance(error))
    return new NoEligibleProviderError(message, error.failures, options);
  const ErrorClass = classOfCode.get(error.code);
  return ErrorClass === undefined
    ? new SandportError(error.code, message, options)
    : new ErrorClass(message, options);
}

/** Wraps anything thrown into a SandportError, keeping it as `cause`; one without a provider gets `providerId`. */
export function toSandportError(error: unknown, providerId?: string): SandportError {
  if (SandportError.isInstance(error)) {
    // Errors from shared validation are built without a provider: the caller's provider owns them.
    if (error.providerId === undefined && providerId !== undefined) {
      (error as { providerId: string | undefined }).providerId = providerId;
    }
    return error;
  }
  if (error instanceof Error && error.name === "AbortError") {
    return new AbortedError("the operation was aborted", { cause: error, providerId });
  }
  const description = error instanceof Error ? error.name : typeof error;
  return new SandboxFailedError(`unexpected failure (${description})`, { cause: error, providerId });
}
