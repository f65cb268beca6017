/** `sandport.json`: which providers exist, under which names, with which settings. */
import * as z from "zod";
import { ConfigInvalidError, InvalidRequestError } from "./errors.ts";
import type { ProviderFactory, ProviderRegistry } from "./provider-registry.ts";
import { isValidProviderId } from "./sandbox-id.ts";
import type { SandboxProvider } from "./sandbox-provider.ts";
import { describeIssues } from "./sandbox-request.ts";
import { resolveSecretReferences, type SecretSource } from "./secret-reference.ts";

/** One provider entry: its type plus that type's settings. */
export interface ProviderEntry {
  type: string;
  [setting: string]: unknown;
}

/** The parsed `sandport.json`. */
export interface SandportConfig {
  /** Editor hint, ignored. */
  $schema?: string;
  /** Provider used when a caller names none; defaults to the first one listed. */
  default?: string;
  /** Providers by instance name. */
  providers: Record<string, ProviderEntry>;
  /** Routing policy, validated by `@sandport/router`. */
  policy?: Record<string, unknown>;
  /** Tunnel daemon settings, validated by `@sandport/tunnel`. */
  tunnel?: Record<string, unknown>;
  /** Reference gateway settings (`sandport gateway`), validated by `@sandport/tunnel`. */
  gateway?: Record<string, unknown>;
}

/**
 * The zod schema of `sandport.json` for the provider types in `registry`: each provider entry is
 * checked against its type's settings schema. Also the source of the published JSON Schema.
 */
export function createConfigSchema(registry: ProviderRegistry) {
  const entrySchemas = registry
    .typeInfos()
    .map((factory) =>
      factory.settingsSchema
        .extend({ type: z.literal(factory.type) })
        .meta({ description: factory.description }),
    );
  const providerEntry =
    entrySchemas.length === 0
      ? z.looseObject({ type: z.string() })
      : z.discriminatedUnion("type", entrySchemas as unknown as [z.ZodObject, ...z.ZodObject[]]);
  return z.strictObject({
    $schema: z.string().optional(),
    default: z.string().optional().meta({ description: "Provider used when a caller names none." }),
    providers: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "provider names use letters, digits, _ . -"),
        providerEntry,
      )
      .meta({ description: "Providers by instance name." }),
    policy: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Routing policy (see @sandport/router)." }),
    tunnel: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Tunnel daemon settings (see @sandport/tunnel)." }),
    gateway: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "Reference gateway settings, for `sandport gateway` (see @sandport/tunnel)." }),
  });
}

function checkProviderTypes(input: unknown, registry: ProviderRegistry): void {
  if (typeof input !== "object" || input === null) return;
  const providers = (input as { providers?: unknown }).providers;
  if (typeof providers !== "object" || providers === null) return;
  for (const [name, entry] of Object.entries(providers)) {
    const type = (entry as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !registry.has(type)) {
      throw new ConfigInvalidError(
        `providers.${name}.type: ${typeof type === "string" ? `unknown provider type "${type}"` : "missing"}; expected one of: ${registry.types().join(", ")}`,
      );
    }
  }
}

/**
 * Refuses a `__proto__` key anywhere. `JSON.parse` keeps it as an own key, but copying it into an
 * object (as validation and secret resolution do) sets the prototype instead: a provider named so
 * would silently vanish, and a setting so named would pollute the settings object.
 */
function checkReservedKeys(value: unknown, path: string): void {
  if (typeof value !== "object" || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = Array.isArray(value) ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
    if (key === "__proto__") throw new ConfigInvalidError(`${itemPath}: "__proto__" is not allowed as a key`);
    checkReservedKeys(item, itemPath);
  }
}

/** Validates a parsed `sandport.json`; errors name the JSON path and the allowed values. */
export function parseConfig(input: unknown, registry: ProviderRegistry): SandportConfig {
  checkReservedKeys(input, "");
  // Unknown types get their own message: a union error would only say "invalid input".
  checkProviderTypes(input, registry);
  const result = createConfigSchema(registry).safeParse(input);
  if (!result.success) {
    throw new ConfigInvalidError(`invalid config: ${describeIssues(result.error)}`, { cause: result.error });
  }
  const config = result.data as SandportConfig;
  if (config.default !== undefined && !Object.hasOwn(config.providers, config.default)) {
    throw new ConfigInvalidError(
      `default: "${config.default}" is not a configured provider; configured: ${Object.keys(config.providers).join(", ")}`,
    );
  }
  return config;
}

/** The provider used when a caller names none. */
export function defaultProviderName(config: SandportConfig): string {
  const name = config.default ?? Object.keys(config.providers)[0];
  if (name === undefined) throw new ConfigInvalidError("providers: no provider is configured");
  return name;
}

/** Options of {@link createProviderFromConfig}. */
export interface CreateProviderOptions {
  config: SandportConfig;
  registry: ProviderRegistry;
  /** Where `${env:...}` / `${file:...}` references are resolved; defaults to no variables. */
  secrets?: SecretSource;
}

/** A provider entry of the config: its factory and its settings, validated, references unresolved. */
export interface ConfiguredProvider {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: each factory takes its own settings type.
  factory: ProviderFactory<any>;
  /** Validated against the factory's schema; `${env:...}` references are still references. */
  settings: object;
}

/**
 * The entry configured under `name` (or the default one), with its factory and validated
 * settings. Nothing is built and no secret is resolved: enough to read its capabilities or
 * diagnose it.
 */
export function configuredProvider(
  name: string | undefined,
  options: Omit<CreateProviderOptions, "secrets">,
): ConfiguredProvider {
  const { config, registry } = options;
  const providerId = name ?? defaultProviderName(config);
  // Own entries only: a name such as "toString" must not find Object.prototype's members.
  const entry = Object.hasOwn(config.providers, providerId) ? config.providers[providerId] : undefined;
  if (entry === undefined) {
    const configured = Object.keys(config.providers);
    throw new InvalidRequestError(
      `unknown provider "${providerId}"; configured providers: ${configured.length > 0 ? configured.join(", ") : "(none)"}`,
    );
  }
  if (!isValidProviderId(providerId))
    throw new ConfigInvalidError(`providers.${providerId}: invalid provider name`);
  const factory = registry.get(entry.type);
  if (factory === undefined) {
    throw new ConfigInvalidError(
      `providers.${providerId}.type: unknown provider type "${entry.type}"; expected one of: ${registry.types().join(", ")}`,
    );
  }
  const { type: _type, ...rawSettings } = entry;
  return { name: providerId, factory, settings: validSettings(factory, rawSettings, providerId) };
}

/** Every configured provider, in config order (see {@link configuredProvider}). */
export function configuredProviders(options: Omit<CreateProviderOptions, "secrets">): ConfiguredProvider[] {
  return Object.keys(options.config.providers).map((name) => configuredProvider(name, options));
}

// biome-ignore lint/suspicious/noExplicitAny: each factory takes its own settings type.
function validSettings(factory: ProviderFactory<any>, raw: object, providerId: string): object {
  const settings = factory.settingsSchema.safeParse(raw);
  if (!settings.success) {
    throw new ConfigInvalidError(
      `invalid settings: ${describeIssues(settings.error, `providers.${providerId}`)}`,
      {
        cause: settings.error,
      },
    );
  }
  return settings.data;
}

/**
 * Builds the provider configured under `name` (or the default one). Secret references of that
 * provider, and only that one, are resolved now, so a missing key of an unused provider is harmless.
 */
export function createProviderFromConfig(
  name: string | undefined,
  options: CreateProviderOptions,
): SandboxProvider {
  const { name: providerId, factory, settings } = configuredProvider(name, options);
  const resolved = resolveSecretReferences(
    settings,
    options.secrets ?? { env: {} },
    `providers.${providerId}`,
  );
  return factory.create(validSettings(factory, resolved, providerId), { providerId });
}
