/** Maps provider type names (`"local"`, `"daytona"`) to factories, so config names a provider by type only. */
import type { z } from "zod";
import { ConfigInvalidError } from "./errors.ts";
import type { SandboxProvider } from "./sandbox-provider.ts";

/** What a factory receives besides its settings. */
export interface ProviderContext {
  /** The instance name from config, e.g. `"daytona-eu"`. */
  providerId: string;
}

/** Creates providers of one type from validated settings. */
export interface ProviderFactory<Settings extends object = object> {
  /** The `type` value in config, e.g. `"local"`. */
  readonly type: string;
  /** One line for `sandport providers` and the JSON Schema. */
  readonly description: string;
  /** Strict schema of the settings (without `type`); used for validation and the JSON Schema. */
  readonly settingsSchema: z.ZodObject;
  /** Builds the provider. Must not throw for missing credentials: those load at first request. */
  create(settings: Settings, context: ProviderContext): SandboxProvider;
}

/** The set of provider types a program knows. */
export class ProviderRegistry {
  readonly #factories = new Map<string, ProviderFactory>();

  constructor(factories: Iterable<ProviderFactory> = []) {
    for (const factory of factories) this.register(factory);
  }

  /** Adds a factory; a second factory for the same type is a programming error. */
  register(factory: ProviderFactory): this {
    if (this.#factories.has(factory.type)) {
      throw new ConfigInvalidError(`provider type "${factory.type}" is registered twice`);
    }
    this.#factories.set(factory.type, factory);
    return this;
  }

  /** The factory for `type`, or undefined. */
  get(type: string): ProviderFactory | undefined {
    return this.#factories.get(type);
  }

  /** Registered type names, in registration order. */
  types(): string[] {
    return [...this.#factories.keys()];
  }

  /** Registered factories, in registration order. */
  factories(): ProviderFactory[] {
    return [...this.#factories.values()];
  }
}

/** Declares a factory with its settings type inferred from the schema. */
export function defineProviderFactory<Schema extends z.ZodObject>(factory: {
  type: string;
  description: string;
  settingsSchema: Schema;
  create(settings: z.infer<Schema>, context: ProviderContext): SandboxProvider;
}): ProviderFactory {
  return factory as unknown as ProviderFactory;
}
