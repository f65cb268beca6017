/** Which runtime `sandport run` uses: named with `--lang`, or guessed from the file name. */
import { InvalidRequestError, type Runtime } from "@sandport/core";

/** Every name `--lang` accepts, mapped to the runtime it means. */
export const languageAliases: Readonly<Record<string, Runtime>> = {
  sh: "shell",
  shell: "shell",
  py: "python",
  python: "python",
  js: "javascript",
  javascript: "javascript",
  ts: "typescript",
  typescript: "typescript",
};

const extensionRuntimes: Readonly<Record<string, Runtime>> = {
  ".sh": "shell",
  ".py": "python",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".ts": "typescript",
  ".mts": "typescript",
};

/** The runtime used when neither `--lang` nor a file extension says. */
export const defaultRuntime: Runtime = "shell";

/** The runtime a `--lang` value names (case-insensitive); `InvalidRequestError` listing the choices otherwise. */
export function parseLanguage(name: string): Runtime {
  const runtime = languageAliases[name.toLowerCase()];
  if (runtime === undefined) {
    throw new InvalidRequestError(
      `unknown language "${name}"; expected one of: ${Object.keys(languageAliases).join(", ")}`,
    );
  }
  return runtime;
}

/** The runtime a file name's extension implies, or undefined when it implies none. */
export function inferLanguage(fileName: string): Runtime | undefined {
  const match = /\.[^./\\]+$/.exec(fileName);
  return match === null ? undefined : extensionRuntimes[match[0].toLowerCase()];
}

/** The runtime for a run: the explicit `--lang`, else the file's extension, else shell. */
export function resolveRuntime(language: Runtime | undefined, fileName: string | undefined): Runtime {
  if (language !== undefined) return language;
  return (fileName === undefined ? undefined : inferLanguage(fileName)) ?? defaultRuntime;
}
