/** Maps provider type names (`"local"`, `"daytona"`) to factories, so config names a provider by type only. */
import type { z } from "zod";
import type { ProviderCapabilities } from "./capabilities.ts";
import { ConfigInvalidError } from "./errors.ts";
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

/** The set of provider types a program knows. */
export class ProviderRegistry {
  // Each factory is typed by its own settings; the registry only hands them out by type name.
  // biome-ignore lint/suspicious/noExplicitAny: settings types differ per factory; config validates them.
  readonly #factories = new Map<string, ProviderFactory<any>>();

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(factories: Iterable<ProviderFactory<any>> = []) {
    for (const factory of factories) this.register(factory);
  }

  /** Adds a factory; a second factory for the same type is a programming error. */
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  register(factory: ProviderFactory<any>): this {
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
