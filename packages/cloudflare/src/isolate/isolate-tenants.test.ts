/**
 * Tenants of a deployed isolate Worker (remote mode, the Worker under miniflare on loopback): each
 * tenant token, stored only as a digest, sees its own sandboxes and nothing of another's; quotas
 * answer `quota_exceeded` and `rate_limited` (with Retry-After); lifetimes have a default and a
 * maximum; the deployment token keeps working as before.
 */
import { createHash } from "node:crypto";
import { expectSandportError } from "@sandport/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "../cloudflare-isolate-provider.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate-worker.ts";

const deploymentToken = "tenants-deployment-token-51c2";
const tokens = {
  alpha: "tenant-alpha-token-8f3e1a",
  beta: "tenant-beta-token-29d7c4",
  limited: "tenant-limited-token-7a60b2",
  storage: "tenant-storage-token-c41d95",
} as const;

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

const tenants = {
  [digest(tokens.alpha)]: { tenant: "alpha" },
  [digest(tokens.beta)]: { tenant: "beta" },
  [digest(tokens.limited)]: { tenant: "limited", maxSandboxes: 2, maxRunsPerMinute: 2 },
  [digest(tokens.storage)]: { tenant: "storage", maxStoredBytes: 4096 },
};

let isolateWorker: IsolateWorkerInstance;

beforeAll(async () => {
  isolateWorker = await startIsolateWorker({
    token: deploymentToken,
    maxCodeBytes: 1 << 20,
    maxFilesBytes: 1 << 20,
    statelessRoute: false,
    workerVariables: {
      SANDPORT_TENANTS: JSON.stringify(tenants),
      SANDPORT_DEFAULT_TTL_MS: String(60 * 60_000),
      SANDPORT_MAX_TTL_MS: String(24 * 60 * 60_000),
    },
  });
});

afterAll(() => isolateWorker?.dispose());

/** The ids `provider` lists with `labels`. */
async function listedIds(
  provider: ReturnType<typeof providerFor>,
  labels: Record<string, string>,
): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of provider.list({ labels })) ids.push(info.id);
  return ids;
}

function providerFor(token: string) {
  return createCloudflareIsolateProvider({ mode: "remote", url: isolateWorker.url.href, token });
}

/** A raw request to the Worker with `token`. */
function call(token: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(new URL(path, isolateWorker.url), {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
}

const readState = 'import { readFileSync } from "node:fs"; return readFileSync("secret.txt", "utf8");';

describe("tenants", () => {
  it("keep each tenant's sandboxes out of every other tenant's reach", async () => {
    const alpha = providerFor(tokens.alpha);
    const beta = providerFor(tokens.beta);
    await using owned = await alpha.create({ labels: { owner: "alpha" } });
    await owned.writeFile("secret.txt", "alpha's");

    // Beta's token cannot see, connect to, read, run in, write to or delete alpha's sandbox.
    expect(await listedIds(beta, { owner: "alpha" })).not.toContain(owned.id);
    await expectSandportError(() => beta.connect(owned.id), "not_found");
    const vendorId = owned.id.split(":").pop() as string;
    for (const [method, path, body] of [
      ["GET", `/v1/sandboxes/${vendorId}`, undefined],
      ["GET", `/v1/sandboxes/${vendorId}/files/secret.txt`, undefined],
      [
        "POST",
        `/v1/sandboxes/${vendorId}/run`,
        JSON.stringify({ code: readState, env: {}, timeoutMs: 5000, maxOutputBytes: 1000 }),
      ],
      ["PUT", `/v1/sandboxes/${vendorId}/files/secret.txt`, "beta's"],
      ["DELETE", `/v1/sandboxes/${vendorId}`, undefined],
    ] as const) {
      const response = await call(tokens.beta, path, { method, ...(body === undefined ? {} : { body }) });
      if (method === "DELETE") expect(response.status, `${method} ${path}`).toBe(204);
      else expect(response.status, `${method} ${path}`).toBe(404);
      await response.body?.cancel();
    }

    // Alpha still has it, unchanged, and lists it; the deployment token's list does not show it.
    const again = await alpha.connect(owned.id);
    expect(new TextDecoder().decode(await again.readFile("secret.txt"))).toBe("alpha's");
    expect(await listedIds(alpha, { owner: "alpha" })).toContain(owned.id);
    expect(await listedIds(providerFor(deploymentToken), { owner: "alpha" })).not.toContain(owned.id);
  });

  it("accept the deployment token as before, alongside tenant tokens", async () => {
    await using sandbox = await providerFor(deploymentToken).create({});
    const result = await sandbox.runCode?.("return 6 * 7;", { language: "javascript" });
    expect(result?.value).toBe(42);
  });

  it("refuse an unknown token, and never accept a digest in place of the token", async () => {
    await expectSandportError(() => providerFor("not-a-tenant-token").create({}), "authentication");
    await expectSandportError(() => providerFor(digest(tokens.alpha)).create({}), "authentication");
  });

  it("give a sandbox created without a lifetime the default one, and refuse one over the maximum", async () => {
    const before = Date.now();
    const created = await call(tokens.alpha, "/v1/sandboxes", { method: "POST", body: JSON.stringify({}) });
    expect(created.status).toBe(201);
    const info = (await created.json()) as { id: string; expiresAt?: number };
    expect(info.expiresAt).toBeGreaterThanOrEqual(before + 60 * 60_000);
    expect(info.expiresAt).toBeLessThanOrEqual(Date.now() + 60 * 60_000);
    await (await call(tokens.alpha, `/v1/sandboxes/${info.id}`, { method: "DELETE" })).body?.cancel();

    const error = await expectSandportError(
      () => providerFor(tokens.alpha).create({ ttlMs: 25 * 60 * 60_000 }),
      "invalid_request",
    );
    expect(error.message).toContain("maximum lifetime");
  });
});

describe("quotas", () => {
  it("refuse a sandbox past the tenant's live-sandbox quota with quota_exceeded, until one is destroyed", async () => {
    const limited = providerFor(tokens.limited);
    const first = await limited.create({});
    const second = await limited.create({});
    try {
      const error = await expectSandportError(() => limited.create({}), "quota_exceeded");
      expect(error.isRetryable).toBe(false);
      // Other tenants are not affected by this one's quota.
      await (await providerFor(tokens.alpha).create({})).destroy();
      await first.destroy();
      const third = await limited.create({});
      await third.destroy();
    } finally {
      await first.destroy();
      await second.destroy();
    }
  });

  it("answer runs past the tenant's runs per minute with rate_limited and Retry-After", async () => {
    await using sandbox = await providerFor(tokens.limited).create({});
    const vendorId = sandbox.id.split(":").pop() as string;
    const run = () =>
      call(tokens.limited, `/v1/sandboxes/${vendorId}/run`, {
        method: "POST",
        body: JSON.stringify({ code: "return 1;", env: {}, timeoutMs: 5000, maxOutputBytes: 1000 }),
      });
    const answers: Response[] = [];
    for (let index = 0; index < 3; index += 1) answers.push(await run());
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(2);
    const refused = answers.find((answer) => answer.status === 429);
    expect(refused, `statuses ${statuses.join(", ")}`).toBeDefined();
    const retryAfter = Number(refused?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused?.json()).toMatchObject({ error: { code: "rate_limited" } });
    for (const answer of answers) await answer.body?.cancel().catch(() => undefined);

    // Through the provider: a typed, retryable error that says when to retry.
    const error = await expectSandportError(
      () => sandbox.runCode?.("return 1;", { language: "javascript" }) ?? Promise.resolve(),
      "rate_limited",
    );
    expect(error.isRetryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("hold a tenant's stored bytes under its quota across all its sandboxes", async () => {
    const storage = providerFor(tokens.storage);
    await using first = await storage.create({});
    await using second = await storage.create({});
    await first.writeFile("a.bin", new Uint8Array(3000));
    // 3,000 bytes held by the first sandbox leave about 1,000 for the second.
    await expectSandportError(() => second.writeFile("b.bin", new Uint8Array(2000)), "quota_exceeded");
    await second.writeFile("small.bin", new Uint8Array(500));
    // A run cannot grow past the room left either: it fails and its file changes are discarded.
    const result = await second.runCode?.(
      'import { writeFileSync } from "node:fs"; writeFileSync("big.bin", new Uint8Array(2000));',
      { language: "javascript" },
    );
    expect(result?.exitCode).toBe(1);
    expect(result?.stderr).toContain("discarded");
    await expectSandportError(() => second.readFile("big.bin"), "not_found");
    // Space freed in one sandbox is room for the other.
    await first.destroy();
    await second.writeFile("b.bin", new Uint8Array(2000));
  });
});

describe("a misconfigured tenants secret", () => {
  it("answers not_configured without echoing the secret", async () => {
    const broken = await startIsolateWorker({
      token: deploymentToken,
      maxCodeBytes: 1 << 20,
      maxFilesBytes: 1 << 20,
      statelessRoute: false,
      workerVariables: { SANDPORT_TENANTS: JSON.stringify({ "not-a-digest-secret-value": { tenant: "x" } }) },
    });
    try {
      const response = await fetch(new URL("/v1/health", broken.url), {
        headers: { authorization: `Bearer ${deploymentToken}` },
      });
      const text = await response.text();
      expect(response.status).toBe(503);
      expect(text).toContain("not_configured");
      expect(text).not.toContain("not-a-digest-secret-value");
    } finally {
      await broken.dispose();
    }
  });
});
