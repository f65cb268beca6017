/** How a failure is shown to the user: one line, with the stack and causes only on request. */
import {
  NoEligibleProviderError,
  SandportError,
  type SandportErrorCode,
  toSandportError,
} from "@sandport/core";

/** Options of {@link formatError}. */
export interface FormatErrorOptions {
  /** Add the stack trace, each `cause` and each provider failure. */
  verbose?: boolean;
}

// A cause chain can loop (an error that is its own cause); stop well before that matters.
const maximumCauseDepth = 8;

/** The one-line description of `error`: `[code] message` for sandport errors, the message otherwise. */
export function describeError(error: unknown): string {
  const message = SandportError.isInstance(error)
    ? `[${error.code}] ${error.message}`
    : error instanceof Error
      ? error.message || error.name
      : String(error);
  // Keep it to one line, so a script reading stderr line by line gets the whole message.
  return message.replace(/\s*\n\s*/g, " ");
}

function details(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

/**
 * The text written to stderr for `error`: `sandport: [code] message` (the code only for sandport
 * errors), plus stack, provider failures and causes when `verbose`. Ends with a newline. Messages
 * of sandport errors never contain secrets, so they are safe to print as they are.
 */
export function formatError(error: unknown, options: FormatErrorOptions = {}): string {
  const lines = [`sandport: ${describeError(error)}`];
  if (options.verbose) {
    lines.push(details(error));
    if (NoEligibleProviderError.isInstance(error)) {
      for (const failure of error.failures) {
        lines.push(`  ${failure.providerId}: [${failure.error.code}] ${failure.error.message}`);
      }
    }
    let cause = error instanceof Error ? error.cause : undefined;
    for (let depth = 0; cause !== undefined && depth < maximumCauseDepth; depth += 1) {
      lines.push(`caused by: ${details(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return `${lines.join("\n")}\n`;
}

/** What `--json` prints on stdout for a failure. */
export interface JsonErrorReport {
  error: {
    /** The sandport error code; an unexpected failure counts as `sandbox_failed`, as in core. */
    code: SandportErrorCode;
    message: string;
  };
}

/** The `--json` form of `error`: its code and message, without stack or causes. */
export function jsonErrorReport(error: unknown): JsonErrorReport {
  if (SandportError.isInstance(error)) return { error: { code: error.code, message: error.message } };
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { error: { code: toSandportError(error).code, message } };
}
