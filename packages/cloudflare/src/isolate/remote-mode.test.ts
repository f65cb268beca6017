/**
 * Remote mode: settings checks, the bearer token against a real bridge on loopback, and the
 * bridge's failures (through msw) mapped to sandport errors without the token in any message.
 */
import { expectSandportError } from "@sandport/contract";
import { SandportError } from "@sandport/core";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "../cloudflare-isolate-provider.ts";
import { type BridgeWorkerInstance, startBridgeWorker } from "./bridge-worker.ts";

const token = "remote-mode-token-5d1e0c";

/** Every message along the error's cause chain. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current !== undefined && current !== null; current = (current as Error).cause) {
    parts.push(current instanceof Error ? current.message : JSON.stringify(current));
    if (parts.length > 10) break;
  }
  return parts.join(" | ");
}

describe("remote mode settings", () => {
  it("constructs without a URL or token and fails at first use naming the setting and env var", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote" });
    const previous = { url: process.env.SANDPORT_BRIDGE_URL, token: process.env.SANDPORT_BRIDGE_TOKEN };
    delete process.env.SANDPORT_BRIDGE_URL;
    delete process.env.SANDPORT_BRIDGE_TOKEN;
    try {
      const noUrl = await expectSandportError(() => provider.create({}), "config_invalid");
      expect(noUrl.message).toContain("SANDPORT_BRIDGE_URL");
      const noToken = await expectSandportError(
        () => createCloudflareIsolateProvider({ mode: "remote", url: "https://bridge.test" }).create({}),
        "config_invalid",
      );
      expect(noToken.message).toContain("SANDPORT_BRIDGE_TOKEN");
    } finally {
      if (previous.url !== undefined) process.env.SANDPORT_BRIDGE_URL = previous.url;
      if (previous.token !== undefined) process.env.SANDPORT_BRIDGE_TOKEN = previous.token;
    }
  });

  it("refuses a token that cannot be a header value, without quoting it", async () => {
    const unsafe = "secret-part\nsecond-line";
    const provider = createCloudflareIsolateProvider({
      mode: "remote",
      url: "https://bridge.test",
      token: unsafe,
    });
    const error = await expectSandportError(() => provider.create({}), "config_invalid");
    expect(messages(error)).not.toContain("secret-part");
  });

  it("refuses plain http except to loopback, so the token never travels in clear", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: "http://bridge.example", token });
    const error = await expectSandportError(() => provider.create({}), "config_invalid");
    expect(messages(error)).not.toContain(token);
  });
});

describe("remote mode against a loopback bridge", () => {
  let bridge: BridgeWorkerInstance;

  beforeAll(async () => {
    bridge = await startBridgeWorker({ token, maxCodeBytes: 1 << 20, maxFilesBytes: 1 << 20 });
  });

  afterAll(() => bridge.dispose());

  it("maps a wrong token to authentication without the token in the message", async () => {
    const wrong = "wrong-token-that-must-not-leak";
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token: wrong });
    const error = await expectSandportError(() => provider.create({}), "authentication");
    expect(error.isRetryable).toBe(false);
    expect(messages(error)).not.toContain(wrong);
  });

  it("keeps state in the bridge: another provider instance connects by id and sees the files", async () => {
    const first = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    const second = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    await using sandbox = await first.create({ env: { GREETING: "hi" } });
    await sandbox.runCode?.(
      'import { writeFileSync } from "node:fs"; writeFileSync("state.txt", process.env.GREETING);',
      {
        language: "javascript",
      },
    );
    const again = await second.connect(sandbox.id);
    expect(new TextDecoder().decode(await again.readFile("state.txt"))).toBe("hi");
    const result = await again.runCode?.(
      'import { readFileSync } from "node:fs"; return readFileSync("state.txt", "utf8");',
      {
        language: "javascript",
      },
    );
    expect(result?.value).toBe("hi");
  });

  it("lists the deployment's live sandboxes by label, from any provider instance", async () => {
    const first = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    const second = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    const label = { "list-test": String(Date.now()) };
    const kept = await first.create({ labels: { ...label, role: "kept" } });
    const gone = await first.create({ labels: { ...label, role: "gone" } });
    await gone.destroy();
    const listed: string[] = [];
    for await (const info of second.list({ labels: label })) listed.push(info.id);
    expect(listed).toEqual([kept.id]);
    const byRole: string[] = [];
    for await (const info of second.list({ labels: { role: "kept", ...label } })) byRole.push(info.id);
    expect(byRole).toEqual([kept.id]);
    await kept.destroy();
    for await (const info of second.list({ labels: label })) throw new Error(`${info.id} was destroyed`);
  });

  it("ends a sandbox at its ttlMs through the Durable Object's alarm", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    const sandbox = await provider.create({ ttlMs: 300 });
    await sandbox.writeFile("short-lived.txt", "x");
    let gone = false;
    for (let attempt = 0; attempt < 40 && !gone; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      gone = await provider.connect(sandbox.id).then(
        () => false,
        (error: unknown) => SandportError.isInstance(error) && error.code === "not_found",
      );
    }
    expect(gone).toBe(true);
  });

  it("refuses a write past the bridge's file limit with quota_exceeded", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: bridge.url.href, token });
    await using sandbox = await provider.create({});
    await expectSandportError(
      () => sandbox.writeFile("big.bin", new Uint8Array((1 << 20) + 1)),
      "quota_exceeded",
    );
  });
});

describe("remote mode faults", () => {
  const base = "https://bridge.test";
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  const provider = () => createCloudflareIsolateProvider({ mode: "remote", url: base, token });
  const onCreate = (resolver: () => Response) => server.use(http.post(`${base}/v1/sandboxes`, resolver));

  it("sends the token as a bearer header and nowhere else", async () => {
    let seen: Request | undefined;
    server.use(
      http.post(`${base}/v1/sandboxes`, ({ request }) => {
        seen = request.clone();
        return HttpResponse.json(
          { id: "3f1c6a0e-7d4b-4e8a-9c2d-5b6a7e8f9a0b", createdAt: 1, labels: {} },
          { status: 201 },
        );
      }),
    );
    const sandbox = await provider().create({ labels: { team: "a" } });
    expect(sandbox.id).toBe("cloudflare-isolate:3f1c6a0e-7d4b-4e8a-9c2d-5b6a7e8f9a0b");
    expect(seen?.headers.get("authorization")).toBe(`Bearer ${token}`);
    const body = await seen?.text();
    expect(body).not.toContain(token);
    expect(JSON.parse(body ?? "{}")).toMatchObject({ egress: "none", labels: { team: "a" }, env: {} });
  });

  it("maps 429 with Retry-After to rate_limited with retryAfterMs", async () => {
    onCreate(() => new HttpResponse("slow down", { status: 429, headers: { "retry-after": "7" } }));
    const error = await expectSandportError(() => provider().create({}), "rate_limited");
    expect(error).toMatchObject({ retryAfterMs: 7000, isRetryable: true });
  });

  it("maps 5xx to a retryable provider_unavailable", async () => {
    onCreate(() => HttpResponse.json({ error: { code: "internal", message: "boom" } }, { status: 502 }));
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error).toMatchObject({ code: "provider_unavailable", isRetryable: true });
  });

  it("maps a bridge without its token secret to a provider_unavailable that is not retryable", async () => {
    onCreate(() =>
      HttpResponse.json({ error: { code: "not_configured", message: "no secret" } }, { status: 503 }),
    );
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error).toMatchObject({ code: "provider_unavailable", isRetryable: false });
  });

  it("maps an HTML page with status 200 to provider_unavailable and keeps the cause", async () => {
    onCreate(() => new HttpResponse("<html><body>Just a moment...</body></html>", { status: 200 }));
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("maps malformed JSON to provider_unavailable and keeps the cause", async () => {
    onCreate(() => HttpResponse.json({ unexpected: true }, { status: 201 }));
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error.cause).toBeDefined();
  });

  it("maps a connection failure to a retryable provider_unavailable", async () => {
    onCreate(() => HttpResponse.error());
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error).toMatchObject({ code: "provider_unavailable", isRetryable: true });
    expect(messages(error)).not.toContain(token);
  });
});
