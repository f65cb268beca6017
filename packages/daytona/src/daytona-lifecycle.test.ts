// What the SDK would do on its own that the adapter must not let happen: open its socket.io event
// channel, leave a sandbox behind when the caller gives up, or drop the lifetime.
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";
import { createDaytonaFake } from "./testing/index.ts";

const apiUrl = "https://daytona.lifecycle.test/api";
const apiKey = "lifecycle-key-55c1";
const daytona = createDaytonaFake({ apiUrl, apiKey, pageSize: 1 });
const server = setupServer(...daytona.handlers);
const unhandled: string[] = [];

beforeAll(() => {
  server.events.on("request:unhandled", ({ request }) => {
    unhandled.push(request.url);
  });
  server.listen({ onUnhandledFrame: "error" });
});
afterAll(async () => {
  server.close();
  await daytona.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("daytona lifecycle", () => {
  it("never opens the SDK's socket.io event channel (polling mode)", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const sandbox = await provider.create({});
    await sandbox.exec(["true"]);
    await sandbox.destroy();
    await provider.dispose();
    const paths = daytona.calls.map((call) => call.path);
    expect(paths.some((path) => path.includes("/socket.io"))).toBe(false);
    expect(unhandled.filter((url) => url.includes("socket.io"))).toEqual([]);
    expect(paths.some((path) => path.startsWith("/api/sandbox"))).toBe(true);
  });

  it("destroys a sandbox that finished creating after the caller aborted", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const before = await daytona.countLiveSandboxes();
    daytona.failNext({ kind: "slow", delayMs: 400 }, { route: "create" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await provider.create({}, { signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe("aborted");
    // The create finishes on Daytona's side after the abort; the provider deletes what it made.
    let live = await daytona.countLiveSandboxes();
    for (let attempt = 0; attempt < 40 && live !== before; attempt++) {
      await sleep(100);
      live = await daytona.countLiveSandboxes();
    }
    expect(live).toBe(before);
    await provider.dispose();
  });

  it("leaves nothing behind when create fails after Daytona made the sandbox", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const before = await daytona.countLiveSandboxes();
    daytona.clearCalls();
    // The sandbox is made, but the answer to the create is a 502 (a gateway gave up on it).
    daytona.failNext({ kind: "status", status: 502, applied: true }, { route: "create" });
    const error = await provider.create({}).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe("provider_unavailable");
    // Found by the name the provider gave it, and deleted.
    expect(daytona.calls.some((call) => call.method === "DELETE" && call.route === "delete")).toBe(true);
    expect(await daytona.countLiveSandboxes()).toBe(before);
    await provider.dispose();
  });

  it("maps a 5xx while create polls a sandbox still creating, and deletes that sandbox", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const before = await daytona.countLiveSandboxes();
    daytona.clearCalls();
    daytona.startNextSlowly(50);
    // The create answers "creating"; the SDK's first poll of it gets the 503.
    daytona.failNext({ kind: "status", status: 503 }, { route: "get" });
    const error = await provider.create({}).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "provider_unavailable", isRetryable: true });
    expect(daytona.calls.filter((call) => call.route === "get").length).toBeGreaterThanOrEqual(1);
    expect(await daytona.countLiveSandboxes()).toBe(before);
    await provider.dispose();
  });

  it("waits while the sandbox is creating and returns it once started", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    daytona.clearCalls();
    daytona.startNextSlowly(3);
    const sandbox = await provider.create({});
    expect(daytona.calls.filter((call) => call.route === "get").length).toBeGreaterThanOrEqual(3);
    expect((await sandbox.exec(["echo", "up"])).stdout).toBe("up\n");
    await sandbox.destroy();
    await provider.dispose();
  });

  it("rejects with aborted when aborted while create polls, and deletes the sandbox it made", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const before = await daytona.countLiveSandboxes();
    daytona.startNextSlowly(5);
    // Every read is slowed, so the abort lands while the SDK is still polling the new sandbox.
    daytona.failNext({ kind: "slow", delayMs: 150 }, { route: "get", times: 5 });
    const controller = new AbortController();
    const creating = provider.create({}, { signal: controller.signal }).catch((caught: unknown) => caught);
    let made = await daytona.countLiveSandboxes();
    for (let attempt = 0; attempt < 100 && made === before; attempt++) {
      await sleep(20);
      made = await daytona.countLiveSandboxes();
    }
    expect(made).toBe(before + 1);
    controller.abort();
    expect(((await creating) as { code?: string }).code).toBe("aborted");
    let live = await daytona.countLiveSandboxes();
    for (let attempt = 0; attempt < 50 && live !== before; attempt++) {
      await sleep(100);
      live = await daytona.countLiveSandboxes();
    }
    expect(live).toBe(before);
    await provider.dispose();
  });

  it("forwards the lifetime to Daytona, so the sandbox outlives no crashed caller", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us", defaultTtlMs: 0 });
    const sandbox = await provider.create({ ttlMs: 5 * 60_000 });
    // dispose() stands for the caller going away: its exact-lifetime timer is gone...
    await provider.dispose();
    // ...and Daytona still holds the lifetime and the delete-on-stop.
    expect(daytona.createBody(sandbox.vendorId)).toMatchObject({
      ttlMinutes: 5,
      autoStopInterval: 5,
      autoDeleteInterval: 0,
    });
    const untimed = createDaytonaProvider({ apiUrl, apiKey, target: "us", defaultTtlMs: 0 });
    const open = await untimed.create({});
    expect(daytona.createBody(open.vendorId)?.ttlMinutes).toBeUndefined();
    await open.destroy();
    await sandbox.destroy();
    await untimed.dispose();
  });

  it("lists across cursor pages and filters by labels", async () => {
    const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });
    const a = await provider.create({ labels: { suite: "list", which: "a" } });
    const b = await provider.create({ labels: { suite: "list", which: "b" } });
    const ids: string[] = [];
    for await (const info of provider.list({ labels: { suite: "list" } })) ids.push(info.id);
    expect(ids.sort()).toEqual([a.id, b.id].sort());
    const onlyB: string[] = [];
    for await (const info of provider.list({ labels: { which: "b" } })) onlyB.push(info.id);
    expect(onlyB).toEqual([b.id]);
    await a.destroy();
    await b.destroy();
    await provider.dispose();
  });
});
