/** What a provider package passes to `describeProviderContract`. */
import type { CreateSandboxRequest, SandboxProvider } from "@sandport/core";

/** Options of {@link describeProviderContract}. */
export interface ProviderContractOptions {
  /** Shown in the suite title, e.g. `"local"` or `"daytona (fake API)"`. */
  name: string;
  /**
   * Builds the provider under test. Called once per suite, in `beforeAll`; every case reuses the
   * provider (each case creates and destroys its own sandboxes).
   */
  create: () => SandboxProvider | Promise<SandboxProvider>;
  /**
   * Base request merged into every `create` the suite makes (e.g. `{ runtime: "shell" }` or an
   * image). `env`, `labels`, `resources` and `providerOptions` are merged key by key.
   */
  request?: CreateSandboxRequest;
  /**
   * Counts the live sandboxes the suite may have created. Without it the suite counts
   * `provider.list({ labels })` over the label it adds to every request; with neither, the
   * "nothing was created" checks do not run and the live-count case is skipped with the reason.
   */
  countLiveSandboxes?: () => Promise<number>;
  /** Multiplies every per-case timeout and settle wait, for slow remote backends. Default 1. */
  timeoutScale?: number;
  /**
   * Cases that cannot run against this setup, by case id, each with the reason the report shows.
   * Only for a limit of the test double the provider runs against (a local stand-in that lacks
   * a platform limit, say), never to hide what the provider itself gets wrong.
   */
  skipCases?: Readonly<Record<string, string>>;
}
