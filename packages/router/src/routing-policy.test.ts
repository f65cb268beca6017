/** The policy is checked against the providers at load: every problem is config_invalid with its path. */
import { expectSandportError } from "@sandport/contract";
import { describe, expect, it } from "vitest";
import { parseRoutingPolicy } from "./routing-policy.ts";
import {
  daytonaCapabilities,
  edgeCapabilities,
  localCapabilities,
} from "./test-support/synthetic-capabilities.ts";

const capabilities = new Map([
  ["edge", edgeCapabilities],
  ["local", localCapabilities],
  ["daytona-eu", daytonaCapabilities],
]);

async function refused(policy: unknown): Promise<string> {
  const error = await expectSandportError(
    async () => parseRoutingPolicy(policy, capabilities),
    "config_invalid",
  );
  return error.message;
}

describe("the routing policy at load", () => {
  it("accepts an empty policy and a full one", () => {
    expect(parseRoutingPolicy(undefined, capabilities)).toEqual({});
    const policy = {
      prefer: ["edge", "local"],
      rules: [
        { name: "gpu", match: { gpu: true }, prefer: ["daytona-eu"] },
        {
          name: "regulated",
          match: { labels: { class: "regulated" }, cpu: { lte: 2 } },
          require: { residency: "self-hosted" },
        },
      ],
      weights: { preference: 2, latency: 1, cost: 0.5 },
      maxCostPerHour: 3,
      ledger: { path: ":memory:", reapAtStart: true },
    };
    expect(parseRoutingPolicy(policy, capabilities)).toEqual(policy);
  });

  it("names an unknown provider with its path", async () => {
    expect(await refused({ prefer: ["edge", "modal"] })).toContain(
      'policy.prefer[1]: unknown provider "modal"',
    );
    expect(await refused({ rules: [{ name: "a", deny: ["nope"] }] })).toContain("policy.rules[0].deny[0]");
  });

  it("refuses a rule that can never match", async () => {
    expect(
      await refused({ rules: [{ name: "never", match: { cpu: { gt: 4, lt: 2 } }, deny: ["edge"] }] }),
    ).toContain("policy.rules[0].match.cpu: no value satisfies these bounds");
    expect(
      await refused({ rules: [{ name: "edge", match: { memoryMb: { gt: 5, lte: 5 } }, deny: ["edge"] }] }),
    ).toContain("can never match");
  });

  it("refuses a contradiction: a requirement no allowed provider meets", async () => {
    const message = await refused({
      rules: [{ name: "contradiction", allow: ["daytona-eu"], require: { residency: "self-hosted" } }],
    });
    expect(message).toContain("policy.rules[0].require: no provider the rule allows (daytona-eu)");
  });

  it("refuses unknown fields, rules without actions and duplicate names, naming the path", async () => {
    expect(await refused({ rules: [{ name: "x", match: { label: {} }, deny: ["edge"] }] })).toContain(
      "policy.rules.0.match",
    );
    expect(await refused({ rules: [{ name: "x" }] })).toContain("policy.rules[0]: the rule has no action");
    expect(
      await refused({
        rules: [
          { name: "x", deny: ["edge"] },
          { name: "x", deny: ["local"] },
        ],
      }),
    ).toContain('policy.rules[1].name: "x" is used by an earlier rule');
    expect(await refused({ rules: [{ name: "x", allow: ["edge"], deny: ["edge"] }] })).toContain(
      "leave no provider",
    );
  });
});
