import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createProcessProvider } from "@sandport/contract/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { ReconnectBackoff } from "./reconnect-backoff.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { trackSandboxes, waitUntil, withDeadline } from "./testing/tunnel-test-support.ts";
import { connectTunnel, type TunnelConnection } from "./tunnel-client.ts";

/** A hostile or replaying gateway under the test's control: raw frames in, every frame out recorded. */
async function startFakeGateway() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const frames: Array<Record<string, unknown>> = [];
  const sockets: WebSocket[] = [];
  server.on("connection", (socket) => {
    sockets.push(socket);
    socket.on("message", (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/tunnel`,
    frames,
    sockets,
    latest: () => sockets[sockets.length - 1] as WebSocket,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        server.close(() => resolve());
      }),
  };
}

const toolCall = (code: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 7,
    method: "tools/call",
    params: { name: "run_code", arguments: { language: "shell", code } },
  });

const requestFrame = (id: string, body: string) =>
  JSON.stringify({
    type: "request",
    id,
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    },
    body,
  });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function daemonAgainst(url: string, options: Partial<Parameters<typeof connectTunnel>[0]> = {}) {
  const provider = trackSandboxes(createProcessProvider());
  const server = await createSandboxMcpServer({ provider });
  const tunnel: TunnelConnection = connectTunnel({
    server,
    url,
    daemonId: "alpha",
    token: "daemon-token-0123456789",
    reconnectBaseMs: 50,
    ...options,
  });
  cleanups.push(async () => {
    await tunnel.stop({ graceMs: 0 });
    await server.close();
    await provider.dispose?.();
  });
  return { provider, tunnel };
}

describe("connectTunnel against a hostile gateway", () => {
  it("announces its id and version, and sends the token only in the handshake", async () => {
    const gateway = await startFakeGateway();
    cleanups.push(gateway.close);
    gateway.sockets.length = 0;
    await daemonAgainst(gateway.url);
    await waitUntil(() => gateway.frames.some((frame) => frame.type === "hello"), "the daemon said hello");
    expect(gateway.frames[0]).toMatchObject({
      type: "hello",
      daemonId: "alpha",
      protocol: "sandport-tunnel.v1",
    });
    expect(JSON.stringify(gateway.frames)).not.toContain("daemon-token");
  }, 20_000);

  it("answers malformed, oversized and unknown frames with errors and keeps serving", async () => {
    const gateway = await startFakeGateway();
    cleanups.push(gateway.close);
    await daemonAgainst(gateway.url, { maxFrameBytes: 4096 });
    await waitUntil(() => gateway.sockets.length === 1 && gateway.frames.length > 0, "the daemon connected");
    const socket = gateway.latest();
    socket.send("not json at all");
    socket.send(JSON.stringify({ type: "teleport", id: "x1" }));
    socket.send(JSON.stringify({ type: "request", id: "x2", method: "POST" }));
    socket.send(Buffer.from([1, 2, 3]), { binary: true });
    socket.send(requestFrame("big1", toolCall(`echo ${"y".repeat(8000)}`)));
    socket.send(requestFrame("ok1", toolCall("echo still-serving")));
    await waitUntil(
      () => gateway.frames.some((frame) => frame.type === "response-end" && frame.id === "ok1"),
      "the valid request was answered",
    );
    const errors = gateway.frames.filter((frame) => frame.type === "error");
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: null, code: "malformed_frame", message: "frame is not JSON" }),
        expect.objectContaining({ id: "x1", code: "malformed_frame" }),
        expect.objectContaining({ id: "x2", code: "malformed_frame" }),
        expect.objectContaining({ id: "big1", code: "frame_too_large" }),
      ]),
    );
    const body = gateway.frames
      .filter((frame) => frame.type === "response-body" && frame.id === "ok1")
      .map((frame) => frame.chunk)
      .join("");
    expect(body).toContain("still-serving");
  }, 30_000);

  it("executes a request id delivered twice, also after a reconnect, once", async () => {
    const gateway = await startFakeGateway();
    cleanups.push(gateway.close);
    const { provider } = await daemonAgainst(gateway.url);
    await waitUntil(() => gateway.sockets.length === 1 && gateway.frames.length > 0, "the daemon connected");
    const frame = requestFrame("dup1", toolCall("sleep 0.5; echo once"));
    gateway.latest().send(frame);
    gateway.latest().send(frame);
    await waitUntil(() => provider.created === 1, "the request started");
    // Drop the link mid-call and deliver the same id again on the new one.
    gateway.latest().terminate();
    await waitUntil(
      () => gateway.sockets.length === 2 && gateway.sockets[1]?.readyState === 1,
      "the daemon redialled",
    );
    gateway.latest().send(frame);
    await waitUntil(
      () => gateway.frames.some((candidate) => candidate.type === "response-end" && candidate.id === "dup1"),
      "the duplicate was answered",
    );
    gateway.latest().send(frame);
    await waitUntil(
      () =>
        gateway.frames.filter((candidate) => candidate.type === "response-end" && candidate.id === "dup1")
          .length >= 2,
      "the finished request was answered again",
    );
    expect(provider.created).toBe(1);
    const body = gateway.frames
      .filter((candidate) => candidate.type === "response-body" && candidate.id === "dup1")
      .map((candidate) => candidate.chunk)
      .join("");
    expect(body).toContain("once");
  }, 30_000);

  it("refuses ws:// to a host that is not loopback", async () => {
    const server = await createSandboxMcpServer({ provider: createProcessProvider() });
    expect(() =>
      connectTunnel({ server, url: "ws://gateway.example.com/tunnel", daemonId: "a", token: "t" }),
    ).toThrow(/wss:\/\//);
    await server.close();
  });
});

describe("ReconnectBackoff", () => {
  it("waits a random time up to base * 2^attempt, capped, and starts over after a reset", () => {
    const backoff = new ReconnectBackoff({ baseMs: 1000, capMs: 30_000, random: () => 0.999 });
    const delays = Array.from({ length: 7 }, () => backoff.nextDelayMs());
    expect(delays).toEqual([999, 1998, 3996, 7992, 15984, 29970, 29970]);
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(999);
    const zero = new ReconnectBackoff({ random: () => 0 });
    expect(zero.nextDelayMs()).toBe(0);
  });
});

describe("stop", () => {
  it("resolves promptly with no call in flight even when the gateway is unreachable", async () => {
    const gateway = await startFakeGateway();
    const url = gateway.url;
    await gateway.close();
    const { tunnel } = await daemonAgainst(url);
    await withDeadline(tunnel.stop({ graceMs: 1000 }), 10_000, "stop() with nothing in flight");
    expect(tunnel.status.state).toBe("stopped");
  }, 20_000);
});
