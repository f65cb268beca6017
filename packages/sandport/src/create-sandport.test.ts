/**
 * The front door: providers and the router from a config (or the embedded default), policy and
 * ledger from the config, adapters built only for the providers a request goes to.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectSandportError } from "@sandport/contract";
import { afterAll, describe, expect, it } from "vitest";
import { createSandport } from "./create-sandport.ts";

const directory = mkdtempSync(join(tmpdir(), "sandport-front-door-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("createSandport", () => {
  it("routes the embedded default: python to the local sandbox, recorded in the configured ledger", async () => {
    const ledgerPath = join(directory, "default.sqlite");
    const sandport = createSandport({
      config: {
        providers: { edge: { type: "cloudflare-isolate", mode: "local" }, local: { type: "local" } },
        policy: { ledger: { path: ledgerPath } },
      },
    });
    try {
      const router = await sandport.router();
      expect(router.explain({ runtime: "python" }).chosen).toBe("local");
      expect(router.explain({ runtime: "javascript" }).chosen).toBe("edge");
      const sandbox = await router.create({ runtime: "python" });
      expect(sandbox.id.startsWith("router:local:")).toBe(true);
      expect((await sandbox.exec(["python3", "-c", "print(6 * 7)"])).stdout).toBe("42\n");
      expect(router.liveSandboxes()).toHaveLength(1);
      await sandbox.destroy();
      expect(router.liveSandboxes()).toEqual([]);
    } finally {
      await sandport.dispose();
    }
  });

  it("builds one named provider, resolving only its secret references", async () => {
    const sandport = createSandport({
      config: {
        providers: {
          box: { type: "local" },
          cloud: { type: "daytona", apiKey: "${env:MISSING_DAYTONA_KEY}" },
        },
      },
      env: {},
    });
    try {
      const provider = await sandport.provider("box");
      expect(provider.providerId).toBe("box");
      await using sandbox = await provider.create({});
      expect((await sandbox.exec(["echo", "ok"])).stdout).toBe("ok\n");
    } finally {
      await sandport.dispose();
    }
  });

  it("makes the config's default the router's first preference", async () => {
    const sandport = createSandport({
      config: {
        default: "second",
        providers: { first: { type: "local" }, second: { type: "local" } },
        policy: { ledger: { path: ":memory:" } },
      },
    });
    try {
      expect((await sandport.router()).explain({ runtime: "shell" }).chosen).toBe("second");
    } finally {
      await sandport.dispose();
    }
  });

  it("falls back to a ledger in memory, and says so, when the default ledger cannot be created", async () => {
    const notADirectory = join(directory, "a-file");
    writeFileSync(notADirectory, "");
    const events: unknown[] = [];
    const sandport = createSandport({
      config: { providers: { a: { type: "local" }, b: { type: "local" } } },
      env: { XDG_STATE_HOME: notADirectory },
      onEvent: (event) => events.push(event),
    });
    try {
      const router = await sandport.router();
      await using sandbox = await router.create({ runtime: "shell" });
      expect((await sandbox.exec(["echo", "ok"])).stdout).toBe("ok\n");
      expect(events).toContainEqual(expect.objectContaining({ type: "ledger-error", operation: "open" }));
    } finally {
      await sandport.dispose();
    }
    // A ledger the config names must work.
    const named = createSandport({
      config: {
        providers: { a: { type: "local" }, b: { type: "local" } },
        policy: { ledger: { path: join(notADirectory, "ledger.sqlite") } },
      },
    });
    const error = await expectSandportError(() => named.router(), "config_invalid");
    expect(error.message).toContain("policy.ledger.path");
  });

  it("refuses a bad config or policy with config_invalid naming the path", async () => {
    const badProvider = await expectSandportError(
      async () => createSandport({ config: { providers: { x: { type: "local", memoryMb: -1 } } } }),
      "config_invalid",
    );
    expect(badProvider.message).toContain("providers.x");
    const sandport = createSandport({
      config: {
        providers: { a: { type: "local" } },
        policy: { prefer: ["nope"], ledger: { path: ":memory:" } },
      },
    });
    const badPolicy = await expectSandportError(() => sandport.router(), "config_invalid");
    expect(badPolicy.message).toContain("policy.prefer[0]");
  });
});
