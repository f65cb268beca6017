/** Maps provider type names (`"local"`, `"daytona"`) to factories, so config names a provider by type only. */
import type * as z from "zod";
import type { ProviderCapabilities } from "./capabilities.ts";
import { ConfigInvalidError, ProviderUnavailableError } from "./errors.ts";
import type { SandboxProvider } from "./sandbox-provider.ts";

/** What a factory receives besides its settings. */
export interface ProviderContext {
  /** The instance name from config, e.g. `"daytona-eu"`. */
  providerId: string;
}

/** What a factory's `diagnose` found: can providers of these settings run on this machine? */
export interface ProviderDiagnosis {
  usable: boolean;
  /** Findings for people, one line each (e.g. "isolation: supervisor, limits per sandbox"). */
  lines: string[];
  /** Why it is not usable, and how to fix that. */
  problem?: string;
  /** The same findings as data, for `--json`. */
  details?: Record<string, unknown>;
}

/** Creates providers of one type from validated settings, and describes them without building one. */
export interface ProviderFactory<Settings extends object = object> {
  /** The `type` value in config, e.g. `"local"`. */
  readonly type: string;
  /** One line for `sandport providers` and the JSON Schema. */
  readonly description: string;
  /** Strict schema of the settings (without `type`); used for validation and the JSON Schema. */
  readonly settingsSchema: z.ZodObject;
  /** Builds the provider. Must not throw for missing credentials: those load at first request. */
  create(settings: Settings, context: ProviderContext): SandboxProvider;
  /**
   * The capabilities a provider of these settings declares, without building it or resolving any
   * secret (capabilities never depend on a credential).
   */
  capabilities(settings: Settings, context: ProviderContext): ProviderCapabilities;
  /** Checks this machine for providers of these settings (`sandport doctor`); absent when nothing local is needed. */
  diagnose?(settings: Settings, context: ProviderContext): Promise<ProviderDiagnosis>;
}

/** What config validation needs of a provider type: no implementation. */
export interface ProviderTypeInfo {
  readonly type: string;
  readonly description: string;
  readonly settingsSchema: z.ZodObject;
  /**
   * The capabilities of a provider of these (validated) settings, when they can be told without
   * importing the adapter: lets a router decide, and `sandport providers` describe, before loading it.
   */
  // biome-ignore lint/suspicious/noExplicitAny: settings types differ per factory; config validates them.
  capabilities?(settings: any, context: ProviderContext): ProviderCapabilities;
}

/**
 * A provider type whose factory, and the adapter behind it, is imported on first use: config can
 * name and validate it without paying for the adapter's modules until a command needs it.
 */
export interface LazyProviderFactory extends ProviderTypeInfo {
  /** Imports the adapter and returns its factory (for `type`). */
  // biome-ignore lint/suspicious/noExplicitAny: settings types differ per factory; config validates them.
  load(): Promise<ProviderFactory<any>>;
}

/** The set of provider types a program knows. */
export class ProviderRegistry {
  // Each factory is typed by its own settings; the registry only hands them out by type name.
  // biome-ignore lint/suspicious/noExplicitAny: settings types differ per factory; config validates them.
  readonly #factories = new Map<string, ProviderFactory<any>>();
  readonly #lazy = new Map<string, LazyProviderFactory>();

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(factories: Iterable<ProviderFactory<any>> = []) {
    for (const factory of factories) this.register(factory);
  }

  /** Adds a factory; a second factory for the same type is a programming error. */
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  register(factory: ProviderFactory<any>): this {
    if (this.has(factory.type)) {
      throw new ConfigInvalidError(`provider type "${factory.type}" is registered twice`);
    }
    this.#factories.set(factory.type, factory);
    return this;
  }

  /** Adds a provider type whose factory is loaded by {@link load}. */
  registerLazy(factory: LazyProviderFactory): this {
    if (this.has(factory.type)) {
      throw new ConfigInvalidError(`provider type "${factory.type}" is registered twice`);
    }
    this.#lazy.set(factory.type, factory);
    return this;
  }

  /** Whether `type` is registered, loaded or not. */
  has(type: string): boolean {
    return this.#factories.has(type) || this.#lazy.has(type);
  }

  /**
   * The factory for `type`, or undefined when the type is unknown. A lazily registered type must
   * have been loaded first (a programming error otherwise).
   */
  get(type: string): ProviderFactory | undefined {
    const factory = this.#factories.get(type);
    if (factory === undefined && this.#lazy.has(type)) {
      throw new ProviderUnavailableError(
        `provider type "${type}" is registered lazily and was not loaded: await registry.load(["${type}"]) first`,
        { isRetryable: false },
      );
    }
    return factory;
  }

  /** Imports the lazily registered types among `types` (all of them when omitted). */
  async load(types: Iterable<string> = this.#lazy.keys()): Promise<void> {
    for (const type of new Set(types)) {
      const lazy = this.#lazy.get(type);
      if (lazy === undefined) continue;
      let factory: ProviderFactory;
      try {
        factory = await lazy.load();
      } catch (error) {
        throw new ProviderUnavailableError(
          `provider type "${type}" could not be loaded (${lazy.description})`,
          {
            cause: error,
            isRetryable: false,
          },
        );
      }
      if (factory.type !== type) {
        throw new ConfigInvalidError(`provider type "${type}" loaded a factory of type "${factory.type}"`);
      }
      this.#lazy.delete(type);
      this.#factories.set(type, factory);
    }
  }

  /**
   * The capabilities of a provider of `type` with these validated settings: from the loaded factory,
   * or from a lazy type's own description; undefined when the type must be loaded to tell.
   */
  capabilities(type: string, settings: object, context: ProviderContext): ProviderCapabilities | undefined {
    const factory = this.#factories.get(type);
    if (factory !== undefined) return factory.capabilities(settings, context);
    return this.#lazy.get(type)?.capabilities?.(settings, context);
  }

  /** Registered type names, in registration order (loaded types first). */
  types(): string[] {
    return [...this.#factories.keys(), ...this.#lazy.keys()];
  }

  /** What config validation and the JSON Schema need of every registered type, loaded or not. */
  typeInfos(): ProviderTypeInfo[] {
    return [...this.#factories.values(), ...this.#lazy.values()];
  }

  /** The loaded factories, in registration order. */
  factories(): ProviderFactory[] {
    return [...this.#factories.values()];
  }
}

/** What {@link defineProviderFactory} takes: `capabilities` may be left out. */
export interface ProviderFactoryDefinition<Schema extends z.ZodObject>
  extends Omit<ProviderFactory<z.infer<Schema>>, "capabilities" | "settingsSchema"> {
  settingsSchema: Schema;
  capabilities?: ProviderFactory<z.infer<Schema>>["capabilities"];
}

/**
 * Declares a factory typed by its schema's settings. Without `capabilities`, they are read from a
 * provider built for the purpose (construction touches nothing, so that is cheap and safe).
 */
export function defineProviderFactory<Schema extends z.ZodObject>(
  definition: ProviderFactoryDefinition<Schema>,
): ProviderFactory<z.infer<Schema>> {
  return {
    ...definition,
    capabilities:
      definition.capabilities ?? ((settings, context) => definition.create(settings, context).capabilities),
  };
}
