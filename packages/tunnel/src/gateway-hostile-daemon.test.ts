import { createProcessProvider } from "@sandport/contract/testing";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { DaemonLogEntry } from "./daemon-log.ts";
import { type StartGatewayOptions, startGateway } from "./gateway.ts";
import { createSandboxMcpServer } from "./sandbox-mcp-server.ts";
import { connectClient, trackSandboxes, waitUntil, withDeadline } from "./testing/tunnel-test-support.ts";
import { connectTunnel } from "./tunnel-client.ts";
import { daemonIdHeader, tunnelProtocol } from "./tunnel-frames.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const secret = "sk-live-GATEWAYSECRET0123456789";
const tokens = {
  raw: { daemonToken: "raw-daemon-token-0123456789", clientToken: "raw-client-token-0123456789" },
  alpha: { daemonToken: "alpha-daemon-token-0123456789", clientToken: "alpha-client-token-0123456789" },
};

async function gatewayWith(options: Partial<StartGatewayOptions> = {}) {
  const logs: DaemonLogEntry[] = [];
  const gateway = await startGateway({
    port: 0,
    daemons: tokens,
    logger: (entry) => logs.push(entry),
    ...options,
  });
  cleanups.push(() => gateway.close());
  return { gateway, logs };
}

/** A daemon under the test's control: it says hello, records what it receives and sends what it is told. */
async function rawDaemon(tunnelUrl: URL, daemonId = "raw", token = tokens.raw.daemonToken) {
  const socket = new WebSocket(tunnelUrl, {
    headers: { authorization: `Bearer ${token}`, [daemonIdHeader]: daemonId },
  });
  const frames: Array<Record<string, unknown>> = [];
  let closeCode: number | undefined;
  socket.on("message", (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  socket.on("error", () => {});
  socket.on("close", (code) => {
    closeCode = code;
  });
  cleanups.push(async () => socket.terminate());
  await withDeadline(
    new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    }),
    10_000,
    "the raw daemon to connect",
  );
  socket.send(JSON.stringify({ type: "hello", protocol: tunnelProtocol, daemonId, version: "0.0.0-test" }));
  return {
    socket,
    frames,
    closeCode: () => closeCode,
    requests: () => frames.filter((frame) => frame.type === "request"),
  };
}

const mcpHeaders = (token: string) => ({
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  authorization: `Bearer ${token}`,
});

const toolCall = (id: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "run_code", arguments: { language: "shell", code: "echo hi" } },
  });

async function postJson(url: URL, token: string, body: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: mcpHeaders(token),
    body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("gateway request timeout", () => {
  it("answers a request its daemon never answers with a JSON-RPC error within requestTimeoutMs", async () => {
    const { gateway } = await gatewayWith({ requestTimeoutMs: 300 });
    const daemon = await rawDaemon(gateway.tunnelUrl);
    await withDeadline(gateway.waitForDaemon("raw"), 10_000, "the raw daemon's hello");

    const answer = await withDeadline(
      postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(41)),
      15_000,
      "the gateway to answer a request the daemon ignores",
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      jsonrpc: "2.0",
      id: 41,
      error: { code: -32001, message: expect.stringContaining("did not answer within 300 ms") },
    });
    // The daemon is told to stop the work.
    const [request] = daemon.requests();
    await waitUntil(
      () => daemon.frames.some((frame) => frame.type === "cancel" && frame.id === request?.id),
      "the daemon got a cancel for the timed-out request",
    );
    // The official client gets an error too, not a hang.
    await expect(
      withDeadline(
        connectClient(gateway.endpoint("raw"), tokens.raw.clientToken),
        15_000,
        "the MCP client's initialize against a mute daemon",
      ),
    ).rejects.toThrow(/did not answer/);
    expect(gateway.connectedDaemons()).toEqual(["raw"]);
  }, 40_000);
});

describe("gateway heartbeat", () => {
  it("drops a daemon that stops answering pings and fails its request instead of waiting", async () => {
    const { gateway, logs } = await gatewayWith({ heartbeatMs: 100 });
    const socket = new WebSocket(gateway.tunnelUrl, {
      headers: { authorization: `Bearer ${tokens.raw.daemonToken}`, [daemonIdHeader]: "raw" },
      autoPong: false,
    });
    socket.on("error", () => {});
    cleanups.push(async () => socket.terminate());
    let requests = 0;
    socket.on("message", (data) => {
      if ((JSON.parse(String(data)) as { type?: string }).type === "request") {
        requests++;
        socket.pause(); // from now on nothing is read: a link dead in the middle
      }
    });
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      }),
      10_000,
      "the raw daemon to connect",
    );
    socket.send(JSON.stringify({ type: "hello", protocol: tunnelProtocol, daemonId: "raw", version: "0" }));
    await withDeadline(gateway.waitForDaemon("raw"), 10_000, "the raw daemon's hello");
    const pending = postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(71));
    await waitUntil(() => requests === 1, "the request reached the daemon");
    const answer = await withDeadline(pending, 15_000, "the client's answer after the link died");
    expect(answer.body).toMatchObject({
      id: 71,
      error: { code: -32001, message: expect.stringContaining("tunnel") },
    });
    expect(gateway.connectedDaemons()).toEqual([]);
    expect(logs.some((entry) => entry.event === "daemon-disconnected" && entry.daemonId === "raw")).toBe(
      true,
    );
  }, 30_000);
});

describe("gateway against a hostile daemon", () => {
  it("logs and refuses garbage and oversized frames, fails the request they name, and keeps serving", async () => {
    const { gateway, logs } = await gatewayWith({ maxFrameBytes: 4096 });
    // A well-behaved daemon next to the hostile one.
    const provider = trackSandboxes(createProcessProvider());
    const server = await createSandboxMcpServer({ provider });
    const alpha = connectTunnel({
      server,
      url: gateway.tunnelUrl,
      daemonId: "alpha",
      token: tokens.alpha.daemonToken,
    });
    cleanups.push(async () => {
      await alpha.stop({ graceMs: 0 });
      await server.close();
      await provider.dispose?.();
    });
    const hostile = await rawDaemon(gateway.tunnelUrl);
    await withDeadline(gateway.waitForDaemon("raw"), 10_000, "the hostile daemon's hello");
    await withDeadline(gateway.waitForDaemon("alpha"), 10_000, "alpha's hello");

    // Garbage, each frame carrying a secret-looking value.
    hostile.socket.send(`not json ${secret}`);
    hostile.socket.send(Buffer.from(`binary ${secret}`), { binary: true });
    hostile.socket.send(JSON.stringify({ type: "teleport", id: "x1", secret }));
    hostile.socket.send(JSON.stringify({ type: "response-body", id: "unknown-id", chunk: secret }));
    hostile.socket.send(
      JSON.stringify({ type: "response-start", id: "x2", status: 200, headers: { secret } }).repeat(80),
    );

    // A request the hostile daemon answers with a frame over the limit: the client gets an error
    // at once (the request timeout is the default 15 minutes, far past this test's deadline).
    const first = postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(51));
    await waitUntil(() => hostile.requests().length === 1, "the request reached the hostile daemon");
    const firstId = hostile.requests()[0]?.id as string;
    hostile.socket.send(
      JSON.stringify({
        type: "response-start",
        id: firstId,
        status: 200,
        headers: { "content-type": "application/json", "x-padding": `${secret}${"p".repeat(6000)}` },
      }),
    );
    const refused = await withDeadline(first, 15_000, "the client's answer after an oversized frame");
    expect(refused.body).toMatchObject({
      id: 51,
      error: { code: -32001, message: expect.stringMatching(/frame/) },
    });

    // A malformed frame naming a pending request fails that request too.
    const second = postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(52));
    await waitUntil(() => hostile.requests().length === 2, "the second request reached the hostile daemon");
    const secondId = hostile.requests()[1]?.id as string;
    hostile.socket.send(JSON.stringify({ type: "response-start", id: secondId, status: 999, headers: {} }));
    const malformed = await withDeadline(second, 15_000, "the client's answer after a malformed frame");
    expect(malformed.body).toMatchObject({ id: 52, error: { code: -32001 } });

    // The hostile daemon is still connected and served when it speaks the protocol.
    expect(hostile.closeCode()).toBeUndefined();
    const third = postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(53));
    await waitUntil(() => hostile.requests().length === 3, "the third request reached the hostile daemon");
    const thirdId = hostile.requests()[2]?.id as string;
    const answer = JSON.stringify({ jsonrpc: "2.0", id: 53, result: { content: [], isError: false } });
    hostile.socket.send(
      JSON.stringify({
        type: "response-start",
        id: thirdId,
        status: 200,
        headers: { "content-type": "application/json" },
      }),
    );
    hostile.socket.send(JSON.stringify({ type: "response-body", id: thirdId, chunk: answer }));
    hostile.socket.send(JSON.stringify({ type: "response-end", id: thirdId }));
    expect((await withDeadline(third, 15_000, "the well-formed answer")).body).toMatchObject({
      id: 53,
      result: {},
    });

    // The other daemon was served all along.
    const client = await withDeadline(
      connectClient(gateway.endpoint("alpha"), tokens.alpha.clientToken),
      15_000,
      "the client of alpha to connect",
    );
    cleanups.push(() => client.close());
    const result = await withDeadline(
      client.callTool({ name: "run_code", arguments: { language: "shell", code: "echo alpha-ok" } }),
      20_000,
      "run_code on alpha",
    );
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "alpha-ok\n" });

    const rejected = logs.filter((entry) => entry.event === "frame-rejected" && entry.daemonId === "raw");
    expect(rejected.map((entry) => entry.code)).toEqual(
      expect.arrayContaining(["malformed_frame", "frame_too_large"]),
    );
    expect(rejected.length).toBeGreaterThanOrEqual(6);
    const logged = JSON.stringify(logs);
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain("GATEWAYSECRET");
    for (const pair of Object.values(tokens)) {
      expect(logged).not.toContain(pair.daemonToken);
      expect(logged).not.toContain(pair.clientToken);
    }
  }, 60_000);

  it("cuts a daemon that sends a frame far over the limit, and keeps serving the others", async () => {
    const { gateway, logs } = await gatewayWith({ maxFrameBytes: 4096 });
    const provider = trackSandboxes(createProcessProvider());
    const server = await createSandboxMcpServer({ provider });
    const alpha = connectTunnel({
      server,
      url: gateway.tunnelUrl,
      daemonId: "alpha",
      token: tokens.alpha.daemonToken,
    });
    cleanups.push(async () => {
      await alpha.stop({ graceMs: 0 });
      await server.close();
      await provider.dispose?.();
    });
    const hostile = await rawDaemon(gateway.tunnelUrl);
    await withDeadline(gateway.waitForDaemon("raw"), 10_000, "the hostile daemon's hello");
    await withDeadline(gateway.waitForDaemon("alpha"), 10_000, "alpha's hello");
    const pending = postJson(gateway.endpoint("raw"), tokens.raw.clientToken, toolCall(61));
    await waitUntil(() => hostile.requests().length === 1, "the request reached the hostile daemon");
    hostile.socket.send(`${secret}${"z".repeat(1024 * 1024)}`);
    await waitUntil(() => hostile.closeCode() !== undefined, "the gateway cut the hostile daemon");
    const answer = await withDeadline(pending, 15_000, "the client's answer after the daemon was cut");
    expect(answer.body).toMatchObject({ id: 61, error: { code: -32001 } });
    expect(gateway.connectedDaemons()).toEqual(["alpha"]);

    const client = await withDeadline(
      connectClient(gateway.endpoint("alpha"), tokens.alpha.clientToken),
      15_000,
      "the client of alpha to connect",
    );
    cleanups.push(() => client.close());
    const result = await withDeadline(
      client.callTool({ name: "run_code", arguments: { language: "shell", code: "echo still-here" } }),
      20_000,
      "run_code on alpha",
    );
    expect(result.structuredContent).toMatchObject({ stdout: "still-here\n" });
    expect(JSON.stringify(logs)).not.toContain("GATEWAYSECRET");
  }, 60_000);

  it("refuses a daemon with a wrong token without logging the token", async () => {
    const { gateway, logs } = await gatewayWith();
    const wrong = `wrong-${secret}`;
    const socket = new WebSocket(gateway.tunnelUrl, {
      headers: { authorization: `Bearer ${wrong}`, [daemonIdHeader]: "raw" },
    });
    socket.on("error", () => {});
    cleanups.push(async () => socket.terminate());
    const status = await withDeadline(
      new Promise<number | undefined>((resolve) => {
        socket.once("unexpected-response", (_request, response) => resolve(response.statusCode));
        socket.once("open", () => resolve(101));
      }),
      10_000,
      "the gateway to refuse the wrong daemon token",
    );
    expect(status).toBe(401);
    expect(logs.some((entry) => entry.event === "daemon-token-rejected")).toBe(true);
    expect(JSON.stringify(logs)).not.toContain("GATEWAYSECRET");
  }, 20_000);
});
