/** The state every contract case runs against: the provider, the base request, the live count. */
import type { CreateSandboxRequest, ProviderCapabilities, SandboxProvider } from "@sandport/core";
import { randomToken } from "./bytes.ts";
import { mergeCreateRequest } from "./merge-create-request.ts";
import type { ProviderContractOptions } from "./provider-contract-options.ts";

/** What a contract case receives. */
export interface ContractContext {
  /** The provider under test. */
  readonly provider: SandboxProvider;
  /** Makes another instance of the provider, for cases that must end one (dispose). */
  readonly createProvider: () => Promise<SandboxProvider>;
  /** `provider.capabilities`; cases decide whether they apply from it, never from names. */
  readonly capabilities: ProviderCapabilities;
  /** The caller's base request plus the suite's run label; every case builds on it. */
  readonly request: CreateSandboxRequest;
  /** Counts live sandboxes of this run; `undefined` when neither the option nor `list()` exists. */
  readonly countLiveSandboxes: (() => Promise<number>) | undefined;
  /** Where the live count comes from, for skip reasons and failure messages. */
  readonly liveCountSource: "option" | "list" | undefined;
  /** Multiplier for timeouts and settle waits. */
  readonly timeoutScale: number;
}

/** Label key the suite puts on every sandbox it creates, so counting ignores unrelated sandboxes. */
export const contractRunLabel = "sandport-contract-run";

/** Builds the provider and the context the cases share. */
export async function createContractContext(options: ProviderContractOptions): Promise<ContractContext> {
  const timeoutScale = options.timeoutScale ?? 1;
  if (!(timeoutScale > 0)) throw new RangeError("timeoutScale must be a positive number");
  const provider = await options.create();
  const createProvider = async () => options.create();
  // Random per run, so two runs (or two processes) against one account never count each other.
  const labels = { [contractRunLabel]: randomToken() };
  const request = mergeCreateRequest(options.request ?? {}, { labels });
  if (options.countLiveSandboxes !== undefined) {
    return {
      provider,
      createProvider,
      capabilities: provider.capabilities,
      request,
      countLiveSandboxes: options.countLiveSandboxes,
      liveCountSource: "option",
      timeoutScale,
    };
  }
  const list = provider.list;
  const countLiveSandboxes =
    list === undefined
      ? undefined
      : async () => {
          let count = 0;
          for await (const _sandbox of list.call(provider, { labels })) count++;
          return count;
        };
  return {
    provider,
    createProvider,
    capabilities: provider.capabilities,
    request,
    countLiveSandboxes,
    liveCountSource: countLiveSandboxes === undefined ? undefined : "list",
    timeoutScale,
  };
}
