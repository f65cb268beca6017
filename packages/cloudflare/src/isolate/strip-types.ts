/**
 * TypeScript to JavaScript with amaro (the type stripper Node itself uses), without type checking,
 * so a run starts without a compiler. Types are replaced by spaces, which keeps line and column
 * positions for stack traces; only code that needs real transformation (enums, namespaces) is
 * transformed, where positions may move.
 */
import { createRequire } from "node:module";

type Transform = typeof import("amaro").transformSync;

/** amaro, loaded at the first TypeScript run: most runs (and every CLI command that runs none) skip it. */
let transformSync: Transform | undefined;
function transform(...parameters: Parameters<Transform>): ReturnType<Transform> {
  transformSync ??= (createRequire(import.meta.url)("amaro") as typeof import("amaro")).transformSync;
  return transformSync(...parameters);
}

/**
 * The JavaScript of `source`, or the compiler's message when it is not valid TypeScript: `message`
 * with the position, `reason` without it, and the position (1-based line and column) when known.
 */
export type StrippedCode =
  | { ok: true; javascript: string }
  | { ok: false; message: string; reason: string; line?: number; column?: number };

/** The parts of amaro's error this code reads (amaro throws plain objects, not `Error`s). */
interface AmaroError {
  code?: string;
  message?: string;
  startLine?: number;
  startColumn?: number;
}

function failure(error: unknown): StrippedCode {
  const details = error as AmaroError;
  const reason = details.message ?? String(error);
  if (details.startLine === undefined) return { ok: false, message: reason, reason };
  // amaro counts columns from 0; editors and stack traces count from 1.
  const column = (details.startColumn ?? 0) + 1;
  return {
    ok: false,
    message: `${reason} (line ${details.startLine}, column ${column})`,
    reason,
    line: details.startLine,
    column,
  };
}

/** Strips types from a TypeScript module. */
export function stripTypes(source: string): StrippedCode {
  try {
    return { ok: true, javascript: transform(source, { mode: "strip-only", sourceMap: false }).code };
  } catch (error) {
    if ((error as AmaroError).code !== "UnsupportedSyntax") return failure(error);
  }
  try {
    return { ok: true, javascript: transform(source, { mode: "transform", sourceMap: false }).code };
  } catch (error) {
    return failure(error);
  }
}
