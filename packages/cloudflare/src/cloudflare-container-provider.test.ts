import { type Sandbox, SandportError } from "@sandport/core";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  cloudflareContainerProviderFactory,
  createCloudflareContainerProvider,
} from "./cloudflare-container-provider.ts";
import {
  errorFromSandboxBridgeResponse,
  SandboxBridgeResponseError,
} from "./container/cloudflare-container-errors.ts";
import { timeoutGraceMs } from "./container/container-exec.ts";
import { execArgv } from "./container/container-request-mapping.ts";
import { type ContainerExecutor, createSandboxBridgeFake, type FakeContainer } from "./testing/index.ts";
import { mintSandboxBridgeId } from "./testing/sandbox-bridge-rules.ts";

const token = "sandport-secret-token-9f8e7d6c";
const url = "https://sandbox-bridge.test";
const bridge = createSandboxBridgeFake({ url, token });

/** Containers whose commands fail inside the container (the sandbox bridge's `exec_error`). */
const brokenExecutor: ContainerExecutor = {
  start: async () => memoryContainer(async () => Promise.reject(new Error("session shell terminated"))),
};
/** Containers whose commands never end and never report a timeout: a silent, stuck sandbox bridge. */
const stuckExecutor: ContainerExecutor = {
  start: async () => memoryContainer(() => new Promise(() => {})),
};
const brokenBridge = createSandboxBridgeFake({
  url: "https://broken-bridge.test",
  token,
  executor: brokenExecutor,
});
const stuckBridge = createSandboxBridgeFake({
  url: "https://stuck-bridge.test",
  token,
  executor: stuckExecutor,
});
const smallBridge = createSandboxBridgeFake({ url: "https://small-bridge.test", token, maxInstances: 1 });

const server = setupServer(
  ...bridge.handlers,
  ...brokenBridge.handlers,
  ...stuckBridge.handlers,
  ...smallBridge.handlers,
);

/** A container with files in memory and the given exec. */
function memoryContainer(exec: FakeContainer["exec"]): FakeContainer {
  const files = new Map<string, Uint8Array>();
  return {
    exec,
    readFile: async (path) => files.get(path),
    writeFile: async (path, data) => void files.set(path, data),
    stop: async () => {},
  };
}

const created: Sandbox[] = [];

function provider(settings: Partial<Parameters<typeof createCloudflareContainerProvider>[0]> = {}) {
  return createCloudflareContainerProvider({ url, token, ...settings });
}

async function createSandbox(settings: Parameters<typeof provider>[0] = {}, request = {}) {
  const sandbox = await provider(settings).create(request);
  created.push(sandbox);
  return sandbox;
}

/** The error a call rejects with (failing when it succeeds). */
async function failure(call: () => Promise<unknown>): Promise<SandportError> {
  const outcome = await call().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error("expected the call to fail, but it succeeded");
  if (!SandportError.isInstance(outcome.error)) throw outcome.error;
  return outcome.error;
}

/** Every message an error carries, through its cause chain and its JSON form. */
function everyMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(String(current));
    if (current instanceof Error) parts.push(current.message, current.stack ?? "");
    current = current instanceof Error ? current.cause : undefined;
  }
  parts.push(JSON.stringify(error));
  return parts.join("\n");
}

/** Asserts the code and that the token appears nowhere in the error. */
function expectFailure(error: SandportError, code: string, isRetryable: boolean): void {
  expect({ code: error.code, isRetryable: error.isRetryable }, error.message).toEqual({ code, isRetryable });
  expect(error.providerId).toBe("cloudflare-container");
  expect(everyMessage(error)).not.toContain(token);
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(async () => {
  server.resetHandlers();
  await Promise.all(created.splice(0).map((sandbox) => sandbox.destroy().catch(() => {})));
  for (const fake of [bridge, brokenBridge, stuckBridge, smallBridge]) {
    fake.clearFaults();
    fake.clearCalls();
  }
});
afterAll(async () => {
  server.close();
  await Promise.all([bridge, brokenBridge, stuckBridge, smallBridge].map((fake) => fake.close()));
});

describe("cloudflare-container provider: requests on the wire", () => {
  it("creates with POST /v1/sandbox, then starts the container by writing the sandbox marker", async () => {
    const sandbox = await createSandbox({}, { env: { GREETING: "hi" }, labels: { team: "a" } });
    const [create, marker] = bridge.calls;
    expect(bridge.calls).toHaveLength(2);
    expect(create).toMatchObject({ method: "POST", route: "create", path: "/v1/sandbox" });
    expect(create?.headers.authorization).toBe("Bearer <token>");
    const vendorId = sandbox.id.slice("cloudflare-container:".length);
    expect(vendorId).toMatch(/^[a-z2-7]{26}$/);
    expect(marker).toMatchObject({
      method: "PUT",
      path: `/v1/sandbox/${vendorId}/file/workspace/.sandport/sandbox.json`,
    });
    expect(marker?.headers["content-type"]).toBe("application/octet-stream");
    expect(JSON.parse(decode(marker?.body as Uint8Array))).toMatchObject({
      version: 1,
      env: { GREETING: "hi" },
      labels: { team: "a" },
    });
    expect(await bridge.countLiveSandboxes()).toBe(1);
  });

  it("sends argv unchanged behind env and the exec's marker, with cwd /workspace and timeout_ms", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    const result = await sandbox.exec(["sh", "-c", 'printf "%s|" "$@"; exit 7', "sh", "a b", "$HOME", ""], {
      timeoutMs: 5_000,
    });
    expect(result).toMatchObject({ exitCode: 7, stdout: "a b|$HOME||", stderr: "", timedOut: false });
    expect(bridge.calls).toEqual([
      expect.objectContaining({
        method: "POST",
        route: "exec",
        body: {
          argv: [
            "env",
            expect.stringMatching(/^SANDPORT_EXEC_ID=[0-9a-f-]{36}$/),
            "sh",
            "-c",
            'printf "%s|" "$@"; exit 7',
            "sh",
            "a b",
            "$HOME",
            "",
          ],
          cwd: "/workspace",
          timeout_ms: 5_000,
        },
      }),
    ]);
    expect(bridge.calls[0]?.headers["content-type"]).toBe("application/json");
  });

  it("runs { shell } as sh -c and sends no timeout_ms when none is set", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    expect((await sandbox.exec({ shell: "echo one | tr a-z A-Z" })).stdout).toBe("ONE\n");
    expect(bridge.calls[0]?.body).toEqual({
      argv: ["env", expect.stringMatching(/^SANDPORT_EXEC_ID=/), "sh", "-c", "echo one | tr a-z A-Z"],
      cwd: "/workspace",
    });
  });

  it("applies defaultTimeoutMs to commands that set no timeoutMs", async () => {
    const sandbox = await createSandbox({ defaultTimeoutMs: 9_000 });
    bridge.clearCalls();
    await sandbox.exec(["true"]);
    expect(bridge.calls[0]?.body).toMatchObject({ timeout_ms: 9_000 });
  });

  it("passes create and exec env through env NAME=value, exec env winning", async () => {
    const sandbox = await createSandbox({}, { env: { BOTH: "create", ONLY_CREATE: "c" } });
    bridge.clearCalls();
    const result = await sandbox.exec(["sh", "-c", 'printf "%s %s %s" "$BOTH" "$ONLY_CREATE" "$ONLY_EXEC"'], {
      env: { BOTH: "exec", ONLY_EXEC: "e" },
    });
    expect(result.stdout).toBe("exec c e");
    expect(bridge.calls[0]?.body).toMatchObject({
      argv: [
        "env",
        "BOTH=exec",
        "ONLY_CREATE=c",
        "ONLY_EXEC=e",
        expect.stringMatching(/^SANDPORT_EXEC_ID=/),
        "sh",
        "-c",
        'printf "%s %s %s" "$BOTH" "$ONLY_CREATE" "$ONLY_EXEC"',
      ],
    });
  });

  it("keeps a first word containing = from reading as an assignment", async () => {
    expect(execArgv(["a=b", "x"], { K: "v" })).toEqual([
      "env",
      "K=v",
      "sh",
      "-c",
      'exec "$@"',
      "sh",
      "a=b",
      "x",
    ]);
    expect(execArgv(["a=b"], {})).toEqual(["a=b"]);
    const sandbox = await createSandbox({}, { env: { K: "v" } });
    const result = await sandbox.exec(["a=b"]);
    expect(result.exitCode).toBe(127);
  });

  it("resolves a relative cwd to an absolute one and refuses a cwd outside /workspace unsent", async () => {
    const sandbox = await createSandbox();
    await sandbox.writeFile("sub/dir/file.txt", "x");
    bridge.clearCalls();
    expect((await sandbox.exec(["pwd"], { cwd: "sub/./dir" })).stdout).toBe("/workspace/sub/dir\n");
    // First the check that the directory exists (the sandbox bridge would report a failed cd as exit 1).
    expect(bridge.calls[0]?.body).toMatchObject({
      argv: ["test", "-d", "/workspace/sub/dir"],
      cwd: "/workspace",
    });
    expect(bridge.calls[1]?.body).toMatchObject({ cwd: "/workspace/sub/dir" });
    bridge.clearCalls();
    const error = await failure(() => sandbox.exec(["pwd"], { cwd: "../etc" }));
    expectFailure(error, "invalid_request", false);
    expect(bridge.calls).toEqual([]);
  });

  it("encodes file names so the sandbox bridge addresses the same file, and refuses %, # and ?", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    await sandbox.writeFile("dir/a b+c:d=e ✓.txt", "spaced");
    const vendorId = sandbox.id.split(":")[1];
    expect(bridge.calls[0]?.path).toBe(
      `/v1/sandbox/${vendorId}/file/workspace/dir/a%20b+c:d=e%20%E2%9C%93.txt`,
    );
    expect(decode(await sandbox.readFile("/workspace/dir/a b+c:d=e ✓.txt"))).toBe("spaced");
    expect((await sandbox.exec(["cat", "dir/a b+c:d=e ✓.txt"])).stdout).toBe("spaced");
    bridge.clearCalls();
    for (const name of ["100%.txt", "a#b", "why?"]) {
      expectFailure(await failure(() => sandbox.writeFile(name, "x")), "invalid_request", false);
    }
    expect(bridge.calls).toEqual([]);
  });

  it("refuses a file over the sandbox bridge's 32 MiB limit with output_limit, without sending it", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    const error = await failure(() => sandbox.writeFile("big.bin", new Uint8Array(32 * 1024 * 1024 + 1)));
    expectFailure(error, "output_limit", false);
    expect(bridge.calls).toEqual([]);
  });

  it("destroys with one DELETE, and a destroyed sandbox is not_found without asking the sandbox bridge", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    await sandbox.destroy();
    await sandbox.destroy();
    const vendorId = sandbox.id.split(":")[1];
    expect(bridge.calls).toEqual([
      expect.objectContaining({ method: "DELETE", path: `/v1/sandbox/${vendorId}` }),
    ]);
    expect(await bridge.countLiveSandboxes()).toBe(0);
    bridge.clearCalls();
    expectFailure(await failure(() => sandbox.exec(["true"])), "not_found", false);
    expectFailure(await failure(() => sandbox.readFile("a.txt")), "not_found", false);
    expect(bridge.calls).toEqual([]);
  });
});

describe("cloudflare-container provider: connect", () => {
  it("reconnects from another provider instance, keeping the create env", async () => {
    const sandbox = await createSandbox({}, { env: { FROM_CREATE: "kept" } });
    await sandbox.writeFile("note.txt", "shared");
    const connected = await provider().connect(sandbox.id);
    expect(connected.id).toBe(sandbox.id);
    expect(decode(await connected.readFile("note.txt"))).toBe("shared");
    expect((await connected.exec(["printenv", "FROM_CREATE"])).stdout).toBe("kept\n");
  });

  it("answers not_found for an id the sandbox bridge never issued, and deletes the container it started for it", async () => {
    const unknown = `cloudflare-container:${mintSandboxBridgeId()}`;
    const error = await failure(() => provider().connect(unknown));
    expectFailure(error, "not_found", false);
    expect(bridge.calls.map((call) => `${call.method} ${call.route}`)).toEqual([
      "GET readFile",
      "DELETE destroy",
    ]);
    expect(await bridge.countLiveSandboxes()).toBe(0);
  });

  it("refuses an id of another provider or one that is not base32, sending nothing", async () => {
    expect((await failure(() => provider().connect("other:abc"))).code).toBe("invalid_request");
    const error = await failure(() => provider().connect("cloudflare-container:NOT-BASE32"));
    expectFailure(error, "invalid_request", false);
    expect(bridge.calls).toEqual([]);
  });
});

describe("cloudflare-container provider: requests it cannot honour", () => {
  it.each([
    ["ttlMs", { ttlMs: 60_000 }],
    ["resources", { resources: { cpu: 1 } }],
    ["egress none", { network: { egress: "none" } }],
    ["an allowlist", { network: { egress: { allow: ["example.com"] } } }],
    ["a region", { region: "weur" }],
    ["an image", { image: "python:3.12" }],
    ["python on the default image", { runtime: "python" }],
    ["a GPU", { resources: { gpu: { type: "A100", count: 1 } } }],
  ] as const)("refuses %s with unsupported_capability before any request", async (_what, request) => {
    const error = await failure(() => provider().create(request));
    expectFailure(error, "unsupported_capability", false);
    expect(bridge.calls).toEqual([]);
  });

  it("says why a lifetime cannot be honoured", async () => {
    const error = await failure(() => provider().create({ ttlMs: 1_000 }));
    expect(error.message).toContain("the sandbox bridge has no sandbox lifetime");
  });

  it("refuses stdin with unsupported_capability before sending anything", async () => {
    const sandbox = await createSandbox();
    bridge.clearCalls();
    expectFailure(
      await failure(() => sandbox.exec(["cat"], { stdin: "x" })),
      "unsupported_capability",
      false,
    );
    expect(bridge.calls).toEqual([]);
  });

  it("refuses providerOptions for itself with invalid_request", async () => {
    const error = await failure(() =>
      provider().create({ providerOptions: { "cloudflare-container": { sleepAfter: "1m" } } }),
    );
    expectFailure(error, "invalid_request", false);
  });

  it("accepts resources within a declared instance size, and python on the python image", async () => {
    const sized = provider({ instance: { cpu: 1, memoryMb: 4096, diskMb: 8192 }, image: "python" });
    expect(sized.capabilities.runtimes).toEqual(["shell", "python", "javascript", "typescript"]);
    const sandbox = await sized.create({ resources: { cpu: 0.5, memoryMb: 4096 }, runtime: "python" });
    created.push(sandbox);
    expectFailure(
      await failure(() => sized.create({ resources: { memoryMb: 4097 } })),
      "unsupported_capability",
      false,
    );
  });
});

describe("cloudflare-container provider: capabilities", () => {
  it("declares a container in the vendor's cloud, honestly", () => {
    const { capabilities } = provider();
    expect(capabilities).toMatchObject({
      runtimes: ["shell", "javascript", "typescript"],
      isolation: "container",
      residency: "vendor-cloud",
      regions: [],
      limits: { maxTtlMs: 0, maxCpu: 0, maxMemoryMb: 0, maxDiskMb: 0, gpuTypes: [], scope: "sandbox" },
      network: { modes: ["open"], allowlist: [] },
      features: {
        filesystem: true,
        streaming: true,
        background: false,
        separateStderr: true,
        stdin: false,
        images: false,
        ports: false,
        snapshots: false,
      },
    });
    expect(capabilities.priors.coldStartMs).toBe(2_100);
    expect(provider({ egress: "none", maxInstances: 5 }).capabilities).toMatchObject({
      network: { modes: ["none"] },
      limits: { maxConcurrency: 5 },
    });
  });
});

describe("cloudflare-container provider: credentials and settings", () => {
  it("constructs without a token and fails the first call naming the setting and the variable", async () => {
    const saved = process.env.CLOUDFLARE_SANDBOX_TOKEN;
    delete process.env.CLOUDFLARE_SANDBOX_TOKEN;
    try {
      const tokenless = createCloudflareContainerProvider({ url });
      const error = await failure(() => tokenless.create({}));
      expectFailure(error, "authentication", false);
      expect(error.message).toContain("providers.cloudflare-container.token");
      expect(error.message).toContain("CLOUDFLARE_SANDBOX_TOKEN");
      expect(bridge.calls).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.CLOUDFLARE_SANDBOX_TOKEN = saved;
    }
  });

  it("sends no Authorization header to a deployment without a key (token: null), which accepts it", async () => {
    const keyless = createSandboxBridgeFake({ url: "https://keyless-bridge.test" });
    server.use(...keyless.handlers);
    try {
      const provider = createCloudflareContainerProvider({ url: "https://keyless-bridge.test", token: null });
      await using sandbox = await provider.create({});
      expect((await sandbox.exec(["echo", "ok"])).stdout).toBe("ok\n");
      expect(keyless.calls.length).toBeGreaterThan(0);
      for (const call of keyless.calls) expect(call.headers.authorization).toBeUndefined();
    } finally {
      await keyless.close();
    }
  });

  it("falls back to CLOUDFLARE_SANDBOX_TOKEN, read at the first call", async () => {
    const saved = process.env.CLOUDFLARE_SANDBOX_TOKEN;
    const fromEnvironment = createCloudflareContainerProvider({ url });
    process.env.CLOUDFLARE_SANDBOX_TOKEN = token;
    try {
      const sandbox = await fromEnvironment.create({});
      created.push(sandbox);
      expect(bridge.calls[0]?.headers.authorization).toBe("Bearer <token>");
    } finally {
      if (saved === undefined) delete process.env.CLOUDFLARE_SANDBOX_TOKEN;
      else process.env.CLOUDFLARE_SANDBOX_TOKEN = saved;
    }
  });

  it("refuses a token that cannot be a header value with config_invalid, without quoting it", async () => {
    const bad = `${token}\nX-Injected: 1`;
    const error = await failure(() => provider({ token: bad }).create({}));
    expectFailure(error, "config_invalid", false);
    expect(everyMessage(error)).not.toContain("X-Injected");
  });

  it("refuses plain http to another host at the first call, not at construction", async () => {
    const insecure = provider({ url: "http://sandbox-bridge.test" });
    const error = await failure(() => insecure.create({}));
    expectFailure(error, "config_invalid", false);
    expect(error.message).toContain("providers.cloudflare-container.url");
  });

  it("validates sandport.json settings strictly and builds the provider under its instance name", () => {
    const schema = cloudflareContainerProviderFactory.settingsSchema;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference, not a template.
    expect(schema.safeParse({ url, token: "${env:CLOUDFLARE_SANDBOX_TOKEN}" }).success).toBe(true);
    expect(schema.safeParse({ url: "http://example.com" }).success).toBe(false);
    expect(schema.safeParse({ url, bogus: 1 }).success).toBe(false);
    expect(schema.safeParse({ url, egress: { allow: [] } }).success).toBe(false);
    const built = cloudflareContainerProviderFactory.create({ url }, { providerId: "cf-eu" });
    expect(built.providerId).toBe("cf-eu");
    expect(built.capabilities.isolation).toBe("container");
  });
});

describe("cloudflare-container provider: sandbox bridge failures", () => {
  it("maps 401 to authentication and keeps the token out of every message", async () => {
    bridge.failNext({ kind: "unauthorized" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "authentication", false);
    expect(error.cause).toBeInstanceOf(SandboxBridgeResponseError);
    expect(error.cause).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("maps a wrong token, rejected by the sandbox bridge itself, to authentication", async () => {
    const error = await failure(() => provider({ token: "not-the-right-token" }).create({}));
    expectFailure(error, "authentication", false);
    expect(everyMessage(error)).not.toContain("not-the-right-token");
  });

  it("maps 403 to permission_denied", async () => {
    bridge.failNext({ kind: "forbidden" });
    expectFailure(await failure(() => provider().create({})), "permission_denied", false);
  });

  it("maps the sandbox bridge's 403 invalid_request (a path outside /workspace) to invalid_request", () => {
    const error = errorFromSandboxBridgeResponse(
      { status: 403, code: "invalid_request", message: "path must resolve to a location within /workspace" },
      { providerId: "cloudflare-container", operation: "readFile" },
    );
    expect(error.code).toBe("invalid_request");
  });

  it("maps a missing file (404 workspace_read_not_found) to not_found", async () => {
    const sandbox = await createSandbox();
    const error = await failure(() => sandbox.readFile("missing/file.txt"));
    expectFailure(error, "not_found", false);
    expect(error.cause).toMatchObject({ status: 404, code: "workspace_read_not_found" });
  });

  it("maps 429 with Retry-After in seconds to rate_limited with retryAfterMs", async () => {
    bridge.failNext({ kind: "rate-limited", retryAfter: "7" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "rate_limited", true);
    expect(error.retryAfterMs).toBe(7_000);
  });

  it("maps 429 with Retry-After as an HTTP date to rate_limited with retryAfterMs", async () => {
    bridge.failNext({ kind: "rate-limited", retryAfter: new Date(Date.now() + 30_000).toUTCString() });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "rate_limited", true);
    expect(error.retryAfterMs).toBeGreaterThan(25_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("maps 5xx to provider_unavailable, retryable", async () => {
    bridge.failNext({ kind: "server-error", status: 502, code: "pool_error" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(error.cause).toMatchObject({ status: 502, code: "pool_error" });
    bridge.failNext({ kind: "server-error", status: 500 });
    expectFailure(await failure(() => provider().create({})), "provider_unavailable", true);
  });

  /** Answers the next `POST /sandbox` of the main fake with `response` instead of the fake. */
  const answerCreate = (response: () => Response) =>
    server.use(http.post(`${url}/v1/sandbox`, response, { once: true }));

  it("maps 413 to output_limit, as every adapter does", async () => {
    answerCreate(() => HttpResponse.json({ error: "too large", code: "payload_too_large" }, { status: 413 }));
    const error = await failure(() => provider().create({}));
    expectFailure(error, "output_limit", false);
    expect(error.cause).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("maps 503 with Retry-After to a retryable provider_unavailable with retryAfterMs", async () => {
    bridge.failNext({ kind: "server-error", status: 503, code: "pool_error", retryAfter: "3" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(error.retryAfterMs).toBe(3_000);
  });

  it("maps a status it does not know to a provider_unavailable that is not retryable", async () => {
    answerCreate(() => new HttpResponse("teapot", { status: 418 }));
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", false);
    expect(error.message).toContain("HTTP 418");
  });

  it("refuses a redirect, so the token never reaches another origin", async () => {
    let reached = false;
    answerCreate(
      () =>
        new HttpResponse(null, { status: 307, headers: { location: "https://elsewhere.test/v1/sandbox" } }),
    );
    server.use(
      http.all("https://elsewhere.test/*", () => {
        reached = true;
        return HttpResponse.json({ id: "abc" });
      }),
    );
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(reached).toBe(false);
  });

  it("fails an answer over the 64 MiB cap with output_limit instead of reading it whole", async () => {
    answerCreate(() => new HttpResponse("{}", { headers: { "content-length": String(1 << 30) } }));
    expectFailure(await failure(() => provider().create({})), "output_limit", false);
    const sandbox = await createSandbox();
    let sent = 0;
    const chunk = new Uint8Array(1024 * 1024);
    server.use(
      http.get(
        `${url}/v1/sandbox/:id/file/*`,
        () =>
          new HttpResponse(
            new ReadableStream<Uint8Array>({
              pull(controller) {
                sent += 1;
                if (sent > 80) controller.close();
                else controller.enqueue(chunk);
              },
            }),
            { headers: { "content-type": "application/octet-stream" } },
          ),
        { once: true },
      ),
    );
    expectFailure(await failure(() => sandbox.readFile("huge.bin")), "output_limit", false);
    expect(sent).toBeLessThanOrEqual(70);
  });

  it("keeps the token out of every message, also when the bridge's answer quotes it", async () => {
    answerCreate(() =>
      HttpResponse.json({ error: `token ${token} is not welcome`, code: "invalid_request" }, { status: 400 }),
    );
    const error = await failure(() => provider().create({}));
    expectFailure(error, "invalid_request", false);
    expect(error.cause).toMatchObject({ message: "token [redacted] is not welcome" });
  });

  it("maps a full pool (503 capacity_exceeded) to quota_exceeded, retryable, and leaves nothing behind", async () => {
    const small = provider({ url: "https://small-bridge.test" });
    const first = await small.create({});
    created.push(first);
    const error = await failure(() => small.create({}));
    expectFailure(error, "quota_exceeded", true);
    expect(await smallBridge.countLiveSandboxes()).toBe(1);
  });

  it("deletes the sandbox when starting its container fails", async () => {
    bridge.failNext({ kind: "server-error", status: 502 }, { route: "writeFile" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(bridge.calls.map((call) => call.route)).toEqual(["create", "writeFile", "destroy"]);
    expect(await bridge.countLiveSandboxes()).toBe(0);
  });

  it("maps a network failure to provider_unavailable with the cause kept", async () => {
    bridge.failNext({ kind: "network-error" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("maps a sandbox bridge URL that nothing answers to provider_unavailable (msw refuses unhandled requests)", async () => {
    const error = await failure(() => provider({ url: "https://no-bridge-here.test" }).create({}));
    expectFailure(error, "provider_unavailable", true);
  });

  it("maps malformed JSON to provider_unavailable with the parse error as cause", async () => {
    bridge.failNext({ kind: "malformed-json" });
    const error = await failure(() => provider().create({}));
    expectFailure(error, "provider_unavailable", true);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("maps an HTML 200 page to provider_unavailable, and never returns it as file contents", async () => {
    bridge.failNext({ kind: "html-page" });
    expectFailure(await failure(() => provider().create({})), "provider_unavailable", true);
    const sandbox = await createSandbox();
    await sandbox.writeFile("page.txt", "real contents");
    bridge.failNext({ kind: "html-page" }, { route: "readFile" });
    const error = await failure(() => sandbox.readFile("page.txt"));
    expectFailure(error, "provider_unavailable", true);
    expect(error.cause).toBeInstanceOf(Error);
    bridge.failNext({ kind: "html-page" }, { route: "exec" });
    expectFailure(await failure(() => sandbox.exec(["true"])), "provider_unavailable", true);
  });

  it("maps a malformed exit event to provider_unavailable", async () => {
    const sandbox = await createSandbox();
    bridge.failNext({ kind: "malformed-json" }, { route: "exec" });
    expectFailure(await failure(() => sandbox.exec(["true"])), "provider_unavailable", true);
  });

  it("rejects an exec stream cut before its exit event, without hanging and without retrying", async () => {
    const sandbox = await createSandbox();
    bridge.failNext({ kind: "cut-stream", afterOutputEvents: 1 });
    const chunks: string[] = [];
    const started = Date.now();
    const error = await failure(() =>
      sandbox.exec(["sh", "-c", "echo first; sleep 0.3; echo second; sleep 20"], {
        onStdout: (chunk) => chunks.push(chunk),
      }),
    );
    expectFailure(error, "provider_unavailable", false);
    expect(chunks.join("")).toBe("first\n");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("maps an error event (exec_error) to sandbox_failed with the vendor's answer as cause", async () => {
    const broken = provider({ url: "https://broken-bridge.test" });
    const sandbox = await broken.create({});
    created.push(sandbox);
    const error = await failure(() => sandbox.exec(["true"]));
    expectFailure(error, "sandbox_failed", false);
    expect(error.cause).toMatchObject({ code: "exec_error", message: "session shell terminated" });
  });

  it("returns timedOut when the sandbox bridge stays silent past timeoutMs, instead of hanging", async () => {
    const stuck = provider({ url: "https://stuck-bridge.test" });
    const sandbox = await stuck.create({});
    created.push(sandbox);
    const started = Date.now();
    const result = await sandbox.exec(["sleep", "60"], { timeoutMs: 100 });
    expect(result).toMatchObject({ timedOut: true, exitCode: 124 });
    expect(Date.now() - started).toBeLessThan(100 + timeoutGraceMs + 1_500);
  });

  it("rejects with aborted when the signal fires before the stream opens", async () => {
    const sandbox = await createSandbox();
    const controller = new AbortController();
    const running = sandbox.exec(["sleep", "5"], { signal: controller.signal });
    controller.abort();
    expectFailure(await failure(() => running), "aborted", false);
  });
});
