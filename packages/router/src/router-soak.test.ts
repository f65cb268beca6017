/**
 * 1,000 create -> exec -> destroy cycles through the router with faults injected on both providers
 * (retryable failures, refusals, creates slower than the router waits): afterwards no sandbox is
 * alive on either provider and the ledger is empty.
 */
import { InvalidRequestError, ProviderUnavailableError, RateLimitedError } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { createRouter } from "./router.ts";
import { createMemoryLedger } from "./router-ledger.ts";
import { createScriptedProvider, type ScriptedCreate } from "./test-support/scripted-provider.ts";

/** A small deterministic generator, so a failure can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("the router under faults", () => {
  it("leaves zero live sandboxes and no ledger entries after 1,000 cycles", async () => {
    const random = seededRandom(20261130);
    const providers = [createScriptedProvider("alpha"), createScriptedProvider("beta")];
    const ledger = createMemoryLedger();
    const router = createRouter({
      providers,
      ledger,
      // A high threshold: the breaker's own behaviour is tested elsewhere; here every path is exercised.
      policy: { createTimeoutMs: 40, circuitBreaker: { failures: 50, halfOpenAfterMs: 10 } },
    });
    const fault = (providerId: string): ScriptedCreate | undefined => {
      const roll = random();
      if (roll < 0.1)
        return { kind: "fail", error: new ProviderUnavailableError("injected 503", { providerId }) };
      if (roll < 0.15)
        return { kind: "fail", error: new RateLimitedError("injected 429", { providerId, retryAfterMs: 1 }) };
      if (roll < 0.17)
        return { kind: "fail", error: new InvalidRequestError("injected 400", { providerId }) };
      if (roll < 0.19) return { kind: "slow", delayMs: 80 };
      return undefined;
    };
    let completed = 0;
    let refused = 0;
    for (const provider of providers) provider.onCreate = () => fault(provider.providerId);
    const cycle = async () => {
      try {
        const sandbox = await router.create({});
        try {
          const result = await sandbox.exec(["true"]);
          expect(result.exitCode).toBe(0);
        } finally {
          await sandbox.destroy();
        }
        completed += 1;
      } catch (error) {
        const code = (error as { code?: string }).code;
        expect(["invalid_request", "no_eligible_provider"]).toContain(code);
        refused += 1;
      }
    };
    const cycles = 1000;
    let started = 0;
    const worker = async () => {
      while (started < cycles) {
        started += 1;
        await cycle();
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    // Creates the router gave up on finish later; give them time to be destroyed.
    for (
      let attempt = 0;
      attempt < 100 && providers.some((provider) => provider.liveCount() > 0);
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(completed + refused).toBe(cycles);
    expect(completed).toBeGreaterThan(cycles * 0.8);
    expect(providers.map((provider) => provider.liveCount())).toEqual([0, 0]);
    expect(ledger.entries()).toEqual([]);
    expect(router.liveSandboxes()).toEqual([]);
    await router.dispose();
  }, 120_000);
});
