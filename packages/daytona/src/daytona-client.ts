/**
 * The `Daytona` SDK clients of one provider instance: built lazily at the first request (so
 * constructing a provider reads no credential and importing the package loads no SDK), one per
 * target, reused for every call.
 */
import type { Daytona } from "@daytonaio/sdk";
import { loadDaytonaSdk } from "./daytona-sdk.ts";
import { type DaytonaProviderSettings, defaultTarget, resolveDaytonaConnection } from "./daytona-settings.ts";

/** Hands out the SDK client for a target. */
export class DaytonaClients {
  readonly #settings: DaytonaProviderSettings;
  readonly #providerId: string;
  readonly #clients = new Map<string, Promise<Daytona>>();

  constructor(settings: DaytonaProviderSettings, providerId: string) {
    this.#settings = settings;
    this.#providerId = providerId;
  }

  /**
   * The client for `target` (the default target when undefined). The SDK sends the client's own
   * target with every create, so each target gets its own client.
   *
   * Built with `useDeprecatedPolling: true`: otherwise the SDK's constructor opens a socket.io
   * connection for state events, a long-lived socket per client that nothing here needs (sandbox
   * state is polled only while a create waits). `apiKey`, `apiUrl` and `target` are always passed,
   * so the SDK falls back to its own environment reading (which also parses `.env` and `.env.local`
   * in the working directory) only for a target when none is configured.
   */
  async get(target: string | undefined): Promise<Daytona> {
    const injected = this.#settings.client;
    // Loaded even with an injected client: its errors are classified by the SDK's classes.
    if (injected !== undefined) return loadDaytonaSdk().then(() => injected);
    const resolvedTarget = target ?? defaultTarget(this.#settings);
    const key = resolvedTarget ?? "";
    const existing = this.#clients.get(key);
    if (existing !== undefined) return existing;
    // Checked before the SDK loads: a missing key fails at once, naming the setting.
    const connection = resolveDaytonaConnection(this.#settings, this.#providerId);
    const client = loadDaytonaSdk().then(
      ({ Daytona }) =>
        new Daytona({
          apiKey: connection.apiKey,
          apiUrl: connection.apiUrl,
          ...(resolvedTarget === undefined ? {} : { target: resolvedTarget }),
          useDeprecatedPolling: true,
        }),
    );
    this.#clients.set(key, client);
    client.catch(() => this.#clients.delete(key));
    return client;
  }

  /** Releases the clients this instance built (an injected client belongs to its owner). */
  async dispose(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(
      clients.map((client) => client.then((built) => built[Symbol.asyncDispose]()).catch(() => {})),
    );
  }
}
