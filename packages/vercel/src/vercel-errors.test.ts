import { SandportError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createVercelFake, type VercelFault, type VercelRoute } from "./testing/index.ts";
import { createVercelProvider } from "./vercel-provider.ts";

const credentials = { token: "errors-token-c0ffee", teamId: "team_errors", projectId: "prj_errors" };
const vercel = createVercelFake(credentials);
const server = setupServer(...vercel.handlers);
const provider = createVercelProvider({ providerId: "vercel", ...credentials });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => {
  vercel.clearFaults();
  vercel.clearCalls();
});
afterAll(async () => {
  server.close();
  await vercel.close();
});

/** Runs `call`, expecting a SandportError, and checks the token appears nowhere in it. */
async function failure(call: () => Promise<unknown>): Promise<SandportError> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  expect(SandportError.isInstance(caught), String(caught)).toBe(true);
  const error = caught as SandportError;
  expect(error.message).not.toContain(credentials.token);
  expect(JSON.stringify(error)).not.toContain(credentials.token);
  expect(String(error)).not.toContain(credentials.token);
  return error;
}

function requestsTo(route: VercelRoute): number {
  return vercel.calls.filter((call) => call.route === route).length;
}

describe("vercel errors", () => {
  it("maps a refused token (401) to authentication, naming the setting, without retrying", async () => {
    const wrong = createVercelProvider({ ...credentials, token: "wrong-token-secret-1" });
    const error = await failure(() => wrong.create({}));
    expect(error).toMatchObject({ code: "authentication", isRetryable: false, providerId: "vercel" });
    expect(error.message).toContain("VERCEL_TOKEN");
    expect(error.message).not.toContain("wrong-token-secret-1");
    expect(requestsTo("create")).toBe(1);
    expect(await vercel.countLiveSandboxes()).toBe(0);
  });

  it("maps 403 (another team) to permission_denied", async () => {
    const otherTeam = createVercelProvider({ ...credentials, teamId: "team_other" });
    expect(await failure(() => otherTeam.create({}))).toMatchObject({
      code: "permission_denied",
      isRetryable: false,
    });
    expect(requestsTo("create")).toBe(1);
  });

  it("maps 404 of connect to not_found and 409 to invalid_request", async () => {
    expect(await failure(() => provider.connect("vercel:sbx-missing"))).toMatchObject({ code: "not_found" });
    vercel.failNext({ kind: "status", status: 409, code: "conflict" }, { route: "create" });
    expect(await failure(() => provider.create({}))).toMatchObject({
      code: "invalid_request",
      isRetryable: false,
    });
    expect(requestsTo("create")).toBe(1);
  });

  it("maps 429 with Retry-After to rate_limited after the SDK's own two retries (three requests)", async () => {
    vercel.failNext(
      { kind: "status", status: 429, code: "rate_limited", retryAfter: "1" },
      { route: "create", times: 3 },
    );
    const error = await failure(() => provider.create({}));
    expect(error).toMatchObject({ code: "rate_limited", isRetryable: true, retryAfterMs: 1000 });
    expect(requestsTo("create")).toBe(3);
    expect(await vercel.countLiveSandboxes()).toBe(0);
  }, 15_000);

  it("maps a persistent 5xx to provider_unavailable after the SDK's two retries, and a 5xx that clears succeeds", async () => {
    vercel.failNext({ kind: "status", status: 503, code: "unavailable" }, { route: "create", times: 3 });
    expect(await failure(() => provider.create({}))).toMatchObject({
      code: "provider_unavailable",
      isRetryable: true,
    });
    expect(requestsTo("create")).toBe(3);
    vercel.clearCalls();
    vercel.failNext({ kind: "status", status: 500 }, { route: "create", times: 1 });
    const sandbox = await provider.create({});
    expect(requestsTo("create")).toBe(2);
    await sandbox.destroy();
  }, 15_000);

  it("maps faults on a sandbox's own calls: 5xx on exec, a dropped command or log stream, a malformed answer, a network error", async () => {
    const sandbox = await provider.create({});
    try {
      const cases: Array<[VercelFault, VercelRoute, string, () => Promise<unknown>]> = [
        [{ kind: "status", status: 502 }, "command", "provider_unavailable", () => sandbox.exec(["true"])],
        // A plain exec reads its waited `cmd` stream; one with a timeout reads a detached command's log.
        [{ kind: "drop-stream" }, "command", "provider_unavailable", () => sandbox.exec(["echo", "hi"])],
        [
          { kind: "drop-stream" },
          "command-logs",
          "provider_unavailable",
          () => sandbox.exec(["echo", "hi"], { timeoutMs: 10_000 }),
        ],
        [{ kind: "malformed" }, "command", "provider_unavailable", () => sandbox.exec(["true"])],
        [
          { kind: "status", status: 403, code: "forbidden" },
          "fs-read",
          "permission_denied",
          () => sandbox.readFile("x"),
        ],
        [{ kind: "status", status: 413 }, "fs-write", "output_limit", () => sandbox.writeFile("x", "data")],
      ];
      for (const [fault, route, code, call] of cases) {
        vercel.failNext(fault, { route, times: 3 });
        expect(await failure(call), `${fault.kind} on ${route}`).toMatchObject({
          code,
          providerId: "vercel",
        });
        vercel.clearFaults();
      }
      vercel.failNext({ kind: "network-error" }, { route: "fs-read", times: 3 });
      expect(await failure(() => sandbox.readFile("x"))).toMatchObject({ code: "provider_unavailable" });
      vercel.clearFaults();
      // The sandbox still works afterwards.
      expect((await sandbox.exec(["echo", "still"])).stdout).toBe("still\n");
    } finally {
      await sandbox.destroy();
    }
  }, 30_000);

  it("maps an HTML page instead of JSON (200 and 502) to provider_unavailable, without the page or the token it echoes", async () => {
    vercel.failNext({ kind: "malformed", body: "html" }, { route: "create" });
    const ok = await failure(() => provider.create({}));
    expect(ok).toMatchObject({ code: "provider_unavailable", isRetryable: false, providerId: "vercel" });
    expect(requestsTo("create")).toBe(1);
    vercel.clearCalls();
    vercel.failNext({ kind: "malformed", body: "html", status: 502 }, { route: "create", times: 3 });
    const gateway = await failure(() => provider.create({}));
    expect(gateway).toMatchObject({ code: "provider_unavailable", isRetryable: true });
    // The SDK retried the 502 twice itself.
    expect(requestsTo("create")).toBe(3);
    for (const error of [ok, gateway]) {
      expect(error.message).not.toMatch(/<html|Bad Gateway|Authorization/i);
    }
    expect(await vercel.countLiveSandboxes()).toBe(0);

    // On a sandbox's own call too: exec's command start answered by an HTML page.
    const sandbox = await provider.create({});
    try {
      vercel.failNext({ kind: "malformed", body: "html" }, { route: "command" });
      const exec = await failure(() => sandbox.exec(["true"]));
      expect(exec).toMatchObject({ code: "provider_unavailable" });
      expect(exec.message).not.toMatch(/<html|Authorization/i);
    } finally {
      await sandbox.destroy();
    }
  }, 15_000);

  it("maps a stopped session (410) to not_found and never resumes it", async () => {
    const sandbox = await provider.create({ ttlMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await failure(() => sandbox.exec(["true"]))).toMatchObject({ code: "not_found" });
    expect(await failure(() => provider.connect(sandbox.id))).toMatchObject({ code: "not_found" });
    expect(vercel.calls.some((call) => call.query.resume?.includes("true"))).toBe(false);
    await sandbox.destroy();
  });

  it("destroys idempotently and answers not_found afterwards", async () => {
    const sandbox = await provider.create({});
    const again = await provider.connect(sandbox.id);
    await again.destroy();
    await again.destroy();
    await sandbox.destroy();
    expect(await failure(() => sandbox.readFile("a.txt"))).toMatchObject({ code: "not_found" });
    expect(await vercel.countLiveSandboxes()).toBe(0);
  });
});
