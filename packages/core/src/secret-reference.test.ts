// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${env:...}" and "${file:...}" are config syntax under test, not templates.
import { describe, expect, it } from "vitest";
import { ConfigInvalidError } from "./errors.ts";
import { hasSecretReference, resolveSecretReferences, type SecretSource } from "./secret-reference.ts";

function configErrorFrom(action: () => unknown): ConfigInvalidError {
  try {
    action();
  } catch (error) {
    expect(ConfigInvalidError.isInstance(error), String(error)).toBe(true);
    expect((error as ConfigInvalidError).code).toBe("config_invalid");
    return error as ConfigInvalidError;
  }
  throw new Error("expected a ConfigInvalidError, but nothing was thrown");
}

describe("resolveSecretReferences", () => {
  it("replaces ${env:NAME} in nested objects and arrays, leaving other values alone", () => {
    const source: SecretSource = { env: { API_KEY: "key-123", REGION: "eu" } };
    const input = {
      apiKey: "${env:API_KEY}",
      nested: { url: "https://${env:REGION}.example.com/${env:REGION}", port: 443, enabled: true },
      list: ["plain", "${env:API_KEY}", { inner: "${env:REGION}" }],
      nothing: null,
    };
    expect(resolveSecretReferences(input, source)).toEqual({
      apiKey: "key-123",
      nested: { url: "https://eu.example.com/eu", port: 443, enabled: true },
      list: ["plain", "key-123", { inner: "eu" }],
      nothing: null,
    });
  });

  it("returns a copy and leaves the input untouched", () => {
    const input = { token: "${env:TOKEN}" };
    const output = resolveSecretReferences(input, { env: { TOKEN: "t" } });
    expect(output).not.toBe(input);
    expect(input.token).toBe("${env:TOKEN}");
  });

  it("does not resolve references inside a resolved value again", () => {
    const source: SecretSource = { env: { A: "${env:B}", B: "second" } };
    expect(resolveSecretReferences("${env:A}", source)).toBe("${env:B}");
  });

  it("fails on a missing variable, naming the setting path and the variable", () => {
    const error = configErrorFrom(() =>
      resolveSecretReferences({ providers: { d: { apiKey: "${env:DAYTONA_API_KEY}" } } }, { env: {} }),
    );
    expect(error.message).toContain("providers.d.apiKey");
    expect(error.message).toContain("DAYTONA_API_KEY");
  });

  it("names array indices in the path of a missing variable", () => {
    const error = configErrorFrom(() =>
      resolveSecretReferences({ keys: ["ok", "${env:MISSING}"] }, { env: {} }),
    );
    expect(error.message).toContain("keys[1]");
  });

  it("treats an empty variable as missing", () => {
    const error = configErrorFrom(() =>
      resolveSecretReferences({ token: "${env:EMPTY}" }, { env: { EMPTY: "" } }),
    );
    expect(error.message).toContain("EMPTY");
  });

  it("never puts another secret's value in the error message", () => {
    const source: SecretSource = { env: { PRESENT: "hunter2-super-secret" } };
    const error = configErrorFrom(() =>
      resolveSecretReferences({ header: "Bearer ${env:PRESENT} ${env:ABSENT}" }, source, "providers.x"),
    );
    expect(error.message).toContain("ABSENT");
    expect(error.message).not.toContain("hunter2-super-secret");
    expect(JSON.stringify(error)).not.toContain("hunter2-super-secret");
  });

  it("prefixes paths with the given starting path", () => {
    const error = configErrorFrom(() =>
      resolveSecretReferences({ token: "${env:NOPE}" }, { env: {} }, "providers.gpu"),
    );
    expect(error.message).toContain("providers.gpu.token");
  });

  it("reads ${file:PATH} through readFile and strips one trailing newline", () => {
    const files: Record<string, string> = {
      "/run/secrets/token": "file-secret\n",
      "/run/secrets/crlf": "crlf-secret\r\n",
      "/run/secrets/two-lines": "line1\nline2\n\n",
    };
    const source: SecretSource = {
      env: {},
      readFile: (path) => {
        const content = files[path];
        if (content === undefined) throw new Error(`ENOENT ${path}`);
        return content;
      },
    };
    expect(
      resolveSecretReferences(
        {
          token: "${file:/run/secrets/token}",
          crlf: "${file:/run/secrets/crlf}",
          twoLines: "${file:/run/secrets/two-lines}",
        },
        source,
      ),
    ).toEqual({ token: "file-secret", crlf: "crlf-secret", twoLines: "line1\nline2\n" });
  });

  it("fails with the setting path and file name when a secret file cannot be read", () => {
    const readError = new Error("ENOENT");
    const error = configErrorFrom(() =>
      resolveSecretReferences(
        { token: "${file:/missing}" },
        {
          env: {},
          readFile: () => {
            throw readError;
          },
        },
      ),
    );
    expect(error.message).toContain("token");
    expect(error.message).toContain("/missing");
    expect(error.cause).toBe(readError);
  });

  it("fails clearly on ${file:...} when no readFile is available, pointing at the Node entry", () => {
    const error = configErrorFrom(() =>
      resolveSecretReferences({ token: "${file:/run/secret}" }, { env: {} }),
    );
    expect(error.message).toContain("token");
    expect(error.message).toContain("@sandport/core/node");
  });

  it("turns $${ into a literal ${ without resolving it", () => {
    expect(resolveSecretReferences("cost: $${env:HOME} and $${x}", { env: { HOME: "/root" } })).toBe(
      "cost: ${env:HOME} and ${x}",
    );
  });

  it("leaves strings without references and unknown reference kinds as they are", () => {
    expect(resolveSecretReferences("no refs $ { } ${vault:x}", { env: {} })).toBe("no refs $ { } ${vault:x}");
  });

  it("leaves non-string scalars as they are", () => {
    expect(resolveSecretReferences(42, { env: {} })).toBe(42);
    expect(resolveSecretReferences(false, { env: {} })).toBe(false);
    expect(resolveSecretReferences(undefined, { env: {} })).toBe(undefined);
  });
});

describe("hasSecretReference", () => {
  it("detects env and file references", () => {
    expect(hasSecretReference("${env:X}")).toBe(true);
    expect(hasSecretReference("prefix ${file:/a}")).toBe(true);
  });

  it("ignores plain strings and other ${...} forms", () => {
    expect(hasSecretReference("plain")).toBe(false);
    expect(hasSecretReference("${vault:x}")).toBe(false);
  });

  it("does not count an escaped $${env:...} as a reference", () => {
    expect(hasSecretReference("$${env:X}")).toBe(false);
    expect(hasSecretReference("$$${env:X}")).toBe(false);
    expect(hasSecretReference("$${env:X} ${env:Y}")).toBe(true);
  });
});
