/**
 * `connectTunnel`: the daemon dials the gateway over WebSocket (it never listens), announces its
 * id and version, and serves the MCP exchanges pushed down the socket through the same MCP handler
 * as loopback HTTP. Heartbeats detect a dead link; redialling uses full-jitter backoff with no
 * limit on attempts. Every byte from the gateway is treated as hostile: frames are size-checked
 * and validated, and what fails is logged (never its content) and answered with an error frame.
 */
import { createMcpHandler } from "@modelcontextprotocol/server";
import { ConfigInvalidError } from "@sandport/core";
import WebSocket from "ws";
import { type DaemonLogger, errorMessage, silentLogger } from "./daemon-log.ts";
import { ReconnectBackoff } from "./reconnect-backoff.ts";
import { isLoopbackHost } from "./request-guards.ts";
import { type SandboxMcpServer, tunnelVersion } from "./sandbox-mcp-server.ts";
import {
  daemonIdHeader,
  forwardedResponseHeaders,
  type GatewayFrame,
  gatewayFrameSchema,
  parseFrame,
  tunnelProtocol,
} from "./tunnel-frames.ts";
import { type FrameSink, type LedgerEntry, TunnelRequestLedger } from "./tunnel-request-ledger.ts";

/** Options of {@link connectTunnel}. */
export interface ConnectTunnelOptions {
  server: SandboxMcpServer;
  /** The gateway's daemon endpoint: `wss://...`, or `ws://` to a loopback address only. */
  url: string | URL;
  daemonId: string;
  /** Daemon token (already resolved from `${env:...}` / `${file:...}`); sent only in the handshake. */
  token: string;
  /** Ping interval, ms (default 15,000); a link silent for two intervals is dropped and redialled. */
  heartbeatMs?: number;
  /** Largest frame accepted from the gateway, bytes (default 8 MiB). */
  maxFrameBytes?: number;
  /** Backoff base, ms (default 1000). */
  reconnectBaseMs?: number;
  /** Backoff cap, ms (default 30,000). */
  reconnectCapMs?: number;
  /** A connection up this long resets the backoff, ms (default 30,000). */
  healthyAfterMs?: number;
  /**
   * A request whose link dropped is cancelled after this long unless the gateway delivers it again,
   * ms (default 5000); its sandbox is destroyed like any cancelled call's.
   */
  orphanGraceMs?: number;
  /** Requests served at once; more are answered `busy` (default 1024). */
  maxConcurrentRequests?: number;
  logger?: DaemonLogger;
  /** Called on every state change (tests and the CLI's status line). */
  onStatus?: (status: TunnelStatus) => void;
}

/** Where the tunnel stands. */
export interface TunnelStatus {
  state: "connecting" | "connected" | "waiting" | "draining" | "stopped";
  /** Connections opened so far. */
  connections: number;
  /** The HTTP status of the gateway's last refusal of the handshake (401 for a wrong token). */
  lastRejectedStatus?: number;
}

/** Options of {@link TunnelConnection.stop}. */
export interface StopOptions {
  /** Time in-flight calls get to finish before they are cancelled, ms (default 30,000; 0 cancels at once). */
  graceMs?: number;
}

/** A running tunnel. */
export interface TunnelConnection {
  readonly status: TunnelStatus;
  /** Requests being served. */
  readonly inFlight: number;
  /**
   * Stops taking new calls (the gateway is told, and new requests are refused), lets in-flight
   * calls finish within `graceMs`, cancels the rest, closes the link and ends the session (its
   * sandboxes are destroyed). A second call with a shorter grace cuts the wait short.
   */
  stop(options?: StopOptions): Promise<void>;
}

const chunkCharacters = 256 * 1024;

/** Dials the gateway and serves until `stop()`. Validates the URL at once; never throws later. */
export function connectTunnel(options: ConnectTunnelOptions): TunnelConnection {
  const url = new URL(options.url);
  if (url.protocol !== "wss:" && !(url.protocol === "ws:" && isLoopbackHost(url.hostname))) {
    throw new ConfigInvalidError(
      `tunnel.gateway.url: use wss:// (ws:// is allowed only to loopback), got ${url.protocol}//${url.host}`,
    );
  }
  const logger = options.logger ?? silentLogger;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxFrameBytes = options.maxFrameBytes ?? 8 * 1024 * 1024;
  const healthyAfterMs = options.healthyAfterMs ?? 30_000;
  const orphanGraceMs = options.orphanGraceMs ?? 5000;
  const maxConcurrent = options.maxConcurrentRequests ?? 1024;
  const backoff = new ReconnectBackoff({
    ...(options.reconnectBaseMs === undefined ? {} : { baseMs: options.reconnectBaseMs }),
    ...(options.reconnectCapMs === undefined ? {} : { capMs: options.reconnectCapMs }),
  });
  const session = options.server.openSession("tunnel");
  const handler = createMcpHandler(session.factory, {
    maxRequestBodySize: maxFrameBytes,
    onerror: (error) => logger({ level: "debug", event: "mcp-request-failed", message: errorMessage(error) }),
  });
  const ledger = new TunnelRequestLedger();
  const status: TunnelStatus = { state: "connecting", connections: 0 };
  let socket: WebSocket | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let graceCut: (() => void) | undefined;
  const running = new Set<Promise<void>>();

  const setState = (state: TunnelStatus["state"]) => {
    status.state = state;
    options.onStatus?.({ ...status });
  };

  const errorFrame = (id: string | null, code: string, message: string) =>
    JSON.stringify({ type: "error", id, code, message });

  async function serve(entry: LedgerEntry, frame: Extract<GatewayFrame, { type: "request" }>): Promise<void> {
    let started = false;
    try {
      const request = new Request("http://tunnel.invalid/mcp", {
        method: frame.method,
        headers: frame.headers,
        ...(frame.method === "POST" ? { body: frame.body } : {}),
        signal: entry.controller.signal,
      });
      const response = await handler.fetch(request);
      const headers: Record<string, string> = {};
      for (const name of forwardedResponseHeaders) {
        const value = response.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      ledger.emit(
        entry,
        JSON.stringify({ type: "response-start", id: entry.id, status: response.status, headers }),
      );
      started = true;
      if (response.body !== null) {
        const decoder = new TextDecoder();
        for await (const bytes of response.body) {
          const text = decoder.decode(bytes, { stream: true });
          for (let offset = 0; offset < text.length; offset += chunkCharacters) {
            ledger.emit(
              entry,
              JSON.stringify({
                type: "response-body",
                id: entry.id,
                chunk: text.slice(offset, offset + chunkCharacters),
              }),
            );
          }
        }
        const rest = decoder.decode();
        if (rest !== "")
          ledger.emit(entry, JSON.stringify({ type: "response-body", id: entry.id, chunk: rest }));
      }
      ledger.emit(entry, JSON.stringify({ type: "response-end", id: entry.id }));
    } catch (error) {
      logger({ level: "warn", event: "tunnel-request-failed", id: entry.id, message: errorMessage(error) });
      ledger.emit(
        entry,
        started
          ? JSON.stringify({ type: "response-end", id: entry.id })
          : errorFrame(
              entry.id,
              entry.controller.signal.aborted ? "cancelled" : "internal_error",
              "the daemon could not serve this request",
            ),
      );
    } finally {
      ledger.finish(entry);
    }
  }

  function onFrame(sink: FrameSink, data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      logger({ level: "warn", event: "frame-rejected", code: "malformed_frame", bytes: bytes.byteLength });
      sink(errorFrame(null, "malformed_frame", "binary frames are not part of the protocol"));
      return;
    }
    const parsed = parseFrame(bytes.toString("utf8"), gatewayFrameSchema, maxFrameBytes, bytes.byteLength);
    if ("rejection" in parsed) {
      const { rejection } = parsed;
      logger({
        level: "warn",
        event: "frame-rejected",
        code: rejection.code,
        id: rejection.id,
        bytes: bytes.byteLength,
      });
      sink(errorFrame(rejection.id, rejection.code, rejection.message));
      return;
    }
    const frame = parsed.frame;
    if (frame.type === "cancel") {
      const entry = ledger.running().find((candidate) => candidate.id === frame.id);
      entry?.controller.abort(new Error("cancelled by the gateway"));
      return;
    }
    if (stopping !== undefined) {
      sink(errorFrame(frame.id, "draining", "the daemon is shutting down and takes no new calls"));
      return;
    }
    if (ledger.running().length >= maxConcurrent) {
      sink(errorFrame(frame.id, "busy", `the daemon is serving ${maxConcurrent} requests already`));
      return;
    }
    const { entry, duplicate } = ledger.deliver(frame.id, sink);
    if (duplicate) {
      logger({ level: "info", event: "request-duplicate", id: frame.id });
      return;
    }
    const serving = serve(entry, frame);
    running.add(serving);
    serving.finally(() => running.delete(serving));
  }

  function dial(): void {
    reconnectTimer = undefined;
    if (stopping !== undefined) return;
    setState("connecting");
    const link = new WebSocket(url, {
      headers: { authorization: `Bearer ${options.token}`, [daemonIdHeader]: options.daemonId },
      // Past the frame limit a frame is refused and answered; far past it the link is cut unread.
      maxPayload: maxFrameBytes * 2 + 64 * 1024,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
      followRedirects: false,
    });
    socket = link;
    let lastSeen = Date.now();
    let heartbeat: NodeJS.Timeout | undefined;
    let healthy: NodeJS.Timeout | undefined;
    let ended = false;
    const sink: FrameSink = (frame) => {
      if (link.readyState === WebSocket.OPEN) link.send(frame);
    };
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(healthy);
      if (socket === link) socket = undefined;
      for (const entry of ledger.detach(sink)) {
        entry.orphanTimer = setTimeout(
          () => entry.controller.abort(new Error("the tunnel dropped")),
          orphanGraceMs,
        );
        entry.orphanTimer.unref();
      }
      if (stopping === undefined) {
        const delay = backoff.nextDelayMs();
        setState("waiting");
        logger({
          level: "info",
          event: "tunnel-reconnect-scheduled",
          delayMs: delay,
          attempt: backoff.attempt,
        });
        reconnectTimer = setTimeout(dial, delay);
      }
    };
    link.on("open", () => {
      status.connections++;
      lastSeen = Date.now();
      link.send(
        JSON.stringify({
          type: "hello",
          protocol: tunnelProtocol,
          daemonId: options.daemonId,
          version: tunnelVersion,
        }),
      );
      setState("connected");
      logger({ level: "info", event: "tunnel-connected", daemonId: options.daemonId });
      healthy = setTimeout(() => backoff.reset(), healthyAfterMs);
      heartbeat = setInterval(() => {
        if (Date.now() - lastSeen > heartbeatMs * 2) {
          logger({ level: "warn", event: "tunnel-heartbeat-missed" });
          link.terminate();
          return;
        }
        link.ping();
      }, heartbeatMs);
    });
    link.on("message", (data, isBinary) => {
      lastSeen = Date.now();
      try {
        onFrame(sink, data, isBinary);
      } catch (error) {
        logger({ level: "error", event: "frame-handling-failed", message: errorMessage(error) });
      }
    });
    link.on("pong", () => {
      lastSeen = Date.now();
    });
    link.on("ping", () => {
      lastSeen = Date.now();
    });
    link.on("unexpected-response", (request, response) => {
      status.lastRejectedStatus = response.statusCode;
      logger({ level: "warn", event: "tunnel-rejected", status: response.statusCode ?? null });
      response.resume();
      request.destroy();
      end();
    });
    link.on("error", (error) => {
      logger({ level: "warn", event: "tunnel-error", message: errorMessage(error) });
    });
    link.on("close", (code) => {
      if (!ended) logger({ level: "info", event: "tunnel-disconnected", code });
      end();
    });
  }

  dial();

  return {
    get status() {
      return { ...status };
    },
    get inFlight() {
      return ledger.running().length;
    },
    stop(stopOptions = {}) {
      const graceMs = stopOptions.graceMs ?? 30_000;
      if (stopping !== undefined) {
        if (graceMs === 0) graceCut?.();
        return stopping;
      }
      stopping = (async () => {
        clearTimeout(reconnectTimer);
        setState("draining");
        const link = socket;
        if (link?.readyState === WebSocket.OPEN) link.send(JSON.stringify({ type: "draining" }));
        logger({ level: "info", event: "tunnel-draining", inFlight: ledger.running().length });
        if (running.size > 0 && graceMs > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.allSettled([...running]),
            new Promise<void>((resolve) => {
              graceCut = resolve;
              timer = setTimeout(resolve, graceMs);
            }),
          ]);
          clearTimeout(timer);
        }
        for (const entry of ledger.running())
          entry.controller.abort(new Error("the daemon is shutting down"));
        await Promise.allSettled([...running]);
        await handler.close().catch(() => {});
        if (socket !== undefined) {
          const closing = socket;
          await new Promise<void>((resolve) => {
            if (closing.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => {
              closing.terminate();
              resolve();
            }, 2000);
            closing.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            closing.close(1000, "daemon stopping");
          });
        }
        await session.close();
        setState("stopped");
        logger({ level: "info", event: "tunnel-stopped" });
      })();
      return stopping;
    },
  };
}
