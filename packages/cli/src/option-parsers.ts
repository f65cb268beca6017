/** Parsers for option values, so a bad value is a usage error before anything is created. */
import { InvalidRequestError, type Runtime } from "@sandport/core";
import { InvalidArgumentError } from "commander";
import { parseLanguage } from "./language.ts";

/**
 * The longest delay a timer can wait (2^31 - 1 ms, about 24.8 days). Node fires a longer timer at
 * once, so a larger `--timeout` would kill the command immediately and report a timeout.
 */
export const maximumTimeoutMs = 2_147_483_647;

/** Parses `--timeout <ms>`: a whole number of milliseconds from 1 to {@link maximumTimeoutMs}. */
export function parseTimeoutOption(value: string): number {
  const milliseconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(milliseconds) || milliseconds <= 0) {
    throw new InvalidArgumentError(
      `expected a positive whole number of milliseconds, at most ${maximumTimeoutMs}.`,
    );
  }
  if (milliseconds > maximumTimeoutMs) {
    throw new InvalidArgumentError(
      `${milliseconds} ms is longer than the longest timeout, ${maximumTimeoutMs} ms (about 24.8 days).`,
    );
  }
  return milliseconds;
}

/** Parses `--lang <language>` into a runtime, accepting the aliases of {@link parseLanguage}. */
export function parseLanguageOption(value: string): Runtime {
  try {
    return parseLanguage(value);
  } catch (error) {
    if (InvalidRequestError.isInstance(error)) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}
