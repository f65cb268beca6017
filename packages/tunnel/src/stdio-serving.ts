/**
 * `serveStdio`: the sandbox tools over standard input and output, for local MCP clients that
 * start the daemon as a child process. The connection is one session: when input ends, the
 * sandboxes it created are destroyed.
 */
import type { Readable, Writable } from "node:stream";
import { StdioServerTransport, serveStdio as serveSdkStdio } from "@modelcontextprotocol/server/stdio";
import type { SandboxMcpServer } from "./sandbox-mcp-server.ts";

/** Options of {@link serveStdio}. */
export interface ServeStdioOptions {
  server: SandboxMcpServer;
  /** Default `process.stdin`. */
  input?: Readable;
  /** Default `process.stdout`. */
  output?: Writable;
  /** Largest message read, bytes (default 16 MiB). */
  maxMessageBytes?: number;
}

/** A running stdio server. */
export interface StdioServing {
  /** Resolves once input has ended and the session's sandboxes are destroyed. */
  readonly closed: Promise<void>;
  /** Stops serving and ends the session. */
  close(): Promise<void>;
}

/** Serves the tools over stdio until input ends or `close()` is called. */
export function serveStdio(options: ServeStdioOptions): StdioServing {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const session = options.server.openSession("stdio");
  const transport = new StdioServerTransport(input, output, {
    maxBufferSize: options.maxMessageBytes ?? 16 * 1024 * 1024,
  });
  const handle = serveSdkStdio(session.factory, { transport });
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await handle.close().catch(() => {});
      await session.close();
      resolveClosed();
    })();
    return closing;
  };
  input.once("end", () => void close());
  input.once("close", () => void close());
  return { closed, close };
}
