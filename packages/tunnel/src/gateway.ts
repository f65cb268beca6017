/**
 * `startGateway`: the reference gateway. Daemons dial in to `/tunnel` with their daemon token;
 * MCP clients call `/mcp/<daemon-id>` with that daemon's client token, and each HTTP exchange is
 * pushed down the daemon's tunnel as frames. A request in flight when its tunnel drops (or the
 * gateway stops) is answered with an explicit JSON-RPC error, never left hanging.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ConfigInvalidError, describeIssues } from "@sandport/core";
import { WebSocket, WebSocketServer } from "ws";
import { type DaemonLogger, errorMessage, silentLogger } from "./daemon-log.ts";
import { bearerToken, originAllowed, tokenMatches, writeJsonRpcError } from "./request-guards.ts";
import { type GatewayConfigInput, gatewayConfigSchema } from "./tunnel-config.ts";
import {
  type DaemonFrame,
  daemonFrameSchema,
  daemonIdHeader,
  forwardedRequestHeaders,
  forwardedResponseHeaders,
  parseFrame,
} from "./tunnel-frames.ts";

/** Options of {@link startGateway}: the `gateway` config section plus a logger. */
export interface StartGatewayOptions extends GatewayConfigInput {
  /** A request unanswered this long gets a JSON-RPC error, ms (default 15 minutes). */
  requestTimeoutMs?: number;
  /** Time a dialled-in daemon has to send its hello, ms (default 10,000). */
  helloTimeoutMs?: number;
  logger?: DaemonLogger;
}

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:7420/`. */
  readonly url: URL;
  /** What daemons dial: `ws://<host>:<port>/tunnel`. */
  readonly tunnelUrl: URL;
  /** The MCP endpoint of one daemon: `<url>mcp/<daemonId>`. */
  endpoint(daemonId: string): URL;
  /** Ids of the daemons connected now (that said hello). */
  connectedDaemons(): string[];
  /** Resolves once `daemonId` is connected; rejects when `signal` aborts first. */
  waitForDaemon(daemonId: string, signal?: AbortSignal): Promise<void>;
  /** Answers every in-flight request with an error, disconnects the daemons and stops listening. */
  close(): Promise<void>;
}

interface PendingRequest {
  response: ServerResponse;
  /** The JSON-RPC id of the client's request, when it had one. */
  rpcId: string | number | null;
  started: boolean;
  streaming: boolean;
  timer: NodeJS.Timeout;
}

interface DaemonLink {
  daemonId: string;
  socket: WebSocket;
  pending: Map<string, PendingRequest>;
  draining: boolean;
}

const jsonRpcTunnelError = -32001;

function rpcIdOf(body: string): string | number | null {
  try {
    const message = JSON.parse(body) as { id?: unknown };
    return typeof message.id === "string" || typeof message.id === "number" ? message.id : null;
  } catch {
    return null;
  }
}

/** Ends a pending request with a JSON-RPC error naming what happened. */
function failPending(pending: PendingRequest, message: string): void {
  clearTimeout(pending.timer);
  const { response } = pending;
  if (response.writableEnded) return;
  const error = { jsonrpc: "2.0", id: pending.rpcId, error: { code: jsonRpcTunnelError, message } };
  if (!pending.started) {
    response.writeHead(pending.rpcId === null ? 502 : 200, { "content-type": "application/json" });
    response.end(JSON.stringify(error));
  } else if (pending.streaming) {
    response.end(`event: message\ndata: ${JSON.stringify(error)}\n\n`);
  } else {
    // A JSON body already half written cannot carry an error: cut it, so the client sees a failure.
    response.destroy();
  }
}

/** The body, or undefined once it is known to be over `limit` (the rest is never read). */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  if (Number(request.headers["content-length"]) > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts the gateway; resolves once the port is bound. */
export async function startGateway(options: StartGatewayOptions): Promise<Gateway> {
  const {
    logger: givenLogger,
    requestTimeoutMs = 15 * 60_000,
    helloTimeoutMs = 10_000,
    ...section
  } = options;
  const parsed = gatewayConfigSchema.safeParse(section);
  if (!parsed.success) {
    throw new ConfigInvalidError(`invalid gateway config: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const config = parsed.data;
  const logger = givenLogger ?? silentLogger;
  const links = new Map<string, DaemonLink>();
  const waiters = new Set<() => void>();
  let closing = false;

  const webSockets = new WebSocketServer({
    noServer: true,
    // Past the frame limit a frame is refused and logged (and fails the request it names); far past
    // it the link is cut unread, as the daemon does.
    maxPayload: config.maxFrameBytes * 2 + 64 * 1024,
    perMessageDeflate: false,
  });

  function registerLink(link: DaemonLink): void {
    const previous = links.get(link.daemonId);
    if (previous !== undefined) {
      // A redial that beat the old link's close: the newer link wins.
      dropLink(previous, "the daemon reconnected");
      previous.socket.close(4000, "replaced by a newer connection");
    }
    links.set(link.daemonId, link);
    logger({ level: "info", event: "daemon-connected", daemonId: link.daemonId });
    for (const wake of [...waiters]) wake();
  }

  function dropLink(link: DaemonLink, reason: string): void {
    if (links.get(link.daemonId) === link) links.delete(link.daemonId);
    for (const pending of link.pending.values())
      failPending(pending, `tunnel to daemon ${link.daemonId}: ${reason}`);
    link.pending.clear();
  }

  function onDaemonFrame(link: DaemonLink, frame: DaemonFrame): void {
    if (frame.type === "draining") {
      link.draining = true;
      logger({ level: "info", event: "daemon-draining", daemonId: link.daemonId });
      return;
    }
    if (frame.type === "hello") return;
    if (frame.id === null) {
      logger({
        level: "warn",
        event: "daemon-reported-error",
        daemonId: link.daemonId,
        code: frame.type === "error" ? frame.code : "",
      });
      return;
    }
    const pending = link.pending.get(frame.id);
    if (pending === undefined) return;
    switch (frame.type) {
      case "response-start": {
        if (pending.started) return;
        pending.started = true;
        const headers: Record<string, string> = {};
        for (const name of forwardedResponseHeaders) {
          const value = frame.headers[name];
          if (value !== undefined) headers[name] = value;
        }
        pending.streaming = (headers["content-type"] ?? "").startsWith("text/event-stream");
        pending.response.writeHead(frame.status, headers);
        return;
      }
      case "response-body":
        if (pending.started) pending.response.write(frame.chunk);
        return;
      case "response-end":
        clearTimeout(pending.timer);
        link.pending.delete(frame.id);
        pending.response.end();
        return;
      case "error":
        link.pending.delete(frame.id);
        failPending(pending, `daemon ${link.daemonId} refused the request: ${frame.code}: ${frame.message}`);
        return;
    }
  }

  function onDaemonConnection(socket: WebSocket, daemonId: string): void {
    const link: DaemonLink = { daemonId, socket, pending: new Map(), draining: false };
    let greeted = false;
    let alive = true;
    const helloTimer = setTimeout(() => {
      if (!greeted) socket.close(4002, "no hello");
    }, helloTimeoutMs);
    const heartbeat = setInterval(() => {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, config.heartbeatMs);
    socket.on("pong", () => {
      alive = true;
    });
    socket.on("message", (data, isBinary) => {
      alive = true;
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const result = isBinary
        ? { rejection: { id: null, code: "malformed_frame" as const, message: "binary frame" } }
        : parseFrame(bytes.toString("utf8"), daemonFrameSchema, config.maxFrameBytes, bytes.byteLength);
      if ("rejection" in result) {
        const { rejection } = result;
        logger({
          level: "warn",
          event: "frame-rejected",
          daemonId,
          code: rejection.code,
          bytes: bytes.byteLength,
        });
        // A request whose answer cannot be read is failed now, not left to the request timeout.
        const pending = rejection.id === null ? undefined : link.pending.get(rejection.id);
        if (rejection.id !== null && pending !== undefined) {
          link.pending.delete(rejection.id);
          failPending(
            pending,
            `daemon ${daemonId} sent an unacceptable frame for this request: ${rejection.code}`,
          );
        }
        return;
      }
      const frame = result.frame;
      if (!greeted) {
        if (frame.type !== "hello" || frame.daemonId !== daemonId) {
          socket.close(4002, "expected hello");
          return;
        }
        greeted = true;
        clearTimeout(helloTimer);
        logger({ level: "info", event: "daemon-hello", daemonId, version: frame.version });
        registerLink(link);
        return;
      }
      onDaemonFrame(link, frame);
    });
    socket.on("error", (error) =>
      logger({ level: "warn", event: "daemon-socket-error", daemonId, message: errorMessage(error) }),
    );
    socket.on("close", (code) => {
      clearTimeout(helloTimer);
      clearInterval(heartbeat);
      logger({ level: "info", event: "daemon-disconnected", daemonId, code });
      dropLink(link, "the tunnel closed during the request");
    });
  }

  function refuseUpgrade(socket: Socket, status: number, reason: string): void {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  async function onClientRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://gateway.invalid");
    const match = /^\/mcp\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/.exec(url.pathname);
    if (match === null) {
      writeJsonRpcError(response, 404, "not found");
      return;
    }
    if (!originAllowed(request.headers.origin, config.allowedOrigins)) {
      logger({ level: "warn", event: "origin-rejected" });
      writeJsonRpcError(response, 403, "Origin not allowed");
      return;
    }
    const daemonId = match[1] as string;
    const daemon = Object.hasOwn(config.daemons, daemonId) ? config.daemons[daemonId] : undefined;
    // An unknown daemon and a wrong token look the same, so ids cannot be probed.
    if (
      daemon === undefined ||
      !tokenMatches(bearerToken(request.headers.authorization), daemon.clientToken)
    ) {
      logger({ level: "warn", event: "client-token-rejected" });
      writeJsonRpcError(response, 401, "missing or wrong bearer token", {
        "www-authenticate": 'Bearer realm="sandport"',
      });
      return;
    }
    const method = request.method ?? "GET";
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      writeJsonRpcError(response, 405, "method not allowed", { allow: "GET, POST, DELETE" });
      return;
    }
    const body = method === "POST" ? await readBody(request, config.maxRequestBytes) : "";
    if (body === undefined) {
      // The unread rest of the body is not waited for: the connection closes after the answer.
      writeJsonRpcError(response, 413, `request body over ${config.maxRequestBytes} bytes`, {
        connection: "close",
      });
      return;
    }
    const link = links.get(daemonId);
    const rpcId = rpcIdOf(body);
    const refuse = (message: string) =>
      failPending(
        { response, rpcId, started: false, streaming: false, timer: setTimeout(() => {}, 0) },
        message,
      );
    if (closing) return refuse("the gateway is shutting down");
    if (link === undefined) return refuse(`daemon ${daemonId} is not connected`);
    if (link.draining) return refuse(`daemon ${daemonId} is shutting down`);
    const headers: Record<string, string> = {};
    for (const name of forwardedRequestHeaders) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const id = randomUUID();
    const pending: PendingRequest = {
      response,
      rpcId,
      started: false,
      streaming: false,
      timer: setTimeout(() => {
        link.pending.delete(id);
        if (link.socket.readyState === WebSocket.OPEN)
          link.socket.send(JSON.stringify({ type: "cancel", id }));
        failPending(pending, `daemon ${daemonId} did not answer within ${requestTimeoutMs} ms`);
      }, requestTimeoutMs),
    };
    link.pending.set(id, pending);
    response.on("close", () => {
      if (!link.pending.has(id)) return;
      // The client went away before the answer: the daemon stops the work.
      link.pending.delete(id);
      clearTimeout(pending.timer);
      if (link.socket.readyState === WebSocket.OPEN) link.socket.send(JSON.stringify({ type: "cancel", id }));
    });
    link.socket.send(JSON.stringify({ type: "request", id, method, headers, body }));
  }

  const server = createServer((request, response) => {
    onClientRequest(request, response).catch((error: unknown) => {
      logger({ level: "error", event: "gateway-request-failed", message: errorMessage(error) });
      writeJsonRpcError(response, 500, "internal error");
    });
  });
  server.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => {});
    const url = new URL(request.url ?? "/", "http://gateway.invalid");
    if (url.pathname !== "/tunnel" || closing) {
      refuseUpgrade(socket, 404, "Not Found");
      return;
    }
    const daemonId = request.headers[daemonIdHeader];
    const daemon =
      typeof daemonId === "string" && Object.hasOwn(config.daemons, daemonId)
        ? config.daemons[daemonId]
        : undefined;
    if (
      daemon === undefined ||
      !tokenMatches(bearerToken(request.headers.authorization), daemon.daemonToken)
    ) {
      logger({ level: "warn", event: "daemon-token-rejected" });
      refuseUpgrade(socket, 401, "Unauthorized");
      return;
    }
    webSockets.handleUpgrade(request, socket, head, (webSocket) =>
      onDaemonConnection(webSocket, daemonId as string),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = new URL(`http://${host}:${address.port}/`);
  const tunnelUrl = new URL(`ws://${host}:${address.port}/tunnel`);
  logger({ level: "info", event: "gateway-listening", url: url.href });
  let closed: Promise<void> | undefined;

  return {
    url,
    tunnelUrl,
    endpoint: (daemonId) => new URL(`mcp/${daemonId}`, url),
    connectedDaemons: () => [...links.keys()],
    waitForDaemon(daemonId, signal) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (links.has(daemonId)) {
            waiters.delete(check);
            signal?.removeEventListener("abort", onAbort);
            resolve();
          }
        };
        const onAbort = () => {
          waiters.delete(check);
          reject(signal?.reason ?? new Error("aborted"));
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        waiters.add(check);
        check();
      });
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const link of [...links.values()]) {
          dropLink(link, "the gateway is shutting down");
          link.socket.close(1001, "gateway shutting down");
        }
        for (const client of webSockets.clients) client.terminate();
        webSockets.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
