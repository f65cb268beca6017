// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${env:...}" and "${file:...}" are config syntax under test, not templates.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { createProviderFromConfig, type SandportConfig } from "../config.ts";
import { ConfigInvalidError, type SandportError } from "../errors.ts";
import { defineProviderFactory, ProviderRegistry } from "../provider-registry.ts";
import { resolveSecretReferences } from "../secret-reference.ts";
import { testCapabilities } from "../test-support/test-capabilities.ts";
import { loadConfigFile, nodeSecretSource } from "./index.ts";

const registry = new ProviderRegistry([
  defineProviderFactory({
    type: "embedded",
    description: "An in-process test backend.",
    settingsSchema: z.strictObject({ token: z.string().optional() }),
    create: (settings, context) => ({
      specificationVersion: "sandport.v1",
      providerId: context.providerId,
      capabilities: testCapabilities(),
      settings,
      create: async () => {
        throw new Error("unused");
      },
      connect: async () => {
        throw new Error("unused");
      },
    }),
  }),
]);

const fallback: SandportConfig = { providers: { fallback: { type: "embedded" } } };

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "sandport-config-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function writeConfig(name: string, content: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function configErrorFrom(action: () => unknown): SandportError {
  try {
    action();
  } catch (error) {
    expect(ConfigInvalidError.isInstance(error), String(error)).toBe(true);
    expect((error as SandportError).code).toBe("config_invalid");
    return error as SandportError;
  }
  throw new Error("expected a ConfigInvalidError, but nothing was thrown");
}

describe("loadConfigFile", () => {
  it("returns the fallback with an undefined path when there is no config file", () => {
    const loaded = loadConfigFile({ registry, fallback, cwd: directory, environment: {} });
    expect(loaded.path).toBeUndefined();
    expect(loaded.config).toEqual(fallback);
  });

  it("reads sandport.json from the working directory", () => {
    const path = writeConfig("sandport.json", { providers: { mine: { type: "embedded" } } });
    const loaded = loadConfigFile({ registry, fallback, cwd: directory, environment: {} });
    expect(loaded.path).toBe(path);
    expect(Object.keys(loaded.config.providers)).toEqual(["mine"]);
  });

  it("fails for an explicit path that does not exist instead of falling back", () => {
    const missing = join(directory, "nope.json");
    const error = configErrorFrom(() =>
      loadConfigFile({ registry, fallback, path: missing, cwd: directory, environment: {} }),
    );
    expect(error.message).toContain(missing);
  });

  it("resolves a relative explicit path against cwd", () => {
    mkdirSync(join(directory, "conf"));
    const path = writeConfig("conf/custom.json", { providers: { custom: { type: "embedded" } } });
    const loaded = loadConfigFile({
      registry,
      fallback,
      path: "conf/custom.json",
      cwd: directory,
      environment: {},
    });
    expect(loaded.path).toBe(path);
  });

  it("fails on invalid JSON, naming the file", () => {
    const path = writeConfig("sandport.json", "{ providers: ");
    const error = configErrorFrom(() =>
      loadConfigFile({ registry, fallback, cwd: directory, environment: {} }),
    );
    expect(error.message).toContain(path);
    expect(error.message).toContain("not valid JSON");
  });

  it("fails on an invalid config, naming the file and the JSON path", () => {
    const path = writeConfig("sandport.json", { providers: { local: { type: "embedded", colour: "red" } } });
    const error = configErrorFrom(() =>
      loadConfigFile({ registry, fallback, cwd: directory, environment: {} }),
    );
    expect(error.message).toContain(path);
    expect(error.message).toContain("providers.local");
    expect(error.message).toContain("colour");
  });

  it("honours SANDPORT_CONFIG from the given environment", () => {
    const path = writeConfig("from-env.json", { providers: { fromEnv: { type: "embedded" } } });
    writeConfig("sandport.json", { providers: { fromCwd: { type: "embedded" } } });
    const loaded = loadConfigFile({
      registry,
      fallback,
      cwd: directory,
      environment: { SANDPORT_CONFIG: path },
    });
    expect(loaded.path).toBe(path);
    expect(Object.keys(loaded.config.providers)).toEqual(["fromEnv"]);
  });

  it("fails when SANDPORT_CONFIG names a file that does not exist", () => {
    const missing = join(directory, "missing.json");
    const error = configErrorFrom(() =>
      loadConfigFile({ registry, fallback, cwd: directory, environment: { SANDPORT_CONFIG: missing } }),
    );
    expect(error.message).toContain(missing);
  });

  it("prefers an explicit path over SANDPORT_CONFIG", () => {
    const explicit = writeConfig("explicit.json", { providers: { explicit: { type: "embedded" } } });
    const fromEnv = writeConfig("from-env.json", { providers: { fromEnv: { type: "embedded" } } });
    const loaded = loadConfigFile({
      registry,
      fallback,
      path: explicit,
      cwd: directory,
      environment: { SANDPORT_CONFIG: fromEnv },
    });
    expect(loaded.path).toBe(explicit);
  });
});

describe("nodeSecretSource", () => {
  it("reads ${file:...} references from disk, without the trailing newline", () => {
    const secretPath = writeConfig("token.txt", "file-token\n");
    const resolved = resolveSecretReferences({ token: `\${file:${secretPath}}` }, nodeSecretSource({}));
    expect(resolved).toEqual({ token: "file-token" });
  });

  it("reads ${env:...} from the given environment", () => {
    expect(resolveSecretReferences("${env:TOKEN}", nodeSecretSource({ TOKEN: "t-1" }))).toBe("t-1");
  });

  it("reports an unreadable secret file as config_invalid naming the file", () => {
    const missing = join(directory, "absent.txt");
    const error = configErrorFrom(() =>
      resolveSecretReferences({ token: `\${file:${missing}}` }, nodeSecretSource({})),
    );
    expect(error.message).toContain(missing);
  });

  it("feeds file secrets into provider settings end to end", () => {
    const secretPath = writeConfig("token.txt", "end-to-end\n");
    const path = writeConfig("sandport.json", {
      providers: { local: { type: "embedded", token: `\${file:${secretPath}}` } },
    });
    const { config } = loadConfigFile({ registry, fallback, path, environment: {} });
    const provider = createProviderFromConfig("local", { config, registry, secrets: nodeSecretSource({}) });
    expect((provider as unknown as { settings: unknown }).settings).toEqual({ token: "end-to-end" });
  });
});
