/**
 * Ports of a sandbox exposed on the host's loopback: each connection to the host port is relayed
 * through the sandbox's supervisor to the same port on the sandbox's own loopback, so the sandbox
 * keeps no host network.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { SupervisorConnection } from "./supervisor-connection.ts";

/** The host-side listeners of one provider instance, by sandbox. */
export class ExposedPorts {
  readonly #servers = new Map<string, Map<number, Promise<{ server: Server; url: string }>>>();

  /**
   * The loopback URL for `port` of sandbox `vendorId`, listening from now on; `supervisor` gives
   * the sandbox's current supervisor (a new one after a restart).
   */
  expose(vendorId: string, port: number, supervisor: () => Promise<SupervisorConnection>): Promise<string> {
    let ports = this.#servers.get(vendorId);
    if (ports === undefined) {
      ports = new Map();
      this.#servers.set(vendorId, ports);
    }
    let listening = ports.get(port);
    if (listening === undefined) {
      listening = listen(port, supervisor);
      ports.set(port, listening);
      const current = ports;
      listening.catch(() => current.delete(port));
    }
    return listening.then(({ url }) => url);
  }

  /** Stops listening for a sandbox (destroy) and drops its open connections. */
  async close(vendorId: string): Promise<void> {
    const ports = this.#servers.get(vendorId);
    this.#servers.delete(vendorId);
    for (const listening of ports?.values() ?? []) {
      const { server } = await listening.catch(() => ({ server: undefined }));
      await new Promise<void>((resolve) => {
        if (server === undefined) return resolve();
        server.close(() => resolve());
        server.emit("sandport-close");
      });
    }
  }

  /** Stops every listener. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#servers.keys()].map((vendorId) => this.close(vendorId)));
  }
}

async function listen(
  port: number,
  supervisor: () => Promise<SupervisorConnection>,
): Promise<{ server: Server; url: string }> {
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    void relay(socket, port, supervisor);
  });
  server.on("sandport-close", () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the port listener has no address");
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/** Relays one host connection to the sandbox's port; nothing listening there resets it at once. */
async function relay(socket: Socket, port: number, supervisor: () => Promise<SupervisorConnection>) {
  try {
    const connection = await supervisor();
    const inside = await connection.openPortConnection(port, (chunk) => {
      if (chunk.byteLength === 0) socket.end();
      else socket.write(chunk);
    });
    socket.on("data", (chunk: Buffer) => inside.write(chunk));
    socket.on("end", () => inside.end());
    socket.on("close", () => inside.close());
    socket.resume();
  } catch {
    socket.resetAndDestroy();
  }
}
