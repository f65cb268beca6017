/**
 * Allowlisted egress against services on this machine: an allowed *name* that resolves to a
 * loopback, private or metadata address must not reach it unless the allowlist names the address;
 * the connection goes to the address that was checked (no DNS rebinding), and every redirect hop
 * is checked. The services are HTTP servers this file starts on loopback; names resolve through
 * the provider's `lookup` seam, so nothing depends on /etc/hosts or leaves the machine.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Sandbox } from "@sandport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CloudflareIsolateProvider,
  createCloudflareIsolateProvider,
} from "../cloudflare-isolate-provider.ts";
import type { ResolvedAddress } from "./egress-proxy.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate-worker.ts";

/** Each case's own deadline: an engine start plus a few runs, on a busy machine. */
const caseTimeoutMs = 30_000;

interface HostService {
  server: Server;
  port: number;
  /** Requests it received: "Host header path". */
  seen: string[];
}

async function startService(host: string, port: number, answer: (request: IncomingMessage) => string) {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(`${request.headers.host} ${request.url}`);
    const location = answer(request);
    if (location.startsWith("redirect:")) {
      response.writeHead(302, { location: location.slice("redirect:".length) });
      response.end();
    } else {
      response.end(location);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, seen } satisfies HostService;
}

function stopService(service: HostService | undefined): Promise<void> {
  if (service === undefined) return Promise.resolve();
  service.server.closeAllConnections();
  return new Promise((resolve) => service.server.close(() => resolve()));
}

/** Lookups the provider made, by name, and the answers this file's resolver gives. */
const lookups: string[] = [];
let rebindAnswers = 0;
function testLookup(hostname: string): Promise<readonly ResolvedAddress[]> {
  lookups.push(hostname);
  const answers: Record<string, ResolvedAddress[]> = {
    localhost: [
      { address: "::1", family: 6 },
      { address: "127.0.0.1", family: 4 },
    ],
    "internal.test": [{ address: "127.0.0.1", family: 4 }],
    "inner.test": [{ address: "127.0.0.2", family: 4 }],
    "mapped.test": [{ address: "::ffff:127.0.0.1", family: 6 }],
    "metadata.test": [{ address: "169.254.169.254", family: 4 }],
  };
  if (hostname === "rebind.test") {
    // Checked once as 127.0.0.1 (listed); any later answer points at the unlisted 127.0.0.2.
    rebindAnswers += 1;
    return Promise.resolve([{ address: rebindAnswers === 1 ? "127.0.0.1" : "127.0.0.2", family: 4 }]);
  }
  const answer = answers[hostname];
  if (answer === undefined) return Promise.reject(new Error(`no test answer for ${hostname}`));
  return Promise.resolve(answer);
}

/** Runs `code` and returns its value; output and exit code are in the failure message. */
async function runValue(sandbox: Sandbox, code: string): Promise<unknown> {
  const result = await sandbox.runCode?.(code, { language: "javascript", timeoutMs: 10_000 });
  if (result === undefined) throw new Error("no runCode");
  expect(result.exitCode, `exit ${result.exitCode}: ${result.stdout}${result.stderr}`).toBe(0);
  return result.value;
}

/** Code that fetches `url` and returns the body, or `refused: <message>`. */
function fetchCode(url: string): string {
  return `try { const response = await fetch(${JSON.stringify(url)}); return 'reached: ' + (await response.text()); } catch (error) { return 'refused: ' + error.message; }`;
}

let service: HostService | undefined;
let decoy: HostService | undefined;

beforeAll(async () => {
  service = await startService("127.0.0.1", 0, (request) =>
    request.url === "/redirect" ? `redirect:http://inner.test:${service?.port}/secret` : "host service",
  );
  // Same port on another loopback address: what a second, unchecked resolution would reach.
  decoy = await startService("127.0.0.2", service.port, () => "decoy reached");
});

afterAll(async () => {
  await stopService(service);
  await stopService(decoy);
});

describe("allowlisted egress in local mode", () => {
  let provider: CloudflareIsolateProvider;

  beforeAll(() => {
    provider = createCloudflareIsolateProvider({ engines: 1, lookup: testLookup });
  });

  afterAll(async () => {
    await provider.dispose();
  });

  function port(): number {
    if (service === undefined) throw new Error("the host service did not start");
    return service.port;
  }

  it(
    "refuses localhost and a name resolving to 127.0.0.1, naming the host and the loopback address",
    async () => {
      await using sandbox = await provider.create({
        network: {
          egress: {
            allow: [
              `localhost:${port()}`,
              `internal.test:${port()}`,
              `mapped.test:${port()}`,
              "metadata.test",
            ],
          },
        },
      });
      const before = service?.seen.length;
      expect(await runValue(sandbox, fetchCode(`http://localhost:${port()}/`))).toMatch(
        /^refused: sandport: network access to localhost is not allowed: it resolves to (::1|127\.0\.0\.1), a loopback address/,
      );
      expect(await runValue(sandbox, fetchCode(`http://internal.test:${port()}/`))).toMatch(
        /^refused: sandport: network access to internal\.test is not allowed: it resolves to 127\.0\.0\.1, a loopback address/,
      );
      expect(await runValue(sandbox, fetchCode(`http://mapped.test:${port()}/`))).toMatch(
        /^refused: .*mapped\.test .*::ffff:127\.0\.0\.1, a loopback address/,
      );
      expect(await runValue(sandbox, fetchCode("http://metadata.test/latest/meta-data/"))).toMatch(
        /^refused: .*metadata\.test .*169\.254\.169\.254, a cloud metadata address/,
      );
      expect(service?.seen.length).toBe(before);
    },
    caseTimeoutMs,
  );

  it(
    "reaches a loopback service when the allowlist names 127.0.0.1, by address or by a name resolving to it",
    async () => {
      await using sandbox = await provider.create({
        network: { egress: { allow: [`127.0.0.1:${port()}`, `internal.test:${port()}`] } },
      });
      expect(await runValue(sandbox, fetchCode(`http://127.0.0.1:${port()}/direct`))).toBe(
        "reached: host service",
      );
      expect(await runValue(sandbox, fetchCode(`http://internal.test:${port()}/named`))).toBe(
        "reached: host service",
      );
      // The Host header keeps the name the code asked for.
      expect(service?.seen).toContain(`127.0.0.1:${port()} /direct`);
      expect(service?.seen).toContain(`internal.test:${port()} /named`);
    },
    caseTimeoutMs,
  );

  it(
    "connects to the address it checked, even when the name resolves elsewhere afterwards",
    async () => {
      await using sandbox = await provider.create({
        network: { egress: { allow: [`rebind.test:${port()}`, `127.0.0.1:${port()}`] } },
      });
      lookups.length = 0;
      rebindAnswers = 0;
      expect(await runValue(sandbox, fetchCode(`http://rebind.test:${port()}/pinned`))).toBe(
        "reached: host service",
      );
      expect(lookups.filter((name) => name === "rebind.test")).toHaveLength(1);
      expect(decoy?.seen).toEqual([]);
      // The next request resolves anew, to the unlisted address, and is refused.
      expect(await runValue(sandbox, fetchCode(`http://rebind.test:${port()}/again`))).toMatch(
        /^refused: .*rebind\.test .*127\.0\.0\.2, a loopback address/,
      );
      expect(decoy?.seen).toEqual([]);
    },
    caseTimeoutMs,
  );

  it(
    "refuses a redirect from an allowed service to a name resolving to an unlisted loopback address",
    async () => {
      await using sandbox = await provider.create({
        network: { egress: { allow: [`127.0.0.1:${port()}`, `inner.test:${port()}`] } },
      });
      expect(await runValue(sandbox, fetchCode(`http://127.0.0.1:${port()}/redirect`))).toMatch(
        /^refused: sandport: network access to inner\.test is not allowed: it resolves to 127\.0\.0\.2, a loopback address/,
      );
      expect(service?.seen).toContain(`127.0.0.1:${port()} /redirect`);
      expect(decoy?.seen).toEqual([]);
    },
    caseTimeoutMs,
  );

  it("refuses an allowlist entry that is neither a name, an address nor a range", async () => {
    await expect(provider.create({ network: { egress: { allow: ["10.0.0.0/33"] } } })).rejects.toMatchObject({
      code: "invalid_request",
    });
  });
});

describe("allowlisted egress through an isolate Worker without the local proxy (as deployed remotely)", () => {
  const token = "allowlist-egress-remote-token-3b8e";
  let isolateWorker: IsolateWorkerInstance | undefined;
  let provider: CloudflareIsolateProvider;

  beforeAll(async () => {
    isolateWorker = await startIsolateWorker({ token, maxCodeBytes: 1 << 20, maxFilesBytes: 1 << 20 });
    provider = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
  }, caseTimeoutMs);

  afterAll(async () => {
    await isolateWorker?.dispose();
  });

  it(
    "lets an address literal through only when an address or range entry holds it",
    async () => {
      const port = service?.port;
      await using listed = await provider.create({ network: { egress: { allow: [`127.0.0.0/8:${port}`] } } });
      expect(await runValue(listed, fetchCode(`http://127.0.0.1:${port}/remote`))).toBe(
        "reached: host service",
      );
      await using unlisted = await provider.create({ network: { egress: { allow: ["localhost"] } } });
      expect(await runValue(unlisted, fetchCode(`http://127.0.0.1:${port}/remote-refused`))).toBe(
        "refused: sandport: network access to 127.0.0.1 is not allowed; this sandbox may reach only localhost",
      );
      expect(service?.seen).not.toContain(`127.0.0.1:${port} /remote-refused`);
    },
    caseTimeoutMs,
  );
});
