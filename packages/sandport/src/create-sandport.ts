/**
 * `createSandport({ config })`: the library's front door. From a `sandport.json` object (or the
 * embedded default) it builds one named provider, or the router over all of them with the config's
 * policy and a ledger other processes can reap from.
 */
import {
  createProviderFromConfig,
  defaultProviderName,
  type ProviderRegistry,
  parseConfig,
  type SandboxProvider,
  type SandportConfig,
} from "@sandport/core";
import { nodeSecretSource } from "@sandport/core/node";
import {
  createMemoryLedger,
  createRouter,
  type DeferredProvider,
  type Router,
  type RouterEvent,
  type RouterLedger,
} from "@sandport/router";
import { defaultLedgerPath, openSqliteLedger } from "@sandport/router/node";
import { builtInRegistry } from "./built-in-registry.ts";
import { defaultConfig } from "./default-config.ts";

/** Options of {@link createSandport}. */
export interface SandportOptions {
  /** A parsed `sandport.json` (validated here). Default: the embedded default config. */
  config?: unknown;
  /** Where `${env:NAME}` references are read. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The provider types known. Default: every built-in type ({@link builtInRegistry}). */
  registry?: ProviderRegistry;
  /** The router's ledger. Default: SQLite at `policy.ledger.path`, else under the user's state directory. */
  ledger?: RouterLedger | Promise<RouterLedger>;
  /** Receives the router's decision and call events. */
  onEvent?: (event: RouterEvent) => void;
}

/** What {@link createSandport} returns. */
export interface Sandport {
  readonly config: SandportConfig;
  readonly registry: ProviderRegistry;
  /** The provider configured as `name` (default: the config's `default`, else the first one). */
  provider(name?: string): Promise<SandboxProvider>;
  /**
   * The router over every configured provider (built once; providers load on first use). Opens
   * the ledger, and reaps at start when `policy.ledger.reapAtStart` says so.
   */
  router(): Promise<Router>;
  /** Releases the router and every provider built so far. */
  dispose(): Promise<void>;
}

/** The front door: providers and the router from one config. */
export function createSandport(options: SandportOptions = {}): Sandport {
  const registry = options.registry ?? builtInRegistry();
  const config = parseConfig(options.config ?? defaultConfig, registry);
  const env = options.env ?? process.env;
  const secrets = nodeSecretSource(env);
  const built: SandboxProvider[] = [];
  let router: Promise<Router> | undefined;
  /** The ledger this front door opened (one passed in belongs to the caller). */
  let openedLedger: Promise<RouterLedger> | undefined;

  const build = async (name: string): Promise<SandboxProvider> => {
    const entry = config.providers[name];
    if (entry !== undefined) await registry.load([entry.type]);
    const provider = createProviderFromConfig(name, { config, registry, secrets });
    built.push(provider);
    return provider;
  };

  const deferred = async (name: string): Promise<DeferredProvider> => {
    const { type, ...settings } = config.providers[name] as { type: string };
    let capabilities = registry.capabilities(type, settings, { providerId: name });
    if (capabilities === undefined) {
      // A type that cannot describe itself without its adapter is loaded now.
      await registry.load([type]);
      capabilities = registry.capabilities(type, settings, { providerId: name });
    }
    if (capabilities === undefined) throw new Error(`provider type "${type}" declares no capabilities`);
    return { providerId: name, capabilities, load: () => build(name) };
  };

  return {
    config,
    registry,
    provider: (name) => build(name ?? defaultProviderName(config)),
    router() {
      router ??= (async () => {
        const providers = await Promise.all(Object.keys(config.providers).map(deferred));
        if (options.ledger === undefined) {
          const configured = (config.policy?.ledger as { path?: string } | undefined)?.path;
          openedLedger = openSqliteLedger(configured ?? defaultLedgerPath(env)).catch((error: unknown) => {
            // A ledger the config names must work; the default one (a read-only home, say) may
            // not, and then this process keeps its sandboxes in memory, and says so.
            if (configured !== undefined) throw error;
            options.onEvent?.({ type: "ledger-error", operation: "open", message: (error as Error).message });
            return createMemoryLedger();
          });
        }
        const routed = createRouter({
          providers,
          policy: effectivePolicy(config),
          ledger: options.ledger ?? (openedLedger as Promise<RouterLedger>),
          ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
        });
        await routed.start();
        return routed;
      })();
      return router;
    },
    async dispose() {
      const routed = await router?.catch(() => undefined);
      await routed?.dispose();
      await Promise.allSettled(built.map((provider) => provider.dispose?.()));
      (await openedLedger?.catch(() => undefined))?.close();
    },
  };
}

/** The config's policy; `default` is its first preference unless the policy orders providers itself. */
function effectivePolicy(config: SandportConfig): Record<string, unknown> {
  const policy = { ...config.policy };
  if (config.default !== undefined && policy.prefer === undefined) policy.prefer = [config.default];
  return policy;
}
