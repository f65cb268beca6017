/** Helpers for the tunnel tests: an MCP client, a provider that counts its sandboxes, deadlines. */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Sandbox, SandboxProvider } from "@sandport/core";

/** Connects the official MCP client to a Streamable HTTP endpoint with a bearer token. */
export async function connectClient(url: URL, token: string): Promise<Client> {
  const client = new Client({ name: "sandport-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A provider wrapper counting sandboxes created and still alive. */
export interface TrackedProvider extends SandboxProvider {
  readonly created: number;
  readonly live: number;
}

/** Wraps `provider` so tests can see how many sandboxes were created and are still alive. */
export function trackSandboxes(provider: SandboxProvider): TrackedProvider {
  let created = 0;
  const alive = new Set<string>();
  const track = (sandbox: Sandbox): Sandbox => {
    created++;
    alive.add(sandbox.id);
    const destroy = async (options?: Parameters<Sandbox["destroy"]>[0]) => {
      await sandbox.destroy(options);
      alive.delete(sandbox.id);
    };
    // A proxy, not a copy: the sandbox's methods keep their own `this` (private fields).
    return new Proxy(sandbox, {
      get(target, key) {
        if (key === "destroy") return destroy;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  return {
    specificationVersion: provider.specificationVersion,
    providerId: provider.providerId,
    capabilities: provider.capabilities,
    create: async (request, options) => track(await provider.create(request, options)),
    connect: (sandboxId, options) => provider.connect(sandboxId, options),
    dispose: async () => provider.dispose?.(),
    get created() {
      return created;
    },
    get live() {
      return alive.size;
    },
  };
}

/** Polls `condition` until it holds; fails with `message` after `deadlineMs`. */
export async function waitUntil(
  condition: () => boolean,
  message: string,
  deadlineMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting until ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Rejects with `message` when `promise` has not settled within `deadlineMs`. */
export async function withDeadline<Value>(
  promise: Promise<Value>,
  deadlineMs: number,
  message: string,
): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${deadlineMs} ms: ${message}`)),
          deadlineMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
