// Background processes and preview links over the fake: what the contract suite does not pin down.
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDaytonaProvider } from "./daytona-provider.ts";
import { createDaytonaFake } from "./testing/index.ts";

const apiUrl = "https://daytona.process.test/api";
const apiKey = "process-key-3f0a";
const daytona = createDaytonaFake({ apiUrl, apiKey });
const server = setupServer(...daytona.handlers);
const provider = createDaytonaProvider({ apiUrl, apiKey, target: "us" });

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterAll(async () => {
  await provider.dispose();
  server.close();
  await daytona.close();
});

/** The first chunk of `stream`. */
async function firstChunk(stream: AsyncIterable<string>): Promise<string | undefined> {
  for await (const chunk of stream) return chunk;
  return undefined;
}

describe("daytona spawn", () => {
  it("starts the process as an async session command and refuses stdin calls as unsupported", async () => {
    await using sandbox = await provider.create({});
    daytona.clearCalls();
    const spawned = await sandbox.spawn(["sh", "-c", "echo started; exec sleep 30"]);
    const start = daytona.calls.find((call) => call.path.endsWith("/exec"));
    expect(start?.body).toMatchObject({ runAsync: true });
    await expect(spawned.writeStdin("x")).rejects.toMatchObject({ code: "unsupported_capability" });
    await expect(spawned.closeStdin()).rejects.toMatchObject({ code: "unsupported_capability" });
    await spawned.kill();
    expect((await spawned.wait()).exitCode).toBe(137);
  });

  it("passes on output shorter than a stream marker while the process still runs", async () => {
    await using sandbox = await provider.create({});
    // The SDK's demultiplexer alone would hold "y" back until more output or the end.
    const spawned = await sandbox.spawn(["sh", "-c", "printf y; exec sleep 30"]);
    expect(await firstChunk(spawned.stdout)).toBe("y");
    await spawned.kill();
    const result = await spawned.wait();
    // Passed on once, though both the stream and the REST read carried it.
    expect(result.stdout).toBe("y");
  });

  it("delivers spawn's stdin option, then ends with the command's own exit code", async () => {
    await using sandbox = await provider.create({});
    const spawned = await sandbox.spawn(["sh", "-c", "cat; exit 3"], { stdin: "line one\n" });
    const result = await spawned.wait();
    expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({
      exitCode: 3,
      stdout: "line one\n",
    });
    // Killing a process that has ended is not an error.
    await spawned.kill("SIGTERM");
  });

  it("kills a process at its timeoutMs and reports timedOut", async () => {
    await using sandbox = await provider.create({});
    const spawned = await sandbox.spawn(["sleep", "30"], { timeoutMs: 300 });
    const result = await spawned.wait();
    expect({ exitCode: result.exitCode, timedOut: result.timedOut }).toEqual({
      exitCode: 137,
      timedOut: true,
    });
  });

  it("refuses an unknown signal with invalid_request", async () => {
    await using sandbox = await provider.create({});
    const spawned = await sandbox.spawn(["sleep", "30"]);
    await expect(spawned.kill("SIGBOGUS" as "SIGTERM")).rejects.toMatchObject({ code: "invalid_request" });
    await spawned.kill();
    await spawned.wait();
  });
});

describe("daytona exposePort", () => {
  it("returns the preview link with its token header, which the preview host requires", async () => {
    await using sandbox = await provider.create({});
    const exposed = await sandbox.exposePort(8130);
    const token = exposed.headers?.["x-daytona-preview-token"];
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    expect(
      daytona.calls.some((call) => call.path === `/api/sandbox/${sandbox.vendorId}/ports/8130/preview-url`),
    ).toBe(true);
    const withoutToken = await fetch(exposed.url);
    expect(withoutToken.status).toBe(401);
    await withoutToken.body?.cancel();
    // Nothing listens on the port: the preview host answers 502 once the token is right.
    const withToken = await fetch(exposed.url, { headers: { ...exposed.headers } });
    expect(withToken.status).toBe(502);
    await withToken.body?.cancel();
  });

  it("refuses a port outside Daytona's preview range as unsupported before any call", async () => {
    await using sandbox = await provider.create({});
    daytona.clearCalls();
    await expect(sandbox.exposePort(80)).rejects.toMatchObject({ code: "unsupported_capability" });
    await expect(sandbox.exposePort(10_000)).rejects.toMatchObject({ code: "unsupported_capability" });
    expect(daytona.calls).toEqual([]);
  });

  it("maps a failed preview-link call by status", async () => {
    await using sandbox = await provider.create({});
    daytona.failNext({ kind: "status", status: 503 }, { route: "preview" });
    await expect(sandbox.exposePort(8131)).rejects.toMatchObject({ code: "provider_unavailable" });
  });
});
