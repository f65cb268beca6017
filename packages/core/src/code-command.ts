/**
 * How a POSIX sandbox runs a piece of code in each language with the usual interpreters (`sh`,
 * `python3`, `node`), passing the code as one argument. Shared by backends that build `runCode`
 * from `exec`.
 */
import type { Runtime } from "./capabilities.ts";

/** The argv that runs `code` in `language`; JavaScript and TypeScript run as ES modules. */
export function codeCommand(language: Runtime, code: string): string[] {
  switch (language) {
    case "shell":
      return ["/bin/sh", "-c", code];
    case "python":
      return ["python3", "-c", code];
    case "javascript":
      return ["node", "--input-type=module", "--eval", code];
    case "typescript":
      return ["node", "--input-type=module-typescript", "--eval", code];
  }
}
