import { describe, expect, it } from "vitest";
import type { ProviderCapabilities } from "./capabilities.ts";
import { allowlistEntryKind, assertRequestSupported, unsupportedReasons } from "./capability-check.ts";
import { UnsupportedCapabilityError } from "./errors.ts";
import type { CreateSandboxRequest } from "./sandbox-request.ts";

function capabilities(overrides: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return {
    runtimes: ["shell", "python"],
    isolation: "container",
    residency: "vendor-cloud",
    regions: ["eu", "us"],
    limits: {
      maxCpu: 4,
      maxMemoryMb: 8192,
      maxDiskMb: 10_240,
      gpuTypes: ["A100", "H100"],
      maxGpuCount: 2,
      maxTtlMs: 3_600_000,
      scope: "sandbox",
    },
    network: { modes: ["none", "open", "allowlist"], allowlist: ["domain", "cidr"] },
    features: {
      filesystem: true,
      streaming: true,
      background: true,
      separateStderr: true,
      stdin: true,
      processStdin: true,
      images: true,
      ports: false,
      combinedOutput: false,
      snapshots: false,
    },
    priors: {
      coldStartMs: 500,
      pricePerVcpuSecond: 0,
      pricePerGibSecond: 0,
      pricePerGpuSecond: 0,
      pricePerRequest: 0,
    },
    ...overrides,
  };
}

const full = capabilities();

describe("unsupportedReasons", () => {
  it("returns no reason for an empty request", () => {
    expect(unsupportedReasons(full, {})).toEqual([]);
  });

  it("returns no reason for a request exactly at every limit", () => {
    const request: CreateSandboxRequest = {
      runtime: "python",
      image: "python:3.13",
      resources: { cpu: 4, memoryMb: 8192, diskMb: 10_240, gpu: { type: "H100", count: 2 } },
      ttlMs: 3_600_000,
      network: { egress: { allow: ["example.com", "10.0.0.0/8"] } },
      region: "us",
    };
    expect(unsupportedReasons(full, request)).toEqual([]);
  });

  it("rejects a runtime the provider does not offer and lists the supported ones", () => {
    const [reason, ...rest] = unsupportedReasons(full, { runtime: "typescript" });
    expect(rest).toEqual([]);
    expect(reason).toContain('runtime "typescript"');
    expect(reason).toContain("shell, python");
  });

  it("rejects a custom image when images are not supported", () => {
    const noImages = capabilities({ features: { ...full.features, images: false } });
    expect(unsupportedReasons(noImages, { image: "alpine" })).toEqual(["custom images"]);
  });

  it("rejects cpu above the limit, naming the request and the limit", () => {
    expect(unsupportedReasons(full, { resources: { cpu: 4.5 } })).toEqual(["cpu 4.5 (max 4)"]);
  });

  it("rejects memory above the limit", () => {
    expect(unsupportedReasons(full, { resources: { memoryMb: 8193 } })).toEqual(["memoryMb 8193 (max 8192)"]);
  });

  it("rejects disk above the limit", () => {
    expect(unsupportedReasons(full, { resources: { diskMb: 20_000 } })).toEqual(["diskMb 20000 (max 10240)"]);
  });

  it("accepts any amount of a resource whose limit is not declared", () => {
    const unbounded = capabilities({ limits: { gpuTypes: [], scope: "process" } });
    expect(
      unsupportedReasons(unbounded, { resources: { cpu: 512, memoryMb: 1_000_000, diskMb: 1_000_000 } }),
    ).toEqual([]);
  });

  it("rejects a GPU type the provider does not have and lists the available ones", () => {
    const [reason] = unsupportedReasons(full, { resources: { gpu: { type: "T4", count: 1 } } });
    expect(reason).toContain('gpu type "T4"');
    expect(reason).toContain("A100, H100");
  });

  it("rejects any GPU on a provider without GPUs", () => {
    const noGpus = capabilities({ limits: { ...full.limits, gpuTypes: [] } });
    expect(unsupportedReasons(noGpus, { resources: { gpu: { type: "A100", count: 1 } } })).toEqual(["GPUs"]);
  });

  it("rejects a GPU count above the limit", () => {
    expect(unsupportedReasons(full, { resources: { gpu: { type: "A100", count: 3 } } })).toEqual([
      "gpu count 3 (max 2)",
    ]);
  });

  it("rejects a ttl above the limit", () => {
    expect(unsupportedReasons(full, { ttlMs: 3_600_001 })).toEqual(["ttlMs 3600001 (max 3600000)"]);
  });

  it("rejects egress none when the provider cannot cut the network", () => {
    const openOnly = capabilities({ network: { modes: ["open"], allowlist: [] } });
    expect(unsupportedReasons(openOnly, { network: { egress: "none" } })).toEqual(['network egress "none"']);
    expect(unsupportedReasons(openOnly, { network: { egress: "open" } })).toEqual([]);
  });

  it("rejects egress open when the provider has no network at all", () => {
    const offline = capabilities({ network: { modes: ["none"], allowlist: [] } });
    expect(unsupportedReasons(offline, { network: { egress: "open" } })).toEqual(['network egress "open"']);
    expect(unsupportedReasons(offline, { network: { egress: "none" } })).toEqual([]);
  });

  it("rejects an allowlist when the provider cannot enforce one", () => {
    const noAllowlist = capabilities({ network: { modes: ["none", "open"], allowlist: [] } });
    expect(unsupportedReasons(noAllowlist, { network: { egress: { allow: ["example.com"] } } })).toEqual([
      "network allowlists",
    ]);
  });

  it("rejects CIDR entries on a provider that only filters domains, and names each entry", () => {
    const domainsOnly = capabilities({ network: { modes: ["allowlist"], allowlist: ["domain"] } });
    expect(
      unsupportedReasons(domainsOnly, {
        network: { egress: { allow: ["pypi.org", "10.0.0.0/8", "2001:db8::/32"] } },
      }),
    ).toEqual(['cidr allowlist entry "10.0.0.0/8"', 'cidr allowlist entry "2001:db8::/32"']);
  });

  it("rejects domain entries on a provider that only filters CIDR ranges", () => {
    const cidrOnly = capabilities({ network: { modes: ["allowlist"], allowlist: ["cidr"] } });
    expect(
      unsupportedReasons(cidrOnly, { network: { egress: { allow: ["192.168.0.0/16", "pypi.org"] } } }),
    ).toEqual(['domain allowlist entry "pypi.org"']);
  });

  it("rejects a region the provider does not declare and lists the available ones", () => {
    const [reason] = unsupportedReasons(full, { region: "ap" });
    expect(reason).toContain('region "ap"');
    expect(reason).toContain("eu, us");
  });

  it("rejects any region on a provider without regions, saying so", () => {
    const noRegions = capabilities({ regions: [] });
    const [reason] = unsupportedReasons(noRegions, { region: "eu" });
    expect(reason).toContain('region "eu"');
    expect(reason).toContain("no regions");
  });

  it("lists every reason at once, not only the first", () => {
    const tight = capabilities({
      runtimes: ["shell"],
      regions: [],
      limits: { maxCpu: 1, maxMemoryMb: 256, gpuTypes: [], scope: "process", maxTtlMs: 1000 },
      network: { modes: ["open"], allowlist: [] },
      features: { ...full.features, images: false },
    });
    const reasons = unsupportedReasons(tight, {
      runtime: "python",
      image: "python:3",
      resources: { cpu: 2, memoryMb: 512, gpu: { type: "A100", count: 1 } },
      ttlMs: 2000,
      network: { egress: "none" },
      region: "eu",
    });
    expect(reasons).toHaveLength(8);
  });
});

describe("assertRequestSupported", () => {
  it("returns quietly when the request is supported", () => {
    expect(() => assertRequestSupported("p", full, { runtime: "shell" })).not.toThrow();
  });

  it("throws UnsupportedCapabilityError that names the provider and lists every reason", () => {
    let caught: unknown;
    try {
      assertRequestSupported("daytona-eu", full, {
        runtime: "javascript",
        resources: { cpu: 16 },
        region: "ap",
      });
    } catch (error) {
      caught = error;
    }
    expect(UnsupportedCapabilityError.isInstance(caught)).toBe(true);
    const error = caught as UnsupportedCapabilityError;
    expect(error.code).toBe("unsupported_capability");
    expect(error.providerId).toBe("daytona-eu");
    expect(error.isRetryable).toBe(false);
    expect(error.message).toContain('"daytona-eu"');
    expect(error.message).toContain('runtime "javascript"');
    expect(error.message).toContain("cpu 16 (max 4)");
    expect(error.message).toContain('region "ap"');
  });
});

describe("allowlistEntryKind", () => {
  it.each([
    "10.0.0.0/8",
    "192.168.1.0/24",
    "203.0.113.7/32",
    "0.0.0.0/0",
    "2001:db8::/32",
    "::1/128",
    "fe80::/10",
    "2001:DB8:0:0:0:0:0:0/64",
    "10.0.0.1",
    "::1",
    "::ffff:192.0.2.1/128",
  ])("classifies %s as a CIDR range", (entry) => {
    expect(allowlistEntryKind(entry)).toBe("cidr");
  });

  it.each(["example.com", "pypi.org", "*.githubusercontent.com", "registry.npmjs.org", "localhost"])(
    "classifies %s as a domain",
    (entry) => {
      expect(allowlistEntryKind(entry)).toBe("domain");
    },
  );
});
