/**
 * Keeps secrets out of everything the CLI itself prints. A secret is what a `${env:...}` or
 * `${file:...}` reference in the config resolves to, and the user-info part of any URL in it
 * (`https://user:password@host`). Providers and vendor libraries may put either into an error
 * message or a cause (a URL in a fetch error, say), so the CLI removes them from its own messages
 * (errors, `--verbose` notes, listings) whatever their origin. The sandboxed command's output is
 * data and is passed on unchanged.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CliEnvironment } from "./cli-environment.ts";

/** Replaces every known secret in `text`. */
export type Redact = (text: string) => string;

/** What replaces a secret. */
export const redactedText = "[redacted]";

// A shorter value would match ordinary words of every message, and hides nothing worth hiding.
const minimumSecretLength = 4;

// Same syntax as core's resolver; an escaped `$${` is not a reference.
const referencePattern = /\$\$\{|\$\{(env|file):([^}]*)\}/g;
// The user-info of a URL anywhere in a string: `scheme://<userinfo>@`.
const userInfoPattern = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/?#@"'<>]+)@/g;

/** Options of {@link configSecrets}. */
export interface ConfigSecretsOptions {
  environment: Pick<CliEnvironment, "cwd" | "env">;
  /** `--config`, as for `loadCliConfig`. */
  path?: string;
}

/**
 * Every secret the config the CLI runs with can hold, resolved as the providers would see them.
 * Best effort and never throws: a config that cannot be read or parsed is still searched as text,
 * because its error message may be the one that needs redacting.
 */
export function configSecrets(options: ConfigSecretsOptions): string[] {
  const { env, cwd } = options.environment;
  const named = options.path ?? (env.SANDPORT_CONFIG || undefined);
  const path = resolve(cwd, named ?? "sandport.json");
  let text: string;
  try {
    if (!existsSync(path)) return [];
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  let strings: string[];
  try {
    strings = stringsIn(JSON.parse(text));
  } catch {
    strings = [text];
  }
  const secrets = new Set<string>();
  for (const value of strings) {
    const resolved = value.replace(
      referencePattern,
      (match, kind: string | undefined, name: string | undefined) => {
        if (match === "$${") return "${";
        const secret = resolveReference(kind, name ?? "", env);
        if (secret !== undefined) secrets.add(secret);
        return secret ?? match;
      },
    );
    for (const candidate of new Set([value, resolved])) {
      for (const match of candidate.matchAll(userInfoPattern)) {
        for (const secret of userInfoSecrets(match[1] ?? "")) secrets.add(secret);
      }
    }
  }
  return [...secrets];
}

function resolveReference(
  kind: string | undefined,
  name: string,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (kind === "env") return env[name] || undefined;
  try {
    return readFileSync(name, "utf8").replace(/\r?\n$/, "") || undefined;
  } catch {
    return undefined;
  }
}

/** `user:password` and the password; a user-info without a colon is a token as a whole. */
function userInfoSecrets(userInfo: string): string[] {
  const colon = userInfo.indexOf(":");
  if (colon === -1) return [userInfo, safeDecode(userInfo)];
  const password = userInfo.slice(colon + 1);
  const decoded = `${safeDecode(userInfo.slice(0, colon))}:${safeDecode(password)}`;
  return [
    userInfo,
    password,
    decoded,
    safeDecode(password),
    // As an HTTP basic Authorization header would carry it.
    Buffer.from(decoded).toString("base64"),
  ];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === "object" && value !== null) {
    // Keys too: a secret pasted as a key is still a secret.
    return Object.entries(value).flatMap(([key, item]) => [key, ...stringsIn(item)]);
  }
  return [];
}

/**
 * A function that replaces each of `secrets` in a text, also in the forms a message may carry it
 * (URL-encoded, JSON-escaped). Longer secrets go first, so one that contains another is replaced whole.
 */
export function createRedactor(secrets: Iterable<string>): Redact {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minimumSecretLength) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const ordered = [...forms].sort((left, right) => right.length - left.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const form of ordered) result = result.split(form).join(redactedText);
    return result;
  };
}
