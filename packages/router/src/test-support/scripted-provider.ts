/**
 * A real provider (the contract suite's process provider: real child processes and files) under
 * another name and declared capabilities, whose creates can be told to fail or to take time, and
 * which counts its live sandboxes: the router's tests steer failures without a fake of a fake.
 */
import { createProcessProvider, processProviderCapabilities } from "@sandport/contract/testing";
import type {
  CallOptions,
  CreateSandboxRequest,
  ProviderCapabilities,
  Sandbox,
  SandboxProvider,
  SandportError,
} from "@sandport/core";
import { specificationVersion } from "@sandport/core";

/** What the next create does instead of succeeding at once. */
export type ScriptedCreate =
  | { kind: "fail"; error: SandportError }
  /** Creates the sandbox after `delayMs`, ignoring the abort signal (a slow vendor). */
  | { kind: "slow"; delayMs: number };

export interface ScriptedProvider extends SandboxProvider {
  /** Queues behaviours for the next creates, in order. */
  script(...steps: ScriptedCreate[]): void;
  /** Decides each create's behaviour when nothing is queued (undefined: succeed). */
  onCreate: (() => ScriptedCreate | undefined) | undefined;
  /** Creates attempted so far. */
  readonly attempts: number;
  /** Sandboxes created and not destroyed. */
  liveCount(): number;
}

/** A scripted provider named `providerId`, declaring `capabilities` (default: the process provider's). */
export function createScriptedProvider(
  providerId: string,
  capabilities: Partial<ProviderCapabilities> = {},
): ScriptedProvider {
  const inner = createProcessProvider({ providerId });
  const steps: ScriptedCreate[] = [];
  const live = new Set<string>();
  let attempts = 0;
  const track = (sandbox: Sandbox): Sandbox => {
    live.add(sandbox.id);
    const destroy = sandbox.destroy.bind(sandbox);
    return Object.assign(sandbox, {
      destroy: async (options?: CallOptions) => {
        await destroy(options);
        live.delete(sandbox.id);
      },
    });
  };
  return {
    specificationVersion,
    providerId,
    capabilities: { ...processProviderCapabilities, ...capabilities },
    script: (...more) => steps.push(...more),
    onCreate: undefined,
    get attempts() {
      return attempts;
    },
    liveCount: () => live.size,
    async create(request: CreateSandboxRequest, options?: CallOptions) {
      attempts += 1;
      const step = steps.shift() ?? this.onCreate?.();
      if (step?.kind === "fail") throw step.error;
      if (step?.kind === "slow") {
        await new Promise((resolve) => setTimeout(resolve, step.delayMs));
        return track(await inner.create(request));
      }
      return track(await inner.create(request, options));
    },
    connect: async (sandboxId, options) => {
      const sandbox = await inner.connect(sandboxId, options);
      return live.has(sandbox.id) ? track(sandbox) : sandbox;
    },
    dispose: async () => inner.dispose?.(),
  };
}
