import { createProcessProvider } from "@sandport/contract/testing";
import { createLocalProvider } from "@sandport/local";
import { afterAll, describe, expect, it } from "vitest";
import type { DaemonLogEntry } from "./daemon-log.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import {
  connectClient,
  type TrackedProvider,
  trackSandboxes,
  waitUntil,
  withDeadline,
} from "./testing/tunnel-test-support.ts";
import { connectTunnel, type TunnelConnection } from "./tunnel-client.ts";

const daemonToken = "daemon-token-0123456789";
const clientToken = "client-token-0123456789";
const local = trackSandboxes(createLocalProvider());

afterAll(async () => {
  await local.dispose?.();
});

interface Setup {
  gateway: Gateway;
  tunnel: TunnelConnection;
  logs: DaemonLogEntry[];
  close(): Promise<void>;
}

async function setUp(
  provider: TrackedProvider = local,
  tunnelOptions: Partial<Parameters<typeof connectTunnel>[0]> = {},
  port = 0,
): Promise<Setup> {
  const gateway = await startGateway({ port, daemons: { alpha: { daemonToken, clientToken } } });
  const server = await createSandboxMcpServer({ provider });
  const logs: DaemonLogEntry[] = [];
  const tunnel = connectTunnel({
    server,
    url: gateway.tunnelUrl,
    daemonId: "alpha",
    token: daemonToken,
    logger: (entry) => logs.push(entry),
    ...tunnelOptions,
  });
  await withDeadline(gateway.waitForDaemon("alpha"), 20_000, "the daemon to connect to the gateway");
  return {
    gateway,
    tunnel,
    logs,
    close: async () => {
      await tunnel.stop({ graceMs: 0 });
      await gateway.close();
      await server.close();
    },
  };
}

const sleepAndPrint = { language: "shell", code: "sleep 2; echo done" };

describe("client -> gateway -> tunnel -> daemon -> provider", () => {
  it("runs code end to end and lists the tools", async () => {
    const setup = await setUp();
    const client = await connectClient(setup.gateway.endpoint("alpha"), clientToken);
    try {
      const { tools } = await withDeadline(client.listTools(), 20_000, "tools/list through the tunnel");
      expect(tools.map((tool) => tool.name)).toContain("run_code");
      const result = await withDeadline(
        client.callTool({
          name: "run_code",
          arguments: { language: "javascript", code: "console.log(6 * 7)" },
        }),
        30_000,
        "run_code through the tunnel",
      );
      expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "42\n" });
      expect(JSON.stringify(setup.logs)).not.toContain(daemonToken);
    } finally {
      await client.close();
      await setup.close();
    }
  }, 60_000);

  it("refuses a wrong daemon token, a wrong client token and a foreign Origin", async () => {
    const gateway = await startGateway({ port: 0, daemons: { alpha: { daemonToken, clientToken } } });
    const server = await createSandboxMcpServer({ provider: local });
    const tunnel = connectTunnel({
      server,
      url: gateway.tunnelUrl,
      daemonId: "alpha",
      token: "wrong-daemon-token",
    });
    try {
      await waitUntil(
        () => tunnel.status.lastRejectedStatus === 401,
        "the gateway refused the wrong daemon token",
      );
      expect(gateway.connectedDaemons()).toEqual([]);
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const wrongClient = await fetch(gateway.endpoint("alpha"), {
        method: "POST",
        body,
        headers: { ...headers, authorization: `Bearer ${daemonToken}` },
      });
      expect(wrongClient.status).toBe(401);
      const foreign = await fetch(gateway.endpoint("alpha"), {
        method: "POST",
        body,
        headers: { ...headers, authorization: `Bearer ${clientToken}`, origin: "https://evil.example" },
      });
      expect(foreign.status).toBe(403);
    } finally {
      await tunnel.stop({ graceMs: 0 });
      await gateway.close();
      await server.close();
    }
  }, 40_000);

  it("gives the client an error when the gateway restarts mid-call; the daemon reconnects by itself", async () => {
    const setup = await setUp(local, { orphanGraceMs: 100 });
    const port = Number(setup.gateway.url.port);
    let restarted: Gateway | undefined;
    const client = await connectClient(setup.gateway.endpoint("alpha"), clientToken);
    try {
      const call = client.callTool({ name: "run_code", arguments: sleepAndPrint });
      await waitUntil(() => setup.tunnel.inFlight === 1, "the call reached the daemon");
      await setup.gateway.close();
      await expect(withDeadline(call, 20_000, "the in-flight call to fail")).rejects.toThrow(
        /tunnel|gateway|fetch|closed/i,
      );
      restarted = await startGateway({ port, daemons: { alpha: { daemonToken, clientToken } } });
      await withDeadline(restarted.waitForDaemon("alpha"), 40_000, "the daemon to reconnect");
      const next = await connectClient(restarted.endpoint("alpha"), clientToken);
      try {
        const result = await withDeadline(
          next.callTool({ name: "run_code", arguments: { language: "shell", code: "echo again" } }),
          30_000,
          "the call after the reconnect",
        );
        expect(result.structuredContent).toMatchObject({ stdout: "again\n" });
      } finally {
        await next.close();
      }
    } finally {
      await client.close().catch(() => {});
      await setup.close();
      await restarted?.close();
    }
  }, 90_000);

  it("leaves no sandbox behind when the tunnel is cut during a call", async () => {
    const provider = trackSandboxes(createLocalProvider());
    const setup = await setUp(provider, { orphanGraceMs: 100 });
    const client = await connectClient(setup.gateway.endpoint("alpha"), clientToken);
    try {
      const call = client.callTool({ name: "run_code", arguments: { language: "shell", code: "sleep 60" } });
      await waitUntil(() => provider.live === 1, "the call's sandbox exists");
      await setup.gateway.close();
      await call.catch(() => {});
      await waitUntil(() => provider.live === 0, "the cut call's sandbox was destroyed", 30_000);
      expect(provider.created).toBe(1);
    } finally {
      await client.close().catch(() => {});
      await setup.close();
      await provider.dispose?.();
    }
  }, 60_000);

  it("lets a call in flight finish when stopped, then closes", async () => {
    const setup = await setUp();
    const client = await connectClient(setup.gateway.endpoint("alpha"), clientToken);
    try {
      const call = client.callTool({ name: "run_code", arguments: sleepAndPrint });
      await waitUntil(() => setup.tunnel.inFlight === 1, "the call reached the daemon");
      const stopping = setup.tunnel.stop({ graceMs: 30_000 });
      const result = await withDeadline(call, 30_000, "the in-flight call to complete during the drain");
      expect(result.structuredContent).toMatchObject({ stdout: "done\n" });
      await withDeadline(stopping, 30_000, "stop() to resolve");
      expect(setup.tunnel.status.state).toBe("stopped");
      await waitUntil(
        () => setup.gateway.connectedDaemons().length === 0,
        "the gateway saw the daemon leave",
      );
    } finally {
      await client.close().catch(() => {});
      await setup.close();
    }
  }, 60_000);

  it("answers 200 concurrent calls over one tunnel", async () => {
    const provider = trackSandboxes(createProcessProvider());
    const setup = await setUp(provider);
    const client = await connectClient(setup.gateway.endpoint("alpha"), clientToken);
    try {
      const calls = Array.from({ length: 200 }, (_, index) =>
        client.callTool({ name: "run_code", arguments: { language: "shell", code: `echo ${index}` } }),
      );
      const results = await withDeadline(Promise.all(calls), 120_000, "200 concurrent calls");
      results.forEach((result, index) => {
        expect(result.structuredContent).toMatchObject({ stdout: `${index}\n`, exitCode: 0 });
      });
      expect(setup.tunnel.status.connections).toBe(1);
      expect(provider.live).toBe(0);
    } finally {
      await client.close();
      await setup.close();
      await provider.dispose?.();
    }
  }, 150_000);
});
