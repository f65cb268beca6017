/**
 * `serveHttp`: the sandbox tools over Streamable HTTP, bound to loopback by default. Every request
 * needs the bearer token; a request carrying a browser `Origin` that is not listed is refused, and
 * on loopback the `Host` header must name loopback too (DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler } from "@modelcontextprotocol/server";
import { ConfigInvalidError } from "@sandport/core";
import { type DaemonLogger, errorMessage, silentLogger } from "./daemon-log.ts";
import {
  bearerToken,
  hostHeaderIsLoopback,
  isLoopbackHost,
  originAllowed,
  tokenMatches,
  writeJsonRpcError,
} from "./request-guards.ts";
import type { SandboxMcpServer } from "./sandbox-mcp-server.ts";

/** Options of {@link serveHttp}. */
export interface ServeHttpOptions {
  server: SandboxMcpServer;
  /** Bearer token every request must carry (already resolved from `${env:...}` / `${file:...}`). */
  token: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default `/mcp`. */
  path?: string;
  /** Browser origins allowed, e.g. `http://localhost:5173` (default none). */
  allowedOrigins?: readonly string[];
  /** Allow a non-loopback `host` (default false). */
  allowRemote?: boolean;
  /** Largest request body, bytes (default 4 MiB). */
  maxRequestBytes?: number;
  logger?: DaemonLogger;
}

/** A running HTTP server. */
export interface HttpServing {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  readonly url: URL;
  /** Stops taking requests, cancels those in flight and ends the session (its sandboxes are destroyed). */
  close(): Promise<void>;
}

/** Starts serving; resolves once the port is bound. */
export async function serveHttp(options: ServeHttpOptions): Promise<HttpServing> {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopbackHost(host);
  if (!loopback && options.allowRemote !== true) {
    throw new ConfigInvalidError(`tunnel.http.host: ${host} is not loopback; set allowRemote to bind it`);
  }
  if (options.token === "") throw new ConfigInvalidError("tunnel.http.token: must not be empty");
  const path = options.path ?? "/mcp";
  const allowedOrigins = options.allowedOrigins ?? [];
  const logger = options.logger ?? silentLogger;
  const maxRequestBytes = options.maxRequestBytes ?? 4 * 1024 * 1024;
  const session = options.server.openSession("http");
  const handler = createMcpHandler(session.factory, {
    maxRequestBodySize: maxRequestBytes,
    onerror: (error) => logger({ level: "debug", event: "mcp-request-failed", message: errorMessage(error) }),
  });
  const serveNode = toNodeHandler(handler, { maxRequestBodySize: maxRequestBytes });

  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    if (loopback && !hostHeaderIsLoopback(request.headers.host)) {
      writeJsonRpcError(response, 403, "Host header must name loopback");
      return;
    }
    if (!originAllowed(request.headers.origin, allowedOrigins)) {
      logger({ level: "warn", event: "origin-rejected" });
      writeJsonRpcError(response, 403, "Origin not allowed");
      return;
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== path) {
      writeJsonRpcError(response, 404, "not found");
      return;
    }
    if (!tokenMatches(bearerToken(request.headers.authorization), options.token)) {
      logger({ level: "warn", event: "token-rejected" });
      writeJsonRpcError(response, 401, "missing or wrong bearer token", {
        "www-authenticate": 'Bearer realm="sandport"',
      });
      return;
    }
    serveNode(request, response).catch((error: unknown) => {
      logger({ level: "error", event: "http-request-failed", message: errorMessage(error) });
      writeJsonRpcError(response, 500, "internal error");
    });
  };

  const server = createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = new URL(`http://${urlHost}:${address.port}${path}`);
  logger({ level: "info", event: "http-listening", url: url.href });
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await handler.close();
        server.closeAllConnections();
        await stopped;
        await session.close();
      })();
      return closing;
    },
  };
}
