/**
 * The decision, over capabilities shaped like the real backends': each hard filter (capabilities,
 * policy, cost, health), the ranking, and the explanation of every rejected provider.
 */
import type { CreateSandboxRequest } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { ProviderHealth } from "./provider-health.ts";
import { decideRoute, type RouteProvider } from "./route-decision.ts";
import { parseRoutingPolicy, type RoutingPolicy } from "./routing-policy.ts";
import {
  daytonaCapabilities,
  edgeCapabilities,
  localCapabilities,
  modalCapabilities,
} from "./test-support/synthetic-capabilities.ts";
import { workloadOf } from "./workload.ts";

const providers: RouteProvider[] = [
  { providerId: "edge", capabilities: edgeCapabilities },
  { providerId: "local", capabilities: localCapabilities },
  { providerId: "daytona-eu", capabilities: daytonaCapabilities },
  { providerId: "gpu", capabilities: modalCapabilities },
];
const capabilityMap = new Map(providers.map((provider) => [provider.providerId, provider.capabilities]));

function decide(
  request: CreateSandboxRequest,
  policyInput: unknown = {},
  health = new Map<string, ProviderHealth>(),
) {
  const policy: RoutingPolicy = parseRoutingPolicy(policyInput, capabilityMap);
  return decideRoute(workloadOf(request), providers, policy, health, Date.now());
}

function reasonsOf(decision: ReturnType<typeof decide>, providerId: string): string {
  return decision.rejected.find((rejection) => rejection.providerId === providerId)?.reasons.join("; ") ?? "";
}

describe("the decision's hard filters", () => {
  it("sends a GPU request to the only provider with GPUs, saying why the others cannot", () => {
    const decision = decide({ runtime: "python", resources: { gpu: { type: "A100", count: 1 } } });
    expect(decision.chosen).toBe("gpu");
    expect(decision.candidates.map((candidate) => candidate.providerId)).toEqual(["gpu"]);
    expect(reasonsOf(decision, "local")).toContain("GPUs");
    expect(reasonsOf(decision, "daytona-eu")).toContain("GPUs");
    expect(decision.rejected.find((rejection) => rejection.providerId === "edge")?.kind).toBe("capability");
  });

  it("keeps regulated workloads on self-hosted providers by a require rule", () => {
    const policy = {
      rules: [
        {
          name: "regulated",
          match: { labels: { "data-class": "regulated" } },
          require: { residency: "self-hosted" },
        },
      ],
    };
    const decision = decide({ runtime: "python", labels: { "data-class": "regulated" } }, policy);
    expect(decision.chosen).toBe("local");
    expect(decision.matchedRules).toEqual(["regulated"]);
    expect(reasonsOf(decision, "daytona-eu")).toContain("policy rule 'regulated' requires self-hosted");
    expect(reasonsOf(decision, "gpu")).toContain("policy rule 'regulated' requires self-hosted");
    // The same workload without the label may go to the cloud.
    const open = decide({ runtime: "python" }, policy);
    expect(open.matchedRules).toEqual([]);
    expect(open.candidates.map((candidate) => candidate.providerId)).toContain("daytona-eu");
  });

  it("routes by egress: a domain allowlist only where domains can be listed", () => {
    const decision = decide({ runtime: "python", network: { egress: { allow: ["pypi.org"] } } });
    expect(decision.candidates.map((candidate) => candidate.providerId)).toEqual(["daytona-eu"]);
    expect(reasonsOf(decision, "local")).toContain("network allowlists");
    expect(reasonsOf(decision, "gpu")).toContain('domain allowlist entry "pypi.org"');
  });

  it("routes by region", () => {
    const decision = decide({ runtime: "python", region: "eu" });
    expect(decision.candidates.map((candidate) => candidate.providerId)).toEqual(["daytona-eu"]);
    expect(reasonsOf(decision, "local")).toContain('region "eu"');
  });

  it("sends workloads over a size threshold elsewhere by a rule on resources", () => {
    const policy = { rules: [{ name: "big", match: { cpu: { gt: 1 } }, deny: ["local"] }] };
    expect(decide({ runtime: "shell", resources: { cpu: 1 } }, policy).chosen).toBe("local");
    const big = decide({ runtime: "shell", resources: { cpu: 2 } }, policy);
    expect(big.chosen).not.toBe("local");
    expect(reasonsOf(big, "local")).toBe("policy rule 'big' denies it");
    // Larger than a provider's limit is a capability rejection, not a policy one.
    const huge = decide({ runtime: "shell", resources: { cpu: 16 } });
    expect(huge.candidates.map((candidate) => candidate.providerId)).toEqual(["gpu"]);
    expect(reasonsOf(huge, "daytona-eu")).toContain("cpu 16 (max 4)");
  });

  it("rejects every provider under a deny-all rule, each with its reason", () => {
    const policy = {
      rules: [{ name: "frozen", match: { labels: { tenant: "frozen" } }, allow: ["edge"], deny: ["local"] }],
    };
    const decision = decide({ runtime: "shell", labels: { tenant: "frozen" } }, policy);
    expect(decision.chosen).toBeUndefined();
    expect(decision.rejected.map((rejection) => [rejection.providerId, rejection.kind])).toEqual([
      ["edge", "capability"],
      ["local", "policy"],
      ["daytona-eu", "policy"],
      ["gpu", "policy"],
    ]);
    expect(reasonsOf(decision, "local")).toBe(
      "policy rule 'frozen' allows only edge; policy rule 'frozen' denies it",
    );
  });

  it("leaves out a provider whose circuit is open, and one that asked to wait", async () => {
    const health = new Map([["local", new ProviderHealth(30, { failures: 1, halfOpenAfterMs: 60_000 })]]);
    const failing = health.get("local") as ProviderHealth;
    const { ProviderUnavailableError } = await import("@sandport/core");
    await expect(failing.run(() => Promise.reject(new ProviderUnavailableError("down")))).rejects.toThrow();
    const decision = decide({ runtime: "shell" }, {}, health);
    expect(decision.chosen).not.toBe("local");
    expect(reasonsOf(decision, "local")).toContain("circuit open");
  });

  it("applies the cost ceiling per sandbox-hour", () => {
    const decision = decide(
      { runtime: "python", resources: { gpu: { type: "H100", count: 8 } } },
      { maxCostPerHour: 5 },
    );
    expect(decision.chosen).toBeUndefined();
    expect(reasonsOf(decision, "gpu")).toMatch(/estimated \$\d+\.\d+ per hour, over the ceiling of \$5/);
  });
});

describe("the decision's ranking", () => {
  it("follows the preference order, then config order, among equals", () => {
    expect(decide({ runtime: "javascript" }).candidates.map((candidate) => candidate.providerId)).toEqual([
      "edge",
      "local",
      "daytona-eu",
    ]);
    expect(decide({ runtime: "javascript" }, { prefer: ["local"] }).chosen).toBe("local");
  });

  it("lets a matching rule's prefer override the global order", () => {
    const policy = {
      prefer: ["local"],
      rules: [{ name: "tools", match: { labels: { tool: "notebook" } }, prefer: ["daytona-eu"] }],
    };
    expect(decide({ runtime: "python", labels: { tool: "notebook" } }, policy).chosen).toBe("daytona-eu");
    expect(decide({ runtime: "python" }, policy).chosen).toBe("local");
  });

  it("weighs places in the preference order against seconds of latency and cents of cost", () => {
    const request: CreateSandboxRequest = { runtime: "python", resources: { cpu: 1 } };
    // daytona: place 0 + 0.9 s + ~0.11 cents = ~1.01; local: place 1 + 0.03 s + 0 = 1.03.
    const ranked = decide(request, { prefer: ["daytona-eu", "local"] });
    expect(ranked.chosen).toBe("daytona-eu");
    const daytona = ranked.candidates.find((candidate) => candidate.providerId === "daytona-eu");
    expect(daytona?.expectedLatencyMs).toBe(900);
    expect(daytona?.estimatedCostUsd).toBeCloseTo((0.000014 + 0.0000045) * 60, 8);
    // Latency weighed twice: the cold start now outweighs one place of preference.
    expect(decide(request, { prefer: ["daytona-eu", "local"], weights: { latency: 2 } }).chosen).toBe(
      "local",
    );
    // Cost weighed heavily does the same.
    expect(decide(request, { prefer: ["daytona-eu", "local"], weights: { cost: 100 } }).chosen).toBe("local");
  });

  it("is deterministic for the same inputs", () => {
    const request: CreateSandboxRequest = {
      runtime: "python",
      labels: { tenant: "a" },
      resources: { cpu: 1 },
    };
    const first = decide(request, { prefer: ["gpu"] });
    for (let index = 0; index < 20; index += 1) expect(decide(request, { prefer: ["gpu"] })).toEqual(first);
  });

  it("takes the features a workload needs from providerOptions.router, and forwards none of it", () => {
    const decision = decide({
      runtime: "javascript",
      providerOptions: { router: { needs: ["background"], expectedDurationMs: 5000 } },
    });
    expect(decision.chosen).toBe("local");
    expect(reasonsOf(decision, "edge")).toContain("background");
    expect(
      workloadOf({ runtime: "shell", providerOptions: { router: {}, local: { a: 1 } } }).request,
    ).toEqual({
      runtime: "shell",
      providerOptions: { local: { a: 1 } },
    });
  });
});
