/**
 * Turns the caller's JavaScript or TypeScript into the module the isolate runs.
 *
 * - Code without `export` is a script body: it runs inside an async function, so top-level
 *   `await`, `return <value>` and I/O such as `fetch` work (workerd forbids I/O while a module's
 *   top level is evaluated). Its static `import` statements are lifted onto the first line, so
 *   line numbers in stack traces stay the caller's.
 * - Code with `export` runs as the module it is; its default export is the result value (a
 *   default-exported function is called and awaited).
 *
 * TypeScript is lexed as written and its types are stripped last, from the whole module.
 */
import { init, parse } from "es-module-lexer";
import { stripTypes } from "./strip-types.ts";

/** The module to run, and whether it may touch the filesystem. */
export interface PreparedCode {
  module: string;
  /**
   * The code may reach `node:fs` (a static or dynamic import of it or `node:module`, a dynamic
   * import whose target is computed, or `process.getBuiltinModule`): the workspace is mounted
   * even when empty and collected afterwards.
   */
  filesystem: boolean;
  /**
   * The code names `process` (the global or `node:process`), so the isolate sets up its env, `exit`
   * and output streams. Code that builds the name from pieces reaches a `process` left as workerd
   * made it: no env, and its writes are not captured.
   */
  process: boolean;
}

/** A prepared module, or the compiler's message when the code is not valid. */
export type PreparedCodeOutcome = { ok: true; prepared: PreparedCode } | { ok: false; message: string };

const filesystemModules = new Set([
  "fs",
  "node:fs",
  "fs/promises",
  "node:fs/promises",
  "module",
  "node:module",
]);

/** Replaces `source[start, end)` with spaces, keeping line breaks so positions do not move. */
function blank(source: string, start: number, end: number): string {
  return source.slice(0, start) + source.slice(start, end).replace(/[^\n]/g, " ") + source.slice(end);
}

/**
 * Wraps a script body in the default-exported async function, lifting its static imports. Returns
 * the module and the length of what was put before the body on its first line: positions on other
 * lines are the caller's, on the first line they are shifted by that much.
 */
function wrapScript(
  source: string,
  imports: readonly { importStart: number; importEnd: number }[],
): { module: string; prefixLength: number } {
  let body = source;
  const lifted: string[] = [];
  // From the end, so earlier offsets stay valid while blanking.
  for (const entry of [...imports].reverse()) {
    const statement = source.slice(entry.importStart, entry.importEnd).replace(/\s*\n\s*/g, " ");
    lifted.unshift(statement.endsWith(";") ? statement : `${statement};`);
    body = blank(body, entry.importStart, entry.importEnd);
  }
  const prefix = `${lifted.join(" ")}export default async function () {`;
  return { module: `${prefix}${body}\n}\n`, prefixLength: prefix.length };
}

/** Prepares `code` written in `language` for the isolate Worker. */
export async function prepareCode(
  source: string,
  language: "javascript" | "typescript",
): Promise<PreparedCodeOutcome> {
  await init();
  // A `#!` line is valid only at the very start of a file; as a comment it keeps its line.
  const code = source.startsWith("#!") ? `//${source.slice(2)}` : source;
  let module = code;
  let prefixLength = 0;
  let filesystem = true;
  try {
    const [imports, exports] = parse(code);
    filesystem =
      code.includes("getBuiltinModule") ||
      imports.some(
        (entry) =>
          (entry.type === "static" || entry.type === "dynamic") &&
          (entry.specifier === undefined || filesystemModules.has(entry.specifier)),
      );
    const isModule = exports.length > 0 || imports.some((entry) => entry.type === "reexport-star");
    if (!isModule) {
      ({ module, prefixLength } = wrapScript(
        code,
        imports.filter((entry) => entry.type === "static"),
      ));
    }
  } catch {
    // The lexer could not read it: the compiler or V8 reports the syntax error with its position.
  }
  if (language === "typescript") {
    const stripped = stripTypes(module);
    if (!stripped.ok) return { ok: false, message: `TypeScript: ${compilerMessage(stripped, prefixLength)}` };
    module = stripped.javascript;
  }
  return { ok: true, prepared: { module, filesystem, process: code.includes("process") } };
}

/** The compiler's message with its position in the caller's code, not in the wrapped module. */
function compilerMessage(
  failure: { message: string; reason: string; line?: number; column?: number },
  prefixLength: number,
): string {
  const { line, column } = failure;
  if (line === undefined || column === undefined || prefixLength === 0 || line > 1) return failure.message;
  // On the first line, past the wrapper: shift back. Inside the wrapper (a lifted import): the line only.
  return column > prefixLength
    ? `${failure.reason} (line 1, column ${column - prefixLength})`
    : `${failure.reason} (line 1)`;
}
