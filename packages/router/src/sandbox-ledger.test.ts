/**
 * The ledger: a process killed with live sandboxes leaves them recorded, and `reap()` in another
 * process destroys them (checked through the provider); expired entries are reaped while their
 * owner lives; a file that is not a ledger is refused clearly; a ledger that fails mid-run does not
 * make the router lose track of its sandboxes.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectSandportError } from "@sandport/contract";
import { createLocalProvider } from "@sandport/local";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteLedger, SandboxLedger } from "./node/sqlite-ledger.ts";
import { createRouter } from "./router.ts";
import type { RouterEvent } from "./router-events.ts";
import { createScriptedProvider } from "./test-support/scripted-provider.ts";

/** The provider's own id inside a router id (`router:<provider>:<vendor id>`). */
const innerId = (routerId: string) => routerId.slice("router:".length);

const directory = mkdtempSync(join(tmpdir(), "sandport-ledger-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const ownerScript = fileURLToPath(new URL("./test-support/ledger-owner-process.ts", import.meta.url));

/** Starts the owner process; resolves with its pid and the ids it printed, or fails by its deadline. */
function startOwner(ledgerPath: string, count: number): Promise<{ pid: number; ids: string[] }> {
  const child = spawn(
    process.execPath,
    ["--conditions=@sandport/source", ownerScript, ledgerPath, String(count)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    let errors = "";
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the owner process printed no ids within 30 s: ${errors}`));
    }, 30_000);
    child.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("\n")) {
        clearTimeout(deadline);
        resolve({ pid: child.pid as number, ids: JSON.parse(output.split("\n")[0] as string) as string[] });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(deadline);
      reject(new Error(`the owner process exited with ${code}: ${errors}`));
    });
  });
}

describe("the ledger", () => {
  it("lets another process reap what a process killed with -9 left behind", async () => {
    const ledgerPath = join(directory, "killed.sqlite");
    const owner = await startOwner(ledgerPath, 2);
    expect(owner.ids).toHaveLength(2);
    const ownerIds = owner.ids.map(innerId);
    const local = createLocalProvider({});
    // Alive: connect works, and a reap from here leaves the owner's sandboxes alone.
    for (const id of ownerIds) await local.connect(id);
    const bystander = createRouter({
      providers: [createLocalProvider({})],
      ledger: openSqliteLedger(ledgerPath),
    });
    expect(await bystander.reap()).toEqual({ destroyed: [], gone: [], failed: [] });
    process.kill(owner.pid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const report = await bystander.reap();
    expect(report.destroyed.sort()).toEqual([...ownerIds].sort());
    for (const id of ownerIds) await expectSandportError(() => local.connect(id), "not_found");
    const ledger = await SandboxLedger.open(ledgerPath);
    expect(ledger.entries()).toEqual([]);
    ledger.close();
    await bystander.dispose();
    await local.dispose?.();
  }, 60_000);

  it("reaps an entry whose ttl passed even while its owner lives, and leaves the others", async () => {
    const provider = createScriptedProvider("scripted");
    const router = createRouter({
      providers: [provider],
      ledger: openSqliteLedger(join(directory, "ttl.sqlite")),
    });
    const expiring = await router.create({ ttlMs: 1 });
    const kept = await router.create({});
    await new Promise((resolve) => setTimeout(resolve, 10));
    const report = await router.reap();
    // Destroyed by the reap, or already ended by the provider's own ttl: either way, forgotten.
    expect([...report.destroyed, ...report.gone]).toEqual([innerId(expiring.id)]);
    expect(report.failed).toEqual([]);
    expect(router.liveSandboxes().map((entry) => entry.sandboxId)).toEqual([innerId(kept.id)]);
    await kept.destroy();
    expect(router.liveSandboxes()).toEqual([]);
    await router.dispose();
  });

  it("refuses a file that is not a ledger, naming the path and what to do", async () => {
    const path = join(directory, "corrupt.sqlite");
    writeFileSync(path, "this is not a database, but it is long enough to have a header".repeat(20));
    const router = createRouter({ providers: [createScriptedProvider("p")], ledger: openSqliteLedger(path) });
    const error = await expectSandportError(() => router.start(), "config_invalid");
    expect(error.message).toContain(path);
    expect(error.message).toContain("policy.ledger.path");
    await expectSandportError(() => router.create({}), "config_invalid");
  });

  it("keeps track of its own sandboxes when the ledger stops working mid-run", async () => {
    const provider = createScriptedProvider("p");
    const ledger = await SandboxLedger.open(join(directory, "closing.sqlite"));
    const events: RouterEvent[] = [];
    const router = createRouter({ providers: [provider], ledger, onEvent: (event) => events.push(event) });
    const kept = await router.create({});
    ledger.close();
    const second = await router.create({});
    expect(events.some((event) => event.type === "ledger-error" && event.operation === "add")).toBe(true);
    expect(
      router
        .liveSandboxes()
        .map((entry) => entry.sandboxId)
        .sort(),
    ).toEqual([innerId(kept.id), innerId(second.id)].sort());
    await kept.destroy();
    await second.destroy();
    expect(router.liveSandboxes()).toEqual([]);
    expect(provider.liveCount()).toBe(0);
    await router.dispose();
  });
});

describe("health in the ledger", () => {
  it("shows another process a circuit this router opened, through the shared ledger", async () => {
    const { ProviderUnavailableError } = await import("@sandport/core");
    const path = join(directory, "health.sqlite");
    const flaky = createScriptedProvider("flaky");
    const steady = createScriptedProvider("steady");
    const down = () => ({
      kind: "fail" as const,
      error: new ProviderUnavailableError("down", { providerId: "flaky", retryAfterMs: 60_000 }),
    });
    flaky.script(down(), down());
    const writer = createRouter({
      providers: [flaky, steady],
      policy: { circuitBreaker: { failures: 2 } },
      ledger: openSqliteLedger(path),
    });
    await (await writer.create({})).destroy();
    await writer.dispose();
    // Another router (another process, in effect) reads what the first recorded.
    const reader = createRouter({
      providers: [createScriptedProvider("flaky")],
      ledger: openSqliteLedger(path),
    });
    const health = await reader.recordedHealth();
    expect(health.flaky).toMatchObject({ consecutiveFailures: 1 });
    expect(health.flaky?.retryAfterUntil).toBeGreaterThan(Date.now());
    expect(health.steady).toMatchObject({ circuit: "closed", consecutiveFailures: 0 });
    await reader.dispose();
  });
});
