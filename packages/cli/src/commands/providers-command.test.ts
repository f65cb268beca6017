import type { ProviderLimits } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { describeLimits } from "./providers-command.ts";

describe("describeLimits", () => {
  const base: ProviderLimits = { gpuTypes: [], scope: "process" };

  it('says "disk: not enforced" when the provider declares no disk bound, or 0', () => {
    expect(describeLimits(base)).toBe("disk: not enforced");
    expect(describeLimits({ ...base, maxCpu: 2, maxMemoryMb: 8192, maxDiskMb: 0 })).toBe(
      "cpu: 2, memory: 8192 MiB, disk: not enforced",
    );
  });

  it("names each declared bound with its unit", () => {
    expect(
      describeLimits({
        ...base,
        maxDiskMb: 64,
        gpuTypes: ["A100", "H100"],
        maxGpuCount: 2,
        maxTtlMs: 3_600_000,
        maxCommandTimeoutMs: 300_000,
        maxConcurrency: 4,
      }),
    ).toBe("disk: 64 MiB, gpu: A100/H100 x2, ttl: 1 h, timeout: 5 min, concurrency: 4");
  });
});
