/**
 * `create` across providers: failover on retryable errors only (503, 429 with Retry-After, over two
 * real cloudflare-container adapters against two sandbox bridge fakes), the circuit breaker, a slow
 * create finished after the router moved on, one deadline for the whole call, and one error that
 * keeps each provider's.
 */
import { createCloudflareContainerProvider } from "@sandport/cloudflare";
import { createSandboxBridgeFake } from "@sandport/cloudflare/testing";
import { expectSandportError } from "@sandport/contract";
import { NoEligibleProviderError, ProviderUnavailableError, RateLimitedError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRouter } from "./router.ts";
import type { RouterEvent } from "./router-events.ts";
import { createScriptedProvider } from "./test-support/scripted-provider.ts";

const token = "router-failover-token";
const first = createSandboxBridgeFake({ url: "https://bridge-one.test", token });
const second = createSandboxBridgeFake({ url: "https://bridge-two.test", token });
const server = setupServer(...first.handlers, ...second.handlers);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  first.clearFaults();
  second.clearFaults();
});
afterAll(async () => {
  server.close();
  await Promise.all([first.close(), second.close()]);
});

function bridgeRouter(events: RouterEvent[] = [], policy: unknown = {}) {
  return createRouter({
    providers: [
      createCloudflareContainerProvider({ providerId: "one", url: "https://bridge-one.test", token }),
      createCloudflareContainerProvider({ providerId: "two", url: "https://bridge-two.test", token }),
    ],
    policy,
    onEvent: (event) => events.push(event),
  });
}

describe("failover across two sandbox bridges", () => {
  it("moves on after a 503 and creates on the second provider", async () => {
    const events: RouterEvent[] = [];
    const router = bridgeRouter(events);
    first.failNext(
      { kind: "server-error", status: 503, code: "capacity_exceeded" },
      { route: "create", times: 3 },
    );
    await using sandbox = await router.create({});
    expect(sandbox.id.startsWith("router:two:")).toBe(true);
    expect((await sandbox.exec(["echo", "routed"])).stdout).toBe("routed\n");
    const calls = events.filter((event) => event.type === "call" && event.operation === "create");
    expect(
      calls.map((event) => [
        event.type === "call" && event.providerId,
        event.type === "call" && event.outcome,
      ]),
    ).toEqual([
      ["one", "error"],
      ["two", "ok"],
    ]);
    await router.dispose();
  });

  it("moves on after a 429 and keeps that provider out until its Retry-After passes", async () => {
    const router = bridgeRouter();
    first.failNext({ kind: "rate-limited", retryAfter: "30" }, { route: "create" });
    const sandbox = await router.create({});
    expect(sandbox.id.startsWith("router:two:")).toBe(true);
    const decision = router.explain({});
    expect(decision.chosen).toBe("two");
    expect(decision.rejected).toEqual([
      { providerId: "one", kind: "health", reasons: [expect.stringContaining("(Retry-After)")] },
    ]);
    expect(router.health().one?.retryAfterUntil).toBeGreaterThan(Date.now() + 25_000);
    await sandbox.destroy();
    await router.dispose();
  });

  it("does not fail over after a 401 or a 400: the error is the caller's to fix", async () => {
    const router = bridgeRouter();
    first.failNext({ kind: "unauthorized" }, { route: "create" });
    await expectSandportError(() => router.create({}), "authentication");
    expect(second.liveSandboxIds()).toEqual([]);
    await expectSandportError(() => router.create({ env: { "BAD NAME": "x" } }), "invalid_request");
    expect(first.liveSandboxIds().length + second.liveSandboxIds().length).toBe(0);
    await router.dispose();
  });

  it("answers one error with each provider's when every candidate fails", async () => {
    const router = bridgeRouter();
    first.failNext({ kind: "server-error", status: 503 }, { route: "create" });
    second.failNext({ kind: "rate-limited", retryAfter: "7" }, { route: "create" });
    const error = await expectSandportError(() => router.create({}), "no_eligible_provider");
    expect(NoEligibleProviderError.isInstance(error)).toBe(true);
    const failures = (error as NoEligibleProviderError).failures;
    expect(failures.map((failure) => [failure.providerId, failure.error.code])).toEqual([
      ["one", "provider_unavailable"],
      ["two", "rate_limited"],
    ]);
    expect(error.isRetryable).toBe(true);
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).not.toContain(token);
    await router.dispose();
  });
});

describe("the circuit breaker", () => {
  it("takes a provider out after consecutive failures and brings it back after a good probe", async () => {
    const flaky = createScriptedProvider("flaky");
    const steady = createScriptedProvider("steady");
    const router = createRouter({
      providers: [flaky, steady],
      policy: { circuitBreaker: { failures: 2, halfOpenAfterMs: 200 } },
    });
    const down = () => ({
      kind: "fail" as const,
      error: new ProviderUnavailableError("down", { providerId: "flaky" }),
    });
    flaky.script(down(), down());
    for (let index = 0; index < 2; index += 1) await (await router.create({})).destroy();
    expect(router.health().flaky?.circuit).toBe("open");
    // While open, creates skip it without trying.
    const attempts = flaky.attempts;
    await (await router.create({})).destroy();
    expect(flaky.attempts).toBe(attempts);
    expect(router.explain({}).rejected[0]?.reasons[0]).toContain("circuit open");
    // After the rest, one probe goes through; it succeeds and the circuit closes.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const probed = await router.create({});
    expect(probed.id.startsWith("router:flaky:")).toBe(true);
    await probed.destroy();
    expect(router.health().flaky?.circuit).toBe("closed");
    expect(flaky.liveCount() + steady.liveCount()).toBe(0);
    await router.dispose();
  });

  it("never counts the caller's mistakes against a provider", async () => {
    const provider = createScriptedProvider("only");
    const router = createRouter({
      providers: [provider],
      policy: { circuitBreaker: { failures: 1 } },
    });
    const { InvalidRequestError } = await import("@sandport/core");
    provider.script({ kind: "fail", error: new InvalidRequestError("bad", { providerId: "only" }) });
    await expectSandportError(() => router.create({}), "invalid_request");
    expect(router.health().only?.circuit).toBe("closed");
    await router.dispose();
  });
});

describe("a slow create", () => {
  it("is given up at the create timeout, the next provider serves, and the late sandbox is destroyed", async () => {
    const slow = createScriptedProvider("slow");
    const fast = createScriptedProvider("fast");
    const events: RouterEvent[] = [];
    const router = createRouter({
      providers: [slow, fast],
      policy: { createTimeoutMs: 100 },
      onEvent: (event) => events.push(event),
    });
    slow.script({ kind: "slow", delayMs: 400 });
    const sandbox = await router.create({});
    expect(sandbox.id.startsWith("router:fast:")).toBe(true);
    // The slow provider finishes later; the router destroys what it made.
    for (
      let attempt = 0;
      attempt < 100 &&
      !events.some((event) => event.type === "call" && event.operation === "abandoned-create");
      attempt += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(
      events.find((event) => event.type === "call" && event.operation === "abandoned-create"),
    ).toMatchObject({
      providerId: "slow",
      outcome: "ok",
    });
    expect(slow.liveCount()).toBe(0);
    await sandbox.destroy();
    expect(fast.liveCount()).toBe(0);
    expect(router.liveSandboxes()).toEqual([]);
    await router.dispose();
  });

  it("respects the caller's signal over the whole call", async () => {
    const slow = createScriptedProvider("slow");
    const router = createRouter({ providers: [slow] });
    slow.script({ kind: "slow", delayMs: 300 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expectSandportError(() => router.create({}, { signal: controller.signal }), "aborted");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(slow.liveCount()).toBe(0);
    await router.dispose();
  });
});

describe("routing refusals", () => {
  it("refuses a request larger than every provider before anything is created", async () => {
    const provider = createScriptedProvider("small", {
      limits: { maxCpu: 2, gpuTypes: [], scope: "sandbox" },
    });
    const router = createRouter({ providers: [provider] });
    const error = await expectSandportError(
      () => router.create({ resources: { cpu: 64 } }),
      "unsupported_capability",
    );
    expect(error.message).toContain("cpu 64 (max 2)");
    expect(provider.attempts).toBe(0);
    await router.dispose();
  });

  it("answers no_eligible_provider with each reason when the policy leaves nothing", async () => {
    const a = createScriptedProvider("a");
    const b = createScriptedProvider("b");
    const router = createRouter({
      providers: [a, b],
      policy: {
        rules: [
          { name: "no-a", match: { labels: { tenant: "x" } }, deny: ["a"] },
          { name: "no-b", match: { labels: { tenant: "x" } }, deny: ["b"] },
        ],
      },
    });
    const error = await expectSandportError(
      () => router.create({ labels: { tenant: "x" } }),
      "no_eligible_provider",
    );
    expect(
      (error as NoEligibleProviderError).failures.map((failure) => [failure.providerId, failure.error.code]),
    ).toEqual([
      ["a", "policy_denied"],
      ["b", "policy_denied"],
    ]);
    expect(error.message).toContain("a: policy rule 'no-a' denies it");
    expect(error.isRetryable).toBe(false);
    expect(a.attempts + b.attempts).toBe(0);
    // Other tenants are unaffected.
    await (await router.create({ labels: { tenant: "y" } })).destroy();
    await router.dispose();
  });

  it("treats a rate-limited provider with no alternative as a retryable failure", async () => {
    const only = createScriptedProvider("only");
    const router = createRouter({ providers: [only] });
    only.script({
      kind: "fail",
      error: new RateLimitedError("slow down", { providerId: "only", retryAfterMs: 2000 }),
    });
    const error = await expectSandportError(() => router.create({}), "no_eligible_provider");
    expect(error.retryAfterMs).toBe(2000);
    await router.dispose();
  });
});
