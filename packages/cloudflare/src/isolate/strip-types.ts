/**
 * TypeScript to JavaScript with amaro (the type stripper Node itself uses), without type checking,
 * so a run starts without a compiler. Types are replaced by spaces, which keeps line and column
 * positions for stack traces; only code that needs real transformation (enums, namespaces) is
 * transformed, where positions may move.
 */
import { transformSync } from "amaro";

/** The JavaScript of `source`, or the compiler's message when it is not valid TypeScript. */
export type StrippedCode = { ok: true; javascript: string } | { ok: false; message: string };

/** The parts of amaro's error this code reads (amaro throws plain objects, not `Error`s). */
interface AmaroError {
  code?: string;
  message?: string;
  startLine?: number;
  startColumn?: number;
}

function describe(error: unknown): string {
  const details = error as AmaroError;
  const where =
    details.startLine === undefined ? "" : ` (line ${details.startLine}, column ${details.startColumn ?? 0})`;
  return `${details.message ?? String(error)}${where}`;
}

/** Strips types from a TypeScript module. */
export function stripTypes(source: string): StrippedCode {
  try {
    return { ok: true, javascript: transformSync(source, { mode: "strip-only", sourceMap: false }).code };
  } catch (error) {
    if ((error as AmaroError).code !== "UnsupportedSyntax") return { ok: false, message: describe(error) };
  }
  try {
    return { ok: true, javascript: transformSync(source, { mode: "transform", sourceMap: false }).code };
  } catch (error) {
    return { ok: false, message: describe(error) };
  }
}
