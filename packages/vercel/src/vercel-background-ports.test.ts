// spawn through Vercel detached commands, and exposePort through the ports declared at create:
// what travels on the wire (signal numbers, declared ports) and what the adapter refuses.
import { SandportError } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createVercelFake, type VercelRoute } from "./testing/index.ts";
import { createVercelProvider } from "./vercel-provider.ts";

const credentials = { token: "spawn-token-9b1d", teamId: "team_spawn", projectId: "prj_spawn" };
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

/** Runs `call`, expecting a SandportError without the token anywhere in it. */
async function failure(call: () => Promise<unknown>): Promise<SandportError> {
  const caught = await call().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(SandportError.isInstance(caught), `expected a SandportError, got ${String(caught)}`).toBe(true);
  const error = caught as SandportError;
  expect(`${error.message} ${JSON.stringify(error)} ${String(error)}`).not.toContain(credentials.token);
  return error;
}

function callsTo(route: VercelRoute) {
  return vercel.calls.filter((call) => call.route === route);
}

/** Reads a stream until its text contains `text`. */
async function readUntil(chunks: AsyncIterable<string>, text: string): Promise<string> {
  let seen = "";
  for await (const chunk of chunks) {
    seen += chunk;
    if (seen.includes(text)) break;
  }
  return seen;
}

describe("vercel spawn", () => {
  it("declares background without process stdin, and refuses writeStdin, closeStdin and a stdin option", async () => {
    expect(provider.capabilities.features).toMatchObject({
      background: true,
      processStdin: false,
      stdin: false,
    });
    await using sandbox = await provider.create({});
    vercel.clearCalls();
    expect(await failure(() => sandbox.spawn(["cat"], { stdin: "input" }))).toMatchObject({
      code: "unsupported_capability",
    });
    expect(callsTo("command"), "a refused spawn sent a command").toHaveLength(0);
    const spawned = await sandbox.spawn(["sh", "-c", "echo ready; exec sleep 30"]);
    await readUntil(spawned.stdout, "ready\n");
    expect(await failure(() => spawned.writeStdin("hello\n"))).toMatchObject({
      code: "unsupported_capability",
      providerId: "vercel",
    });
    expect(await failure(() => spawned.closeStdin())).toMatchObject({ code: "unsupported_capability" });
    await spawned.kill();
    expect((await spawned.wait()).exitCode).toBe(137);
  }, 20_000);

  it("sends kill signals by number (SIGUSR1 = 10, kill() = SIGKILL 9) and gives stderr and output", async () => {
    await using sandbox = await provider.create({});
    const spawned = await sandbox.spawn([
      "sh",
      "-c",
      "trap 'echo got-usr1; exit 7' USR1; echo ready; echo warn >&2; while :; do sleep 0.05; done",
    ]);
    await readUntil(spawned.stdout, "ready\n");
    await spawned.kill("SIGUSR1");
    const result = await spawned.wait();
    expect(result).toMatchObject({ exitCode: 7, stdout: "ready\ngot-usr1\n", timedOut: false });
    // The signal reaches the process group: the shell may also report its sleeping child's end.
    expect(result.stderr.startsWith("warn\n")).toBe(true);
    expect(result.output).toContain("warn\n");
    expect(callsTo("command-kill").map((call) => call.body)).toEqual([{ signal: 10 }]);

    const second = await sandbox.spawn(["sleep", "30"]);
    await second.kill();
    expect((await second.wait()).exitCode).toBe(137);
    expect(callsTo("command-kill").map((call) => call.body)).toEqual([{ signal: 10 }, { signal: 9 }]);
    await expect(second.kill("SIGBOGUS" as "SIGTERM")).rejects.toMatchObject({ code: "invalid_request" });
  }, 20_000);

  it("kill of a process that has ended resolves without a request; a kill the API refuses while it runs is an error", async () => {
    await using sandbox = await provider.create({});
    const ended = await sandbox.spawn(["true"]);
    expect((await ended.wait()).exitCode).toBe(0);
    vercel.clearCalls();
    await ended.kill("SIGTERM");
    expect(callsTo("command-kill")).toHaveLength(0);

    const running = await sandbox.spawn(["sleep", "30"]);
    vercel.failNext({ kind: "status", status: 403, code: "forbidden" }, { route: "command-kill" });
    expect(await failure(() => running.kill("SIGTERM"))).toMatchObject({ code: "permission_denied" });
    // Still running: the refusal was not taken for an ended process.
    await running.kill();
    expect((await running.wait()).exitCode).toBe(137);
  }, 20_000);

  it("kills a spawned process at timeoutMs (timedOut, 137) and on abort", async () => {
    await using sandbox = await provider.create({});
    const timed = await sandbox.spawn(["sleep", "30"], { timeoutMs: 300 });
    expect(await timed.wait()).toMatchObject({ exitCode: 137, timedOut: true });
    const controller = new AbortController();
    const aborted = await sandbox.spawn(["sleep", "30"], { signal: controller.signal });
    controller.abort();
    expect(await aborted.wait()).toMatchObject({ exitCode: 137, timedOut: false });
    // Vercel's own per-command timeout is the backstop, 2 s past timeoutMs.
    const started = callsTo("command").map((call) => (call.body as { timeout?: number }).timeout);
    expect(started).toEqual([2_300, undefined]);
  }, 20_000);
});

describe("vercel ports", () => {
  it("declares the ports of providerOptions at create (replacing the ports setting) and of the setting otherwise", async () => {
    const withDefaults = createVercelProvider({ providerId: "vercel", ...credentials, ports: [3000] });
    await using first = await withDefaults.create({});
    await using second = await withDefaults.create({ providerOptions: { vercel: { ports: [8080, 9000] } } });
    const bodies = callsTo("create").map((call) => (call.body as { ports?: unknown }).ports);
    expect(bodies).toEqual([[3000], [8080, 9000]]);
    expect((await first.exposePort(3000)).url).toMatch(/^https:\/\/[a-z0-9-]+\.vercel\.run$/);
    expect(await failure(() => second.exposePort(3000))).toMatchObject({ code: "invalid_request" });
    const urls = [(await second.exposePort(8080)).url, (await second.exposePort(9000)).url];
    expect(new Set(urls).size).toBe(2);
    // A handle from connect() knows the same routes (they come with GET /v2/sandboxes/{name}).
    const again = await provider.connect(second.id);
    expect((await again.exposePort(9000)).url).toBe(urls[1]);
  }, 20_000);

  it("refuses a port not declared at create with invalid_request naming the option, sending nothing", async () => {
    await using sandbox = await provider.create({});
    vercel.clearCalls();
    const error = await failure(() => sandbox.exposePort(8123));
    expect(error).toMatchObject({ code: "invalid_request", providerId: "vercel" });
    expect(error.message).toContain("providerOptions.vercel.ports");
    expect(error.message).toContain("declared: none");
    expect(vercel.calls).toHaveLength(0);
  });

  it("refuses malformed ports in providerOptions and in the ports setting before any request", async () => {
    for (const ports of [[0], [8080, 8080], Array.from({ length: 16 }, (_, index) => 3000 + index), [80.5]]) {
      expect(
        await failure(() => provider.create({ providerOptions: { vercel: { ports } } })),
        JSON.stringify(ports),
      ).toMatchObject({ code: "invalid_request" });
    }
    const badSetting = createVercelProvider({ providerId: "vercel", ...credentials, ports: [70_000] });
    expect(await failure(() => badSetting.create({}))).toMatchObject({ code: "config_invalid" });
    expect(callsTo("create")).toHaveLength(0);
  });

  it("serves the domain while the sandbox lives; after destroy its domain no longer leads to it", async () => {
    const sandbox = await provider.create({ providerOptions: { vercel: { ports: [8125] } } });
    const spawned = await sandbox.spawn([
      "node",
      "-e",
      'require("node:http").createServer((q, s) => s.end(q.method + " " + q.url)).listen(8125, "127.0.0.1", () => console.log("listening"))',
    ]);
    await readUntil(spawned.stdout, "listening");
    const { url } = await sandbox.exposePort(8125);
    const response = await fetch(`${url}/path?x=1`, { method: "POST", body: "data" });
    expect([response.status, await response.text()]).toEqual([200, "POST /path?x=1"]);
    await sandbox.destroy();
    expect((await fetch(url)).status).toBe(404);
  }, 20_000);
});
