import { SandportError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";
import { createParams, lifetimeMinutes, sessionCommandLine } from "./daytona-request-mapping.ts";
import { createDaytonaFake } from "./testing/index.ts";

const apiUrl = "https://daytona.mapping.test/api";
const apiKey = "mapping-key-3f9a";
const daytona = createDaytonaFake({ apiUrl, apiKey });
const server = setupServer(...daytona.handlers);
const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
beforeEach(() => daytona.clearCalls());
afterAll(async () => {
  await provider.dispose();
  server.close();
  await daytona.close();
});

/** The body the SDK sent for the sandbox just created. */
function bodyOf(vendorId: string): Record<string, unknown> {
  const body = daytona.createBody(vendorId);
  if (body === undefined) throw new Error(`no create body recorded for ${vendorId}`);
  return body;
}

describe("daytona request mapping", () => {
  it("converts MiB to whole GiB and vCPUs to whole vCPUs, rounding up, and sends ttlMs as minutes", async () => {
    await using sandbox = await provider.create({
      resources: { cpu: 1.5, memoryMb: 1500, diskMb: 3072 },
      ttlMs: 90_000,
    });
    const body = bodyOf(sandbox.vendorId);
    expect(body).toMatchObject({
      cpu: 2,
      memory: 2,
      disk: 3,
      ttlMinutes: 2,
      autoStopInterval: 2,
      autoDeleteInterval: 0,
    });
  });

  it("forwards the default lifetime when the request has none, so a crashed caller leaks nothing", async () => {
    await using sandbox = await provider.create({});
    expect(bodyOf(sandbox.vendorId)).toMatchObject({
      ttlMinutes: 60,
      autoStopInterval: 60,
      autoDeleteInterval: 0,
    });
  });

  it("maps egress none to networkBlockAll and an allowlist to CIDR and domain lists", async () => {
    await using closed = await provider.create({ network: { egress: "none" } });
    expect(bodyOf(closed.vendorId)).toMatchObject({ networkBlockAll: true });
    await using listed = await provider.create({
      network: { egress: { allow: ["10.0.0.0/8", "192.168.1.7", "example.com"] } },
    });
    const body = bodyOf(listed.vendorId);
    expect(body.networkAllowList).toBe("10.0.0.0/8,192.168.1.7/32");
    expect(body.domainAllowList).toBe("example.com");
    expect(body.networkBlockAll).not.toBe(true);
  });

  it("sends region as the target, env and labels as they are", async () => {
    await using sandbox = await provider.create({
      region: "eu",
      env: { GREETING: "hi" },
      labels: { team: "a" },
    });
    expect(bodyOf(sandbox.vendorId)).toMatchObject({
      target: "eu",
      env: { GREETING: "hi" },
      labels: { team: "a" },
    });
    expect((await sandbox.exec(["sh", "-c", 'printf %s "$GREETING"'])).stdout).toBe("hi");
  });

  it("rejects a GPU, a region outside the declared ones and memory above the limit before any call", async () => {
    for (const request of [
      { resources: { gpu: { type: "H100", count: 1 } } },
      { region: "mars" },
      { resources: { memoryMb: 8193 } },
    ]) {
      const error = await provider.create(request).catch((caught: unknown) => caught);
      expect(SandportError.isInstance(error) && error.code, JSON.stringify(request)).toBe(
        "unsupported_capability",
      );
    }
    expect(daytona.calls).toEqual([]);
  });

  it("rounds lifetimes up to whole minutes, never below one", () => {
    expect(lifetimeMinutes(1)).toBe(1);
    expect(lifetimeMinutes(60_000)).toBe(1);
    expect(lifetimeMinutes(60_001)).toBe(2);
    expect(createParams({ ttlMs: 1_500 }, { defaultTtlMs: 0, target: undefined }).params.ttlMinutes).toBe(1);
    expect(createParams({}, { defaultTtlMs: 0, target: undefined }).params.ttlMinutes).toBeUndefined();
  });

  it("quotes argv words so nothing in them is expanded, and closes stdin unless data is given", () => {
    const line = sessionCommandLine({ command: ["echo", "$HOME", "it's"], cwd: "a b", env: { X: "1 2" } });
    expect(line).toBe("(cd -- 'a b' && export X='1 2' && exec 'echo' '$HOME' 'it'\\''s') < /dev/null");
    const piped = sessionCommandLine({ command: ["cat"], stdin: new TextEncoder().encode("hi") });
    expect(piped).toBe("printf '%s' 'aGk=' | base64 -d | (exec 'cat')");
  });
});
