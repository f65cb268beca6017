/**
 * `${env:NAME}` and `${file:PATH}` references inside config strings. Resolved values are secrets:
 * they never appear in an error message, only the path of the setting and the variable's name.
 */
import { ConfigInvalidError } from "./errors.ts";

/** Where references are looked up. `readFile` comes from `@sandport/core/node` (core stays runtime-neutral). */
export interface SecretSource {
  /** Environment variables, usually `process.env`. */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a UTF-8 file; absent where files cannot be read. */
  readFile?: (path: string) => string;
}

const referencePattern = /\$\$\{|\$\{(env|file):([^}]*)\}/g;

/** True when `value` contains a reference (an escaped `$${...}` is not one). */
export function hasSecretReference(value: string): boolean {
  for (const match of value.matchAll(referencePattern)) if (match[0] !== "$${") return true;
  return false;
}

function resolveString(value: string, source: SecretSource, path: string): string {
  return value.replace(referencePattern, (match, kind: string | undefined, name: string | undefined) => {
    if (match === "$${") return "${";
    if (kind === "env") {
      const resolved = source.env[name as string];
      if (resolved === undefined || resolved === "") {
        throw new ConfigInvalidError(`${path}: environment variable ${name} is not set`);
      }
      return resolved;
    }
    if (source.readFile === undefined) {
      throw new ConfigInvalidError(
        `${path}: \${file:...} references need the Node entry (@sandport/core/node)`,
      );
    }
    try {
      // A trailing newline in a secret file is almost never part of the secret.
      return source.readFile(name as string).replace(/\r?\n$/, "");
    } catch (error) {
      throw new ConfigInvalidError(`${path}: cannot read secret file ${name}`, { cause: error });
    }
  });
}

/** Returns a deep copy of `value` with every reference in its strings resolved. */
export function resolveSecretReferences<Value>(value: Value, source: SecretSource, path = ""): Value {
  if (typeof value === "string") return resolveString(value, source, path) as Value;
  if (Array.isArray(value)) {
    return value.map((item, index) => resolveSecretReferences(item, source, `${path}[${index}]`)) as Value;
  }
  if (typeof value === "object" && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = resolveSecretReferences(item, source, path === "" ? key : `${path}.${key}`);
    }
    return result as Value;
  }
  return value;
}
