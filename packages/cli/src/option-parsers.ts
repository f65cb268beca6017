/** Parsers for option values, so a bad value is a usage error before anything is created. */
import { InvalidRequestError, type Runtime } from "@sandport/core";
import { InvalidArgumentError } from "commander";
import { parseLanguage } from "./language.ts";

/** Parses `--timeout <ms>`: a positive whole number of milliseconds. */
export function parseTimeoutOption(value: string): number {
  const milliseconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(milliseconds) || milliseconds <= 0) {
    throw new InvalidArgumentError("expected a positive whole number of milliseconds.");
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
