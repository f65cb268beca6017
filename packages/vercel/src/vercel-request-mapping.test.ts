import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createVercelFake } from "./testing/index.ts";
import { vercelCapabilities } from "./vercel-capabilities.ts";
import { createVercelProvider } from "./vercel-provider.ts";
import { mapCreateRequest, networkPolicyFor, vcpusFor } from "./vercel-request-mapping.ts";

const credentials = { token: "mapping-token-5d0e", teamId: "team_mapping", projectId: "prj_mapping" };
const vercel = createVercelFake(credentials);
const server = setupServer(...vercel.handlers);
const provider = createVercelProvider({ providerId: "vercel", ...credentials });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => vercel.clearCalls());
afterAll(async () => {
  server.close();
  await vercel.close();
});

function createBody(): Record<string, unknown> {
  const call = vercel.calls.find((candidate) => candidate.route === "create");
  expect(call, "no create request reached the fake").toBeDefined();
  return call?.body as Record<string, unknown>;
}

describe("vercel request mapping", () => {
  it("rounds cpu and memory up to whole vCPUs at 2048 MiB each", () => {
    expect(vcpusFor(undefined)).toBeUndefined();
    expect(vcpusFor({ cpu: 1.5 })).toBe(2);
    expect(vcpusFor({ memoryMb: 5000 })).toBe(3);
    expect(vcpusFor({ cpu: 4, memoryMb: 2048 })).toBe(4);
    expect(vcpusFor({ cpu: 1, memoryMb: 4097 })).toBe(3);
  });

  it("maps egress to deny-all, allow-all and a custom policy of domains and CIDRs", () => {
    expect(networkPolicyFor("none")).toBe("deny-all");
    expect(networkPolicyFor("open")).toBe("allow-all");
    expect(networkPolicyFor({ allow: [] })).toBe("deny-all");
    expect(networkPolicyFor({ allow: ["example.com", "10.0.0.0/8", "*.npmjs.org", "1.2.3.4"] })).toEqual({
      allow: ["example.com", "*.npmjs.org"],
      subnets: { allow: ["10.0.0.0/8", "1.2.3.4"] },
    });
  });

  it("refuses what Vercel cannot express before any call: GPUs, disk, memory past the vCPUs, >5 labels, unknown regions", async () => {
    const capabilities = vercelCapabilities({});
    const refused = [
      { resources: { gpu: { type: "H100", count: 1 } } },
      { resources: { diskMb: 1024 } },
      { resources: { memoryMb: 8 * 2048 + 1 } },
      { resources: { cpu: 9 } },
      { labels: { a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" } },
      { region: "mars1" },
      { region: "iad1", providerOptions: { vercel: { failoverRegions: ["mars1"] } } },
      { ttlMs: 5 * 60 * 60 * 1000 + 1 },
    ];
    for (const request of refused) {
      expect(() => mapCreateRequest("vercel", capabilities, request), JSON.stringify(request)).toThrow(
        expect.objectContaining({ code: "unsupported_capability" }),
      );
      await expect(provider.create(request)).rejects.toMatchObject({ code: "unsupported_capability" });
    }
    // An option the adapter does not know is refused, never ignored.
    await expect(
      provider.create({ providerOptions: { vercel: { persistent: true } } }),
    ).rejects.toMatchObject({
      code: "invalid_request",
    });
    await expect(
      provider.create({ providerOptions: { vercel: { failoverRegions: ["sfo1"] } } }),
    ).rejects.toMatchObject({ code: "invalid_request" });
    expect(vercel.calls).toEqual([]);
  });

  it("forwards ttlMs as the sandbox timeout, so a crashed caller never leaks a sandbox", async () => {
    const sandbox = await provider.create({ ttlMs: 600_000 });
    try {
      expect(createBody()).toMatchObject({ timeout: 600_000, persistent: false, projectId: "prj_mapping" });
      expect(vercel.calls[0]?.path).toBe("/api/v3/sandboxes");
      expect(vercel.calls[0]?.query.teamId).toEqual(["team_mapping"]);
    } finally {
      await sandbox.destroy();
    }
  });

  it("sends vcpus, env, labels as tags, region, failover regions and the network policy", async () => {
    const sandbox = await provider.create({
      resources: { cpu: 1.5, memoryMb: 5000 },
      env: { GREETING: "hello" },
      labels: { team: "red" },
      region: "fra1",
      network: { egress: { allow: ["example.com", "192.168.0.0/16"] } },
      image: "vercel/sandbox/universal:latest",
      providerOptions: { vercel: { failoverRegions: ["cdg1", "lhr1"] } },
    });
    try {
      expect(createBody()).toEqual({
        projectId: "prj_mapping",
        ports: [],
        timeout: undefined,
        persistent: false,
        resources: { vcpus: 3 },
        env: { GREETING: "hello" },
        tags: { team: "red" },
        region: "fra1",
        failoverRegions: ["cdg1", "lhr1"],
        image: "vercel/sandbox/universal:latest",
        networkPolicy: { allow: ["example.com"], subnets: { allow: ["192.168.0.0/16"] } },
      } satisfies Record<string, unknown>);
      const result = await sandbox.exec(["sh", "-c", 'printf %s "$GREETING"']);
      expect(result.stdout).toBe("hello");
    } finally {
      await sandbox.destroy();
    }
  });

  it("runs an exec nothing may need to kill as one waited command, and one with a timeout, a signal or a callback detached", async () => {
    const sandbox = await provider.create({});
    const commandCalls = () =>
      vercel.calls.filter((call) => call.route.startsWith("command")).map((call) => call.route);
    try {
      vercel.clearCalls();
      const plain = await sandbox.exec([
        "sh",
        "-c",
        "echo out; sleep 0.2; echo err >&2; sleep 0.2; echo more; exit 3",
      ]);
      expect(plain).toMatchObject({
        exitCode: 3,
        stdout: "out\nmore\n",
        stderr: "err\n",
        output: "out\nerr\nmore\n",
        truncated: false,
        timedOut: false,
      });
      expect(commandCalls()).toEqual(["command"]);
      expect(vercel.calls.find((call) => call.route === "command")?.body).toMatchObject({ wait: true });

      // Output caps and signals read the same through the waited stream.
      const capped = await sandbox.exec(["sh", "-c", "printf 0123456789; printf abcdefghij >&2"], {
        maxOutputBytes: 4,
      });
      expect(capped).toMatchObject({ stdout: "0123", stderr: "abcd", truncated: true });
      expect((await sandbox.exec(["sh", "-c", "kill -TERM $$"])).exitCode).toBe(143);

      const detached: Array<() => Promise<unknown>> = [
        () => sandbox.exec(["echo", "hi"], { timeoutMs: 10_000 }),
        () => sandbox.exec(["echo", "hi"], { signal: new AbortController().signal }),
        () => sandbox.exec(["echo", "hi"], { onStdout: () => {} }),
        () => sandbox.exec(["echo", "hi"], { onStderr: () => {} }),
      ];
      for (const exec of detached) {
        vercel.clearCalls();
        expect(await exec()).toMatchObject({ exitCode: 0, stdout: "hi\n" });
        expect(commandCalls().sort()).toEqual(["command", "command-get", "command-logs"]);
        expect(vercel.calls.find((call) => call.route === "command")?.body).not.toHaveProperty("wait");
      }
    } finally {
      await sandbox.destroy();
    }
  });

  it("ends a waited exec when the sandbox is destroyed: it rejects with not_found", async () => {
    const sandbox = await provider.create({});
    const running = sandbox.exec(["sh", "-c", "touch started; exec sleep 30"]);
    const settled = running.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Poll until the command has started.
    while (!(await sandbox.listFiles(".")).some((file) => file.name === "started")) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await sandbox.destroy();
    expect(await settled).toMatchObject({ code: "not_found", providerId: "vercel" });
  }, 15_000);

  it("sends deny-all for egress none and nothing for an unspecified network", async () => {
    const closed = await provider.create({ network: { egress: "none" } });
    await closed.destroy();
    expect(createBody().networkPolicy).toEqual({ mode: "deny-all" });
    vercel.clearCalls();
    const plain = await provider.create({});
    await plain.destroy();
    expect(createBody().networkPolicy).toBeUndefined();
  });
});
