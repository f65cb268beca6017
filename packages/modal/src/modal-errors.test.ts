// Faults of Modal's API, injected in the fake, reach the caller as typed sandport errors with the
// SDK's error as cause, no credential in any message, the SDK's own retries counted, and nothing
// left behind.
import { SandportError } from "@sandport/core";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createModalSandboxProvider } from "./modal-sandbox-provider.ts";
import { createModalFake, grpcStatus } from "./testing/index.ts";

const credentials = { tokenId: "ak-errors-2", tokenSecret: "as-errors-very-secret-2" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);
const provider = createModalSandboxProvider({ providerId: "modal-errors", ...credentials });

afterAll(async () => {
  await provider.dispose();
  await modal.close();
});

beforeEach(() => modal.clearCalls());

async function rejection(call: () => Promise<unknown>): Promise<SandportError> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(SandportError.isInstance(error), `expected a SandportError, got ${String(error)}`).toBe(true);
  const typed = error as SandportError;
  // The secret appears neither in the message nor in the JSON form.
  expect(typed.message).not.toContain(credentials.tokenSecret);
  expect(JSON.stringify(typed)).not.toContain(credentials.tokenSecret);
  expect(typed.providerId).toBe("modal-errors");
  return typed;
}

describe("modal errors", () => {
  it.each([
    [grpcStatus.UNAUTHENTICATED, "authentication", false],
    [grpcStatus.PERMISSION_DENIED, "permission_denied", false],
    [grpcStatus.NOT_FOUND, "not_found", false],
    [grpcStatus.RESOURCE_EXHAUSTED, "rate_limited", true],
    [grpcStatus.INVALID_ARGUMENT, "invalid_request", false],
  ])(
    "maps gRPC status %i on SandboxCreateV2 to %s and creates nothing",
    async (code, expected, retryable) => {
      // The server's details carry the secret: the message must not repeat them.
      modal.failNext("SandboxCreateV2", {
        kind: "status",
        code,
        details: `refused ${credentials.tokenSecret}`,
      });
      const error = await rejection(() => provider.create({}));
      expect(error.code).toBe(expected);
      expect(error.isRetryable).toBe(retryable);
      expect(error.cause).toBeDefined();
      expect(await modal.countLiveSandboxes()).toBe(0);
    },
  );

  it("names the settings and environment variables when the token is refused", async () => {
    modal.failNext("SandboxCreateV2", { kind: "status", code: grpcStatus.UNAUTHENTICATED });
    const error = await rejection(() => provider.create({}));
    expect(error.message).toContain("MODAL_TOKEN_ID");
    expect(error.message).toContain("providers.modal-errors.tokenId");
  });

  it("maps UNAVAILABLE to retryable provider_unavailable after the SDK's own three retries", async () => {
    modal.failNext("SandboxCreateV2", { kind: "status", code: grpcStatus.UNAVAILABLE }, 4);
    const error = await rejection(() => provider.create({}));
    expect(error.code).toBe("provider_unavailable");
    expect(error.isRetryable).toBe(true);
    // One call and three retries by the SDK, none by the adapter.
    expect(modal.callsOf("SandboxCreateV2")).toHaveLength(4);
    expect(await modal.countLiveSandboxes()).toBe(0);
  });

  it("lets the SDK absorb a transient UNAVAILABLE", async () => {
    modal.failNext("SandboxCreateV2", { kind: "status", code: grpcStatus.UNAVAILABLE }, 2);
    await using sandbox = await provider.create({});
    expect(modal.callsOf("SandboxCreateV2")).toHaveLength(3);
    expect((await sandbox.exec(["true"])).exitCode).toBe(0);
  });

  it("maps DEADLINE_EXCEEDED (after the SDK's retries) to timeout", async () => {
    modal.failNext("AppGetOrCreate", { kind: "status", code: grpcStatus.DEADLINE_EXCEEDED }, 4);
    const fresh = createModalSandboxProvider({ providerId: "modal-errors", ...credentials });
    const error = await rejection(() => fresh.create({}));
    expect(error.code).toBe("timeout");
    await fresh.dispose();
  });

  it("maps a refused token on the router to authentication, and a finished task to not_found", async () => {
    await using sandbox = await provider.create({});
    // The SDK refreshes the router token once on UNAUTHENTICATED, then gives up.
    modal.failNext("TaskExecStart", { kind: "status", code: grpcStatus.UNAUTHENTICATED }, 2);
    expect((await rejection(() => sandbox.exec(["true"]))).code).toBe("authentication");
    modal.failNext("TaskExecStart", { kind: "status", code: grpcStatus.NOT_FOUND });
    expect((await rejection(() => sandbox.exec(["true"]))).code).toBe("not_found");
  });

  it("keeps the whole output when the stdout stream drops mid-command (the SDK resumes at its offset)", async () => {
    await using sandbox = await provider.create({});
    modal.failNext("TaskExecStdioRead", { kind: "drop-stream" });
    const result = await sandbox.exec(["sh", "-c", "echo one; sleep 0.2; echo two"]);
    expect(result.stdout).toBe("one\ntwo\n");
    const offsets = modal.callsOf("TaskExecStdioRead").map((call) => call.request.offset);
    expect(offsets.some((offset) => Number(offset) > 0)).toBe(true);
  });

  it("serves slow answers without failing", async () => {
    modal.failNext("SandboxCreateV2", { kind: "slow", delayMs: 300 });
    const started = Date.now();
    await using _sandbox = await provider.create({});
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("rejects create aborted while Modal is slow at once, and terminates the sandbox that appears later", async () => {
    modal.failNext("SandboxCreateV2", { kind: "slow", delayMs: 400 });
    const controller = new AbortController();
    const creating = provider.create({}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await rejection(() => creating);
    expect(error.code).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(300);
    // The sandbox the SDK finished creating is terminated, not leaked.
    const deadline = Date.now() + 5_000;
    while (modal.callsOf("SandboxTerminateV2").length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(modal.callsOf("SandboxCreateV2")).toHaveLength(1);
    expect(modal.callsOf("SandboxTerminateV2")).toHaveLength(1);
    expect(await modal.countLiveSandboxes()).toBe(0);
  });

  it("fails without credentials at the first call, naming both settings and variables, never at construction", async () => {
    const saved = { id: process.env.MODAL_TOKEN_ID, secret: process.env.MODAL_TOKEN_SECRET };
    delete process.env.MODAL_TOKEN_ID;
    delete process.env.MODAL_TOKEN_SECRET;
    try {
      const bare = createModalSandboxProvider({ providerId: "modal-errors" });
      const error = await rejection(() => bare.create({}));
      expect(error.code).toBe("authentication");
      for (const name of ["providers.modal-errors.tokenId", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"]) {
        expect(error.message).toContain(name);
      }
      expect(modal.calls).toHaveLength(0);
    } finally {
      if (saved.id !== undefined) process.env.MODAL_TOKEN_ID = saved.id;
      if (saved.secret !== undefined) process.env.MODAL_TOKEN_SECRET = saved.secret;
    }
  });

  it("is refused by the fake with wrong credentials, as authentication without the secret", async () => {
    const wrong = createModalSandboxProvider({
      providerId: "modal-errors",
      tokenId: "ak-wrong",
      tokenSecret: credentials.tokenSecret,
    });
    const error = await rejection(() => wrong.create({}));
    expect(error.code).toBe("authentication");
    await wrong.dispose();
  });

  it("records no credential in the calls", () => {
    expect(JSON.stringify(modal.calls)).not.toContain(credentials.tokenSecret);
  });
});
