import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandportError } from "./errors.ts";
import { createHttpClient } from "./http-client.ts";
import { errorFromHttpStatus, retryAfterMs } from "./http-errors.ts";
import { parseProviderOptions } from "./provider-options.ts";
import { matchesLabels } from "./sandbox-labels.ts";

let server: Server;
let baseUrl = "";
const routes = new Map<string, (request: IncomingMessage, response: ServerResponse) => void>([
  ["/ok", (_request, response) => response.end("fine")],
  ["/big", (_request, response) => response.end("x".repeat(2048))],
  ["/redirect", (_request, response) => response.writeHead(302, { location: "/ok" }).end()],
  ["/slow", () => {}],
  ["/stalled-body", (_request, response) => response.writeHead(200).write("partial")],
  ["/headers", (request, response) => response.end(String(request.headers.authorization))],
]);

beforeAll(async () => {
  server = createServer((request, response) => routes.get(request.url ?? "")?.(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<SandportError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!SandportError.isInstance(error)) throw new Error(`expected a SandportError, got ${String(error)}`);
  return error;
}

describe("createHttpClient", () => {
  const client = createHttpClient({
    baseUrl: "",
    providerId: "vendor",
    headers: () => ({ authorization: "Bearer token-123" }),
    secrets: () => ["token-123"],
    timeoutMs: 300,
    maxBodyBytes: 1024,
  });
  const at = (path: string) => ({ method: "GET", path: `${baseUrl}${path}`, what: `GET ${path}` });

  it("sends the credentials lazily and reads the body", async () => {
    const response = await client.send(at("/headers"));
    expect(response.status).toBe(200);
    expect(new TextDecoder().decode(response.body)).toBe("Bearer token-123");
  });

  it("refuses a redirect rather than carrying credentials elsewhere", async () => {
    const error = await failure(client.send(at("/redirect")));
    expect(error.code).toBe("provider_unavailable");
  });

  it("caps the response body with output_limit", async () => {
    expect((await failure(client.send(at("/big")))).code).toBe("output_limit");
  });

  it("gives up at its deadline with timeout, naming it", async () => {
    const error = await failure(client.send(at("/slow")));
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("300 ms");
  });

  it("counts a body that stalls after the headers against the deadline", async () => {
    expect((await failure(client.send(at("/stalled-body")))).code).toBe("timeout");
  });

  it("reports an aborted request as aborted", async () => {
    const controller = new AbortController();
    const pending = client.send({ ...at("/slow"), signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).code).toBe("aborted");
  });

  it("keeps secrets out of its messages, also when the URL carries them", async () => {
    const leaky = createHttpClient({
      baseUrl: `http://user:hunter2@127.0.0.1:1`,
      providerId: "vendor",
      secrets: () => ["hunter2"],
    });
    const error = await failure(leaky.send({ method: "GET", path: "/x", what: "GET /x" }));
    expect(error.message).not.toContain("hunter2");
    expect(leaky.redact("a hunter2 b")).toBe("a [redacted] b");
  });
});

describe("errorFromHttpStatus", () => {
  const map = (status: number, retryAfter?: string) =>
    errorFromHttpStatus({
      status,
      what: "call:",
      providerId: "vendor",
      ...(retryAfter ? { retryAfter } : {}),
    });

  it("maps each status to one code, 413 to output_limit", () => {
    expect(
      [400, 401, 403, 404, 408, 413, 429, 500, 503, 418].map((status) => [status, map(status).code]),
    ).toEqual([
      [400, "invalid_request"],
      [401, "authentication"],
      [403, "permission_denied"],
      [404, "not_found"],
      [408, "timeout"],
      [413, "output_limit"],
      [429, "rate_limited"],
      [500, "provider_unavailable"],
      [503, "provider_unavailable"],
      [418, "provider_unavailable"],
    ]);
  });

  it("keeps Retry-After, and retries 429 and 5xx but not an unknown status", () => {
    const limited = map(429, "3");
    expect(limited.retryAfterMs).toBe(3000);
    expect(limited.isRetryable).toBe(true);
    expect(map(503).isRetryable).toBe(true);
    expect(map(418).isRetryable).toBe(false);
    expect(map(401).providerId).toBe("vendor");
  });

  it("reads Retry-After as seconds or as a date", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs("1.5")).toBeUndefined();
    expect(retryAfterMs("-3")).toBeUndefined();
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe("parseProviderOptions and matchesLabels", () => {
  it("refuses any option for a provider that takes none, naming the keys", () => {
    expect(() => parseProviderOptions("box", { providerOptions: { box: { turbo: true } } })).toThrow(
      /providerOptions\.box: .*turbo/,
    );
    expect(parseProviderOptions("box", { providerOptions: { other: { turbo: true } } })).toBeUndefined();
  });

  it("matches labels exactly, never through inherited keys", () => {
    expect(matchesLabels({ a: "1", b: "2" }, { a: "1" })).toBe(true);
    expect(matchesLabels({ a: "1" }, { a: "2" })).toBe(false);
    expect(matchesLabels({}, { toString: "x" } as Record<string, string>)).toBe(false);
    expect(matchesLabels({ a: "1" }, undefined)).toBe(true);
  });
});
