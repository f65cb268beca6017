import { SandportError } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { describeProviderContract } from "./index.ts";
import { createProcessProvider } from "./testing/index.ts";

describeProviderContract({
  name: "process (testing provider)",
  create: () => createProcessProvider({ providerId: "process-contract" }),
});

// The same suite with a caller-supplied live count and a base request, as a remote backend would use.
const counted = createProcessProvider({ providerId: "process-counted" });
describeProviderContract({
  name: "process with countLiveSandboxes and a base request",
  create: () => counted,
  request: { runtime: "shell", env: { SANDPORT_BASE: "1" } },
  countLiveSandboxes: async () => {
    let count = 0;
    for await (const _sandbox of counted.list?.() ?? []) count++;
    return count;
  },
  timeoutScale: 1.5,
});

describe("process provider extras", () => {
  const provider = createProcessProvider({ providerId: "process-extras" });

  it("rejects resource sizes it cannot enforce with unsupported_capability", async () => {
    const error = await provider.create({ resources: { cpu: 1 } }).catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("unsupported_capability");
  });

  it("destroys a sandbox when its ttlMs ends", async () => {
    const sandbox = await provider.create({ ttlMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const error = await provider.connect(sandbox.id).catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("not_found");
  });

  it("rejects a sandbox id of another provider with invalid_request", async () => {
    const error = await provider.connect("someone-else:abc").catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("invalid_request");
  });
});
