import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configSecrets, createRedactor } from "./secret-redaction.ts";

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "sandport-redaction-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** `${env:NAME}`, as written in sandport.json. */
function envReference(name: string): string {
  return `$\{env:${name}}`;
}

function secretsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  writeFileSync(join(directory, "sandport.json"), text);
  return configSecrets({ environment: { cwd: directory, env } });
}

describe("configSecrets", () => {
  it("collects what env and file references resolve to, in any setting", () => {
    const tokenFile = join(directory, "token.txt");
    writeFileSync(tokenFile, "file-secret-1\n");
    const config = {
      providers: {
        a: {
          type: "x",
          token: `Bearer ${envReference("TOKEN")}`,
          nested: { list: [`$\{file:${tokenFile}}`] },
        },
      },
    };
    const secrets = secretsOf(JSON.stringify(config), { TOKEN: "env-secret-1" });
    expect(secrets).toEqual(expect.arrayContaining(["env-secret-1", "file-secret-1"]));
  });

  it("collects a URL's user-info, written out or resolved from a reference", () => {
    const config = {
      providers: {
        a: { type: "x", url: "https://deploy:p%40ss-word@host.example/", other: envReference("URL") },
      },
    };
    const secrets = secretsOf(JSON.stringify(config), { URL: "https://tokenonly123@api.example" });
    expect(secrets).toEqual(
      expect.arrayContaining([
        "deploy:p%40ss-word",
        "p%40ss-word",
        "p@ss-word",
        Buffer.from("deploy:p@ss-word").toString("base64"),
        "tokenonly123",
      ]),
    );
    expect(secrets).not.toContain("deploy");
  });

  it("ignores an escaped reference, an unset variable and a missing config", () => {
    const escapedAndUnset = `$${envReference("HOME")} ${envReference("UNSET")}`;
    expect(secretsOf(JSON.stringify({ a: escapedAndUnset }), { HOME: "/home/someone" })).toEqual([]);
    expect(configSecrets({ environment: { cwd: join(directory, "nowhere"), env: {} } })).toEqual([]);
  });

  it("still finds references in a config that is not valid JSON", () => {
    const broken = `{ "token": "${envReference("TOKEN")}", `;
    expect(secretsOf(broken, { TOKEN: "env-secret-2" })).toEqual(["env-secret-2"]);
  });

  it("reads the file named by --config or $SANDPORT_CONFIG", () => {
    writeFileSync(join(directory, "other.json"), JSON.stringify({ token: envReference("TOKEN") }));
    const env = { TOKEN: "env-secret-3", SANDPORT_CONFIG: "other.json" };
    expect(configSecrets({ environment: { cwd: directory, env } })).toEqual(["env-secret-3"]);
    expect(
      configSecrets({ environment: { cwd: directory, env: { TOKEN: "env-secret-3" } }, path: "other.json" }),
    ).toEqual(["env-secret-3"]);
  });
});

describe("createRedactor", () => {
  it("replaces every occurrence, also URL-encoded and JSON-escaped", () => {
    const redact = createRedactor(['se"cret/value']);
    expect(redact('a se"cret/value b se"cret/value')).toBe("a [redacted] b [redacted]");
    expect(redact(`x=${encodeURIComponent('se"cret/value')}`)).toBe("x=[redacted]");
    expect(redact(JSON.stringify({ message: 'se"cret/value' }))).toBe('{"message":"[redacted]"}');
  });

  it("replaces a longer secret whole before a shorter one inside it", () => {
    const redact = createRedactor(["pass-word", "user:pass-word"]);
    expect(redact("https://user:pass-word@host")).toBe("https://[redacted]@host");
  });

  it("leaves values too short to hide anything alone", () => {
    expect(createRedactor(["abc", ""])("abc abc")).toBe("abc abc");
  });
});
