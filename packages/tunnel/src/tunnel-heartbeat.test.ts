import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createProcessProvider } from "@sandport/contract/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import type { DaemonLogEntry } from "./daemon-log.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { trackSandboxes, waitUntil, withDeadline } from "./testing/tunnel-test-support.ts";
import { connectTunnel } from "./tunnel-client.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

interface Link {
  socket: WebSocket;
  frames: Array<Record<string, unknown>>;
}

/**
 * A gateway that accepts the daemon and its hello, then, while `silent` says so for that
 * connection, never answers a ping and stops reading the socket: a link dead in the middle.
 */
async function startMuteGateway(silent: (connection: number) => boolean) {
  // autoPong off: pongs are sent by hand, and only by a connection that is not silent.
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, autoPong: false });
  await once(server, "listening");
  const links: Link[] = [];
  server.on("connection", (socket) => {
    const link: Link = { socket, frames: [] };
    const index = links.push(link) - 1;
    socket.on("error", () => {});
    socket.on("message", (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      link.frames.push(frame);
      // After the hello a silent link stops reading: nothing more is parsed, no ping is seen.
      if (frame.type === "hello" && silent(index)) socket.pause();
    });
    socket.on("ping", (data) => {
      if (!silent(index)) socket.pong(data);
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/tunnel`,
    links,
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) link.socket.terminate();
        server.close(() => resolve());
      }),
  };
}

const requestFrame = (id: string, code: string) =>
  JSON.stringify({
    type: "request",
    id,
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "run_code", arguments: { language: "shell", code } },
    }),
  });

describe("heartbeat", () => {
  it("declares a link that stops answering pings dead, cancels its call and redials with full-jitter backoff", async () => {
    // Connection 0 answers until its call is in flight, then goes silent; 1 and 2 are silent from
    // their hello on; 3 is healthy.
    let firstSilent = false;
    const gateway = await startMuteGateway((connection) => (connection === 0 ? firstSilent : connection < 3));
    cleanups.push(gateway.close);
    const provider = trackSandboxes(createProcessProvider());
    const server = await createSandboxMcpServer({ provider });
    const logs: DaemonLogEntry[] = [];
    const baseMs = 40;
    const capMs = 200;
    const tunnel = connectTunnel({
      server,
      url: gateway.url,
      daemonId: "alpha",
      token: "daemon-token-heartbeat-0123456789",
      heartbeatMs: 100,
      reconnectBaseMs: baseMs,
      reconnectCapMs: capMs,
      healthyAfterMs: 600_000,
      orphanGraceMs: 100,
      logger: (entry) => logs.push(entry),
    });
    cleanups.push(async () => {
      await tunnel.stop({ graceMs: 0 });
      await server.close();
      await provider.dispose?.();
    });

    // A call in flight on the first link, which then goes silent.
    await waitUntil(() => gateway.links[0]?.frames.some((frame) => frame.type === "hello") === true, "hello");
    gateway.links[0]?.socket.send(requestFrame("slow1", "sleep 60; echo never"));
    await waitUntil(() => provider.live === 1 && tunnel.inFlight === 1, "the call started in a sandbox");
    firstSilent = true;
    gateway.links[0]?.socket.pause();

    await waitUntil(() => gateway.links.length >= 4, "the daemon redialled past three dead links", 30_000);
    // The call whose link died is not left hanging: it is cancelled and its sandbox destroyed.
    await waitUntil(() => tunnel.inFlight === 0 && provider.live === 0, "the orphaned call was cancelled");

    const missed = logs.filter((entry) => entry.event === "tunnel-heartbeat-missed");
    expect(missed.length).toBeGreaterThanOrEqual(3);
    const scheduled = logs.filter((entry) => entry.event === "tunnel-reconnect-scheduled").slice(0, 3);
    expect(scheduled.map((entry) => entry.attempt)).toEqual([1, 2, 3]);
    for (const entry of scheduled) {
      const attempt = entry.attempt as number;
      const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
      expect(entry.delayMs).toBeGreaterThanOrEqual(0);
      expect(entry.delayMs).toBeLessThan(ceiling);
    }

    // The healthy link serves the next call.
    const healthy = gateway.links[3] as Link;
    await waitUntil(
      () => healthy.frames.some((frame) => frame.type === "hello"),
      "hello on the healthy link",
    );
    healthy.socket.send(requestFrame("next1", "echo after-reconnect"));
    await waitUntil(
      () => healthy.frames.some((frame) => frame.type === "response-end" && frame.id === "next1"),
      "the call on the healthy link was answered",
    );
    const body = healthy.frames
      .filter((frame) => frame.type === "response-body" && frame.id === "next1")
      .map((frame) => frame.chunk)
      .join("");
    expect(body).toContain("after-reconnect");
    expect(tunnel.status.state).toBe("connected");
    expect(JSON.stringify(logs)).not.toContain("daemon-token-heartbeat");
    await withDeadline(tunnel.stop({ graceMs: 0 }), 10_000, "stop() after the reconnects");
  }, 60_000);
});
