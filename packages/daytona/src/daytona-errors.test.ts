import { SandportError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";
import { createDaytonaFake } from "./testing/index.ts";

const apiUrl = "https://daytona.errors.test/api";
const apiKey = "errors-key-SECRET-91b7";
const daytona = createDaytonaFake({ apiUrl, apiKey });
const server = setupServer(...daytona.handlers);
const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(() => daytona.clearFaults());
afterAll(async () => {
  await provider.dispose();
  server.close();
  await daytona.close();
});

/** The error `call` rejects with, checked to be a sandport error that never shows the key. */
async function failure(call: () => Promise<unknown>): Promise<SandportError> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!SandportError.isInstance(error)) throw new Error(`expected a SandportError, got ${String(error)}`);
  const texts = [
    error.message,
    JSON.stringify(error.toJSON()),
    String((error.cause as Error | undefined)?.message),
  ];
  for (const text of texts) expect(text).not.toContain(apiKey);
  return error;
}

describe("daytona errors", () => {
  it.each([
    [401, "authentication", false],
    [403, "permission_denied", false],
    [404, "not_found", false],
    [409, "provider_unavailable", false],
    [500, "provider_unavailable", true],
    [503, "provider_unavailable", true],
  ] as const)(
    "maps HTTP %i on create to %s (retryable: %s), keeping the SDK error as cause",
    async (status, code, retryable) => {
      daytona.failNext({ kind: "status", status }, { route: "create" });
      const error = await failure(() => provider.create({}));
      expect(error.code).toBe(code);
      expect(error.isRetryable).toBe(retryable);
      expect(error.providerId).toBe("daytona");
      expect((error.cause as { statusCode?: number }).statusCode).toBe(status);
    },
  );

  it("maps 429 with Retry-After to rate_limited with retryAfterMs", async () => {
    daytona.failNext({ kind: "status", status: 429, retryAfter: "7" }, { route: "create" });
    const error = await failure(() => provider.create({}));
    expect(error.code).toBe("rate_limited");
    expect(error.retryAfterMs).toBe(7_000);
    expect(error.isRetryable).toBe(true);
  });

  it("maps a rejected key to authentication naming the setting, never the key", async () => {
    const wrong = createDaytonaProvider({ apiUrl, apiKey: `${apiKey}-wrong`, target: "us" });
    const error = await failure(() => wrong.create({}));
    expect(error.code).toBe("authentication");
    expect(error.message).toContain("providers.daytona.apiKey");
    expect(error.message).not.toContain(`${apiKey}-wrong`);
    await wrong.dispose();
  });

  it("maps toolbox failures by status: 404 is not_found, 500 provider_unavailable", async () => {
    await using sandbox = await provider.create({});
    daytona.failNext({ kind: "status", status: 500 }, { route: "toolbox" });
    expect((await failure(() => sandbox.readFile("a.txt"))).code).toBe("provider_unavailable");
    expect((await failure(() => sandbox.readFile("missing.txt"))).code).toBe("not_found");
    expect((await failure(() => sandbox.writeFile("/etc/escape", "x"))).code).toBe("invalid_request");
  });

  it("reports a connect of an unknown id as not_found, and a destroyed sandbox as not_found", async () => {
    expect((await failure(() => provider.connect("daytona:fake-unknown"))).code).toBe("not_found");
    const sandbox = await provider.create({});
    await sandbox.destroy();
    await sandbox.destroy();
    expect((await failure(() => provider.connect(sandbox.id))).code).toBe("not_found");
    expect((await failure(() => sandbox.exec(["true"]))).code).toBe("not_found");
  });

  it("fails a command whose log stream drops before its end instead of reporting a made-up result", async () => {
    await using sandbox = await provider.create({});
    daytona.failNext({ kind: "drop-stream" });
    const error = await failure(() => sandbox.exec(["sh", "-c", "sleep 5; echo late"]));
    expect(error.code).toBe("provider_unavailable");
    expect(error.isRetryable).toBe(false);
  });
});
