/**
 * Remote mode: settings checks, the bearer token against a real isolate Worker on loopback, and the
 * Worker's failures (through msw) mapped to sandport errors without the token in any message.
 */
import { expectSandportError } from "@sandport/contract";
import { SandportError } from "@sandport/core";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "../cloudflare-isolate-provider.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate-worker.ts";

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

/** The remote-mode environment variables, current and older names. */
const environmentNames = [
  "SANDPORT_ISOLATE_WORKER_URL",
  "SANDPORT_ISOLATE_WORKER_TOKEN",
  "SANDPORT_BRIDGE_URL",
  "SANDPORT_BRIDGE_TOKEN",
] as const;

/** Runs `use` with exactly `values` of the remote-mode variables set, restoring them afterwards. */
async function withEnvironment(
  values: Partial<Record<(typeof environmentNames)[number], string>>,
  use: () => Promise<void>,
): Promise<void> {
  const previous = Object.fromEntries(environmentNames.map((name) => [name, process.env[name]]));
  for (const name of environmentNames) {
    const value = values[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    await use();
  } finally {
    for (const name of environmentNames) {
      const value = previous[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe("remote mode settings", () => {
  it("constructs without a URL or token and fails at first use naming the setting and env var", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote" });
    await withEnvironment({}, async () => {
      const noUrl = await expectSandportError(() => provider.create({}), "config_invalid");
      expect(noUrl.message).toContain("SANDPORT_ISOLATE_WORKER_URL");
      const noToken = await expectSandportError(
        () =>
          createCloudflareIsolateProvider({ mode: "remote", url: "https://isolate-worker.test" }).create({}),
        "config_invalid",
      );
      expect(noToken.message).toContain("SANDPORT_ISOLATE_WORKER_TOKEN");
    });
  });

  it("refuses a token that cannot be a header value, without quoting it", async () => {
    const unsafe = "secret-part\nsecond-line";
    const provider = createCloudflareIsolateProvider({
      mode: "remote",
      url: "https://isolate-worker.test",
      token: unsafe,
    });
    const error = await expectSandportError(() => provider.create({}), "config_invalid");
    expect(messages(error)).not.toContain("secret-part");
  });

  it("refuses plain http except to loopback, so the token never travels in clear", async () => {
    const provider = createCloudflareIsolateProvider({
      mode: "remote",
      url: "http://isolate-worker.example",
      token,
    });
    const error = await expectSandportError(() => provider.create({}), "config_invalid");
    expect(messages(error)).not.toContain(token);
  });
});

describe("remote mode against a loopback isolate Worker", () => {
  let isolateWorker: IsolateWorkerInstance;

  beforeAll(async () => {
    isolateWorker = await startIsolateWorker({ token, maxCodeBytes: 1 << 20, maxFilesBytes: 1 << 20 });
  });

  afterAll(() => isolateWorker.dispose());

  it("maps a wrong token to authentication without the token in the message", async () => {
    const wrong = "wrong-token-that-must-not-leak";
    const provider = createCloudflareIsolateProvider({
      mode: "remote",
      url: isolateWorker.url.href,
      token: wrong,
    });
    const error = await expectSandportError(() => provider.create({}), "authentication");
    expect(error.isRetryable).toBe(false);
    expect(messages(error)).not.toContain(wrong);
  });

  it("keeps state in the isolate Worker: another provider instance connects by id and sees the files", async () => {
    const first = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
    const second = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
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
    const first = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
    const second = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
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
    // Labels match as own keys only: an inherited name is no label.
    for await (const info of second.list({ labels: { ...label, toString: "x" } })) {
      throw new Error(`${info.id} matched an inherited key`);
    }
  });

  it("ends a sandbox at its ttlMs through the Durable Object's alarm", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
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

  it("refuses a write past the isolate Worker's file limit with output_limit, as local mode does", async () => {
    const provider = createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
    await using sandbox = await provider.create({});
    const error = await expectSandportError(
      () => sandbox.writeFile("big.bin", new Uint8Array((1 << 20) + 1)),
      "output_limit",
    );
    expect(error.isRetryable).toBe(false);
    expect(error.cause).toMatchObject({ status: 413, code: "files_too_large" });
  });
});

describe("remote mode faults", () => {
  const base = "https://isolate-worker.test";
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

  it("maps an isolate Worker without its token secret to a provider_unavailable that is not retryable", async () => {
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

  it("reads the URL and token from SANDPORT_ISOLATE_WORKER_*, and still from the older SANDPORT_BRIDGE_*", async () => {
    const seen: (string | null)[] = [];
    server.use(
      http.post(`${base}/v1/sandboxes`, ({ request }) => {
        seen.push(request.headers.get("authorization"));
        return HttpResponse.json({ id: "3f1c6a0e-7d4b-4e8a-9c2d-5b6a7e8f9a0b", createdAt: 1, labels: {} });
      }),
    );
    const fromEnvironment = () => createCloudflareIsolateProvider({ mode: "remote" }).create({});
    await withEnvironment(
      { SANDPORT_ISOLATE_WORKER_URL: base, SANDPORT_ISOLATE_WORKER_TOKEN: "new-name" },
      () => fromEnvironment().then(() => {}),
    );
    await withEnvironment({ SANDPORT_BRIDGE_URL: base, SANDPORT_BRIDGE_TOKEN: "old-name" }, () =>
      fromEnvironment().then(() => {}),
    );
    await withEnvironment(
      {
        SANDPORT_ISOLATE_WORKER_TOKEN: "new-name",
        SANDPORT_BRIDGE_URL: base,
        SANDPORT_BRIDGE_TOKEN: "old-name",
      },
      () => fromEnvironment().then(() => {}),
    );
    expect(seen).toEqual(["Bearer new-name", "Bearer old-name", "Bearer new-name"]);
  });

  it("maps 413 to output_limit, as every adapter does", async () => {
    onCreate(() =>
      HttpResponse.json({ error: { code: "files_too_large", message: "too large" } }, { status: 413 }),
    );
    const error = await expectSandportError(() => provider().create({}), "output_limit");
    expect(error.isRetryable).toBe(false);
    expect(messages(error)).not.toContain(token);
  });

  it("maps 503 with Retry-After to a retryable provider_unavailable with retryAfterMs", async () => {
    onCreate(() => new HttpResponse("busy", { status: 503, headers: { "retry-after": "3" } }));
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error).toMatchObject({ retryAfterMs: 3000, isRetryable: true });
    expect(messages(error)).not.toContain(token);
  });

  it("maps a status it does not know to a provider_unavailable that is not retryable", async () => {
    onCreate(() => new HttpResponse("teapot", { status: 418 }));
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error.isRetryable).toBe(false);
    expect(error.message).toContain("HTTP 418");
    expect(messages(error)).not.toContain(token);
  });

  it("refuses a redirect, so the token never reaches another origin", async () => {
    let reached = false;
    server.use(
      http.post(
        `${base}/v1/sandboxes`,
        () =>
          new HttpResponse(null, {
            status: 307,
            headers: { location: "https://elsewhere.test/v1/sandboxes" },
          }),
      ),
      http.all("https://elsewhere.test/*", () => {
        reached = true;
        return HttpResponse.json({ id: "x", createdAt: 1, labels: {} });
      }),
    );
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(reached).toBe(false);
    expect(messages(error)).not.toContain(token);
  });

  it("fails an answer over the size cap with output_limit instead of reading it whole", async () => {
    // A small maxFilesBytes leaves the smallest cap: 64 MiB.
    const capped = createCloudflareIsolateProvider({ mode: "remote", url: base, token, maxFilesBytes: 1024 });
    onCreate(() => new HttpResponse("{}", { status: 201, headers: { "content-length": String(1 << 30) } }));
    const declared = await expectSandportError(() => capped.create({}), "output_limit");
    expect(messages(declared)).not.toContain(token);
    let sent = 0;
    const chunk = new Uint8Array(1024 * 1024);
    server.use(
      http.get(
        `${base}/v1/sandboxes/:id`,
        () =>
          new HttpResponse(
            new ReadableStream<Uint8Array>({
              pull(controller) {
                sent += 1;
                if (sent > 80) controller.close();
                else controller.enqueue(chunk);
              },
            }),
          ),
      ),
    );
    await expectSandportError(
      () => capped.connect("cloudflare-isolate:3f1c6a0e-7d4b-4e8a-9c2d-5b6a7e8f9a0b"),
      "output_limit",
    );
    expect(sent).toBeLessThanOrEqual(70);
  });

  it("keeps the token out of every message, also when the Worker's answer quotes it", async () => {
    onCreate(() =>
      HttpResponse.json(
        { error: { code: "invalid_request", message: `the token ${token} is not welcome here` } },
        { status: 400 },
      ),
    );
    const error = await expectSandportError(() => provider().create({}), "invalid_request");
    expect(messages(error)).not.toContain(token);
    expect(error.message).toContain("[redacted]");
  });

  it("maps a connection failure to a retryable provider_unavailable", async () => {
    onCreate(() => HttpResponse.error());
    const error = await expectSandportError(() => provider().create({}), "provider_unavailable");
    expect(error).toMatchObject({ code: "provider_unavailable", isRetryable: true });
    expect(messages(error)).not.toContain(token);
  });
});
