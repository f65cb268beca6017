// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${env:...}" and "${file:...}" are config syntax under test, not templates.
import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  createConfigSchema,
  createProviderFromConfig,
  defaultProviderName,
  parseConfig,
  type SandportConfig,
} from "./config.ts";
import { ConfigInvalidError, InvalidRequestError, type SandportError } from "./errors.ts";
import { defineProviderFactory, type ProviderContext, ProviderRegistry } from "./provider-registry.ts";
import type { SandboxProvider } from "./sandbox-provider.ts";
import { testCapabilities } from "./test-support/test-capabilities.ts";

const capabilities = testCapabilities({
  isolation: "namespace",
  network: { modes: ["none"], allowlist: [] },
  features: { filesystem: true, separateStderr: true },
});

/** Every provider built by the test factories, with what its factory received. */
interface BuiltProvider extends SandboxProvider {
  readonly type: string;
  readonly settings: unknown;
  readonly context: ProviderContext;
}

function minimalProvider(type: string, settings: unknown, context: ProviderContext): BuiltProvider {
  return {
    specificationVersion: "sandport.v1",
    providerId: context.providerId,
    capabilities,
    type,
    settings,
    context,
    create: async () => {
      throw new Error("not used in config tests");
    },
    connect: async () => {
      throw new Error("not used in config tests");
    },
  };
}

const embeddedFactory = defineProviderFactory({
  type: "embedded",
  description: "An in-process test backend.",
  settingsSchema: z.strictObject({
    mode: z.enum(["fast", "safe"]).default("safe"),
    workers: z.number().int().positive().optional(),
  }),
  create: (settings, context) => minimalProvider("embedded", settings, context),
});

const cloudFactory = defineProviderFactory({
  type: "cloud",
  description: "A remote test backend with an API key.",
  settingsSchema: z.strictObject({
    apiKey: z.string().min(1),
    target: z.string().optional(),
  }),
  create: (settings, context) => minimalProvider("cloud", settings, context),
});

const registry = new ProviderRegistry([embeddedFactory, cloudFactory]);

const validConfig = {
  $schema: "./node_modules/@sandport/core/sandport.schema.json",
  providers: {
    local: { type: "embedded", mode: "fast" },
    "cloud-eu": { type: "cloud", apiKey: "${env:CLOUD_API_KEY}", target: "eu" },
  },
  policy: { prefer: ["local"] },
  tunnel: { gateway: "wss://example.test" },
};

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

describe("ProviderRegistry", () => {
  it("lists types and factories in registration order and finds them by type", () => {
    expect(registry.types()).toEqual(["embedded", "cloud"]);
    expect(registry.factories().map((factory) => factory.type)).toEqual(["embedded", "cloud"]);
    expect(registry.get("cloud")).toBe(cloudFactory);
    expect(registry.get("nope")).toBeUndefined();
  });

  it("refuses a second factory for the same type", () => {
    const twice = new ProviderRegistry([embeddedFactory]);
    const error = configErrorFrom(() => twice.register(embeddedFactory));
    expect(error.message).toContain('"embedded"');
  });
});

describe("parseConfig", () => {
  it("accepts a valid config with policy and tunnel sections", () => {
    const config = parseConfig(validConfig, registry);
    expect(Object.keys(config.providers)).toEqual(["local", "cloud-eu"]);
    expect(config.providers["cloud-eu"]).toMatchObject({ type: "cloud", target: "eu" });
    expect(config.policy).toEqual({ prefer: ["local"] });
  });

  it("keeps secret references unresolved", () => {
    const config = parseConfig(validConfig, registry);
    expect(config.providers["cloud-eu"]?.apiKey).toBe("${env:CLOUD_API_KEY}");
  });

  it("rejects an unknown top-level key, naming it", () => {
    const error = configErrorFrom(() => parseConfig({ ...validConfig, provider: {} }, registry));
    expect(error.message).toContain('"provider"');
  });

  it("rejects a config without providers", () => {
    const error = configErrorFrom(() => parseConfig({}, registry));
    expect(error.message).toContain("providers");
  });

  it("rejects an unknown provider type and lists the registered types", () => {
    const error = configErrorFrom(() =>
      parseConfig({ providers: { gpu: { type: "modal", tokenId: "x" } } }, registry),
    );
    expect(error.message).toContain("providers.gpu.type");
    expect(error.message).toContain('"modal"');
    expect(error.message).toContain("embedded, cloud");
  });

  it("rejects a provider entry without a type and lists the registered types", () => {
    const error = configErrorFrom(() => parseConfig({ providers: { x: { mode: "fast" } } }, registry));
    expect(error.message).toContain("providers.x.type");
    expect(error.message).toContain("embedded, cloud");
  });

  it("rejects a bad setting, naming providers.<name>.<field>", () => {
    const error = configErrorFrom(() =>
      parseConfig({ providers: { local: { type: "embedded", workers: -2 } } }, registry),
    );
    expect(error.message).toContain("providers.local.workers");
  });

  it("rejects an unknown setting of a provider, naming it", () => {
    const error = configErrorFrom(() =>
      parseConfig({ providers: { local: { type: "embedded", threads: 4 } } }, registry),
    );
    expect(error.message).toContain("providers.local");
    expect(error.message).toContain('"threads"');
  });

  it("mentions the allowed values when an enum setting is wrong", () => {
    const error = configErrorFrom(() =>
      parseConfig({ providers: { local: { type: "embedded", mode: "turbo" } } }, registry),
    );
    expect(error.message).toContain("providers.local.mode");
    expect(error.message).toContain("fast");
    expect(error.message).toContain("safe");
  });

  it("rejects a provider name that cannot prefix a sandbox id", () => {
    const error = configErrorFrom(() =>
      parseConfig({ providers: { "my:box": { type: "embedded" } } }, registry),
    );
    expect(error.message).toContain("my:box");
  });

  it("rejects a default that names no configured provider, listing the configured ones", () => {
    const error = configErrorFrom(() => parseConfig({ ...validConfig, default: "gpu" }, registry));
    expect(error.message).toContain("default");
    expect(error.message).toContain('"gpu"');
    expect(error.message).toContain("local, cloud-eu");
  });

  it("keeps the zod error as cause of a validation failure", () => {
    const error = configErrorFrom(() => parseConfig({ providers: {}, extra: 1 }, registry));
    expect(error.cause).toBeInstanceOf(z.ZodError);
  });
});

describe("defaultProviderName", () => {
  it("uses the explicit default", () => {
    expect(defaultProviderName(parseConfig({ ...validConfig, default: "cloud-eu" }, registry))).toBe(
      "cloud-eu",
    );
  });

  it("falls back to the first provider listed", () => {
    expect(defaultProviderName(parseConfig(validConfig, registry))).toBe("local");
  });

  it("fails when no provider is configured", () => {
    configErrorFrom(() => defaultProviderName({ providers: {} }));
  });
});

describe("createProviderFromConfig", () => {
  const config = parseConfig(validConfig, registry);
  const secrets = { env: { CLOUD_API_KEY: "ck-secret" } };

  it("passes the providerId and the resolved, validated settings to the factory", () => {
    const provider = createProviderFromConfig("cloud-eu", { config, registry, secrets }) as BuiltProvider;
    expect(provider.type).toBe("cloud");
    expect(provider.providerId).toBe("cloud-eu");
    expect(provider.context).toEqual({ providerId: "cloud-eu" });
    expect(provider.settings).toEqual({ apiKey: "ck-secret", target: "eu" });
  });

  it("applies schema defaults and does not pass the type as a setting", () => {
    const minimal = parseConfig({ providers: { box: { type: "embedded" } } }, registry);
    const provider = createProviderFromConfig("box", { config: minimal, registry }) as BuiltProvider;
    expect(provider.settings).toEqual({ mode: "safe" });
  });

  it("uses the explicit default when no name is given", () => {
    const withDefault = parseConfig({ ...validConfig, default: "cloud-eu" }, registry);
    const provider = createProviderFromConfig(undefined, { config: withDefault, registry, secrets });
    expect(provider.providerId).toBe("cloud-eu");
  });

  it("uses the first provider listed when no name and no default is given", () => {
    const provider = createProviderFromConfig(undefined, { config, registry });
    expect(provider.providerId).toBe("local");
  });

  it("rejects an unknown name with invalid_request, listing the configured providers", () => {
    let caught: unknown;
    try {
      createProviderFromConfig("gpu", { config, registry, secrets });
    } catch (error) {
      caught = error;
    }
    expect(InvalidRequestError.isInstance(caught)).toBe(true);
    expect((caught as SandportError).code).toBe("invalid_request");
    expect((caught as Error).message).toContain('"gpu"');
    expect((caught as Error).message).toContain("local, cloud-eu");
  });

  it("fails on a missing env var only for the provider that uses it, without leaking other secrets", () => {
    expect(createProviderFromConfig("local", { config, registry, secrets: { env: {} } }).providerId).toBe(
      "local",
    );
    const error = configErrorFrom(() =>
      createProviderFromConfig("cloud-eu", { config, registry, secrets: { env: { OTHER: "other-secret" } } }),
    );
    expect(error.message).toContain("providers.cloud-eu.apiKey");
    expect(error.message).toContain("CLOUD_API_KEY");
    expect(error.message).not.toContain("other-secret");
  });

  it("validates settings after resolving references, naming the path but not the value", () => {
    const withTarget = parseConfig(
      { providers: { c: { type: "cloud", apiKey: "k", target: "${env:TARGET}" } } },
      registry,
    );
    const provider = createProviderFromConfig("c", {
      config: withTarget,
      registry,
      secrets: { env: { TARGET: "us" } },
    }) as BuiltProvider;
    expect(provider.settings).toEqual({ apiKey: "k", target: "us" });
  });

  it("resolves ${file:...} references through the secret source", () => {
    const fromFile = parseConfig(
      { providers: { c: { type: "cloud", apiKey: "${file:/run/secrets/cloud}" } } },
      registry,
    );
    const provider = createProviderFromConfig("c", {
      config: fromFile,
      registry,
      secrets: { env: {}, readFile: () => "from-file\n" },
    }) as BuiltProvider;
    expect(provider.settings).toEqual({ apiKey: "from-file" });
  });

  it("rejects settings that a hand-built config gets wrong, naming providers.<name>.<field>", () => {
    const handBuilt: SandportConfig = { providers: { local: { type: "embedded", workers: 0 } } };
    const error = configErrorFrom(() => createProviderFromConfig("local", { config: handBuilt, registry }));
    expect(error.message).toContain("providers.local.workers");
  });

  it("rejects a hand-built config whose type is not registered, listing the registered types", () => {
    const handBuilt: SandportConfig = { providers: { x: { type: "vercel" } } };
    const error = configErrorFrom(() => createProviderFromConfig("x", { config: handBuilt, registry }));
    expect(error.message).toContain('"vercel"');
    expect(error.message).toContain("embedded, cloud");
  });
});

describe("createConfigSchema", () => {
  it("converts to a JSON Schema that describes every provider type", () => {
    const jsonSchema = z.toJSONSchema(createConfigSchema(registry));
    const text = JSON.stringify(jsonSchema);
    expect(jsonSchema.type).toBe("object");
    expect(text).toContain('"embedded"');
    expect(text).toContain('"cloud"');
    expect(text).toContain("An in-process test backend.");
    expect(text).toContain("apiKey");
  });

  it("converts to a JSON Schema with an empty registry too", () => {
    expect(() => z.toJSONSchema(createConfigSchema(new ProviderRegistry()))).not.toThrow();
  });

  it("rejects additional properties at the top level in the JSON Schema", () => {
    const jsonSchema = z.toJSONSchema(createConfigSchema(registry)) as { additionalProperties?: unknown };
    expect(jsonSchema.additionalProperties).toBe(false);
  });
});
