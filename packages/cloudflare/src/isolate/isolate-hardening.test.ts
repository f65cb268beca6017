/**
 * Attacks on the isolate Worker and on local mode from the code they run and from token holders
 * (issue 15, classes 1–6), each asserting the outcome: in remote mode against the Worker under
 * miniflare on loopback, and in local mode where the class applies.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expectSandportError } from "@sandport/contract";
import type { RunCodeOptions, Sandbox } from "@sandport/core";
import { http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CloudflareIsolateProvider,
  createCloudflareIsolateProvider,
} from "../cloudflare-isolate-provider.ts";
import { resolveIsolateSettings } from "./isolate-settings.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate-worker.ts";
import { IsolateWorkerClient } from "./isolate-worker-client.ts";
import { defaultMaxFilesBytes, maxWorkspaceEntries } from "./isolate-worker-protocol.ts";

const token = "isolate-hardening-token-7c2f";
const caseTimeoutMs = 30_000;
const filesLimit = 4096;

/** A loopback HTTP server that counts the requests it gets. */
let counter: Server;
let counted = 0;
let counterPort = 0;
let isolateWorker: IsolateWorkerInstance;
const providers: Record<"remote" | "local", CloudflareIsolateProvider> = {} as never;

beforeAll(async () => {
  counter = createServer((_request, response) => {
    counted += 1;
    response.end("ok");
  });
  await new Promise<void>((resolve) => counter.listen(0, "127.0.0.1", resolve));
  counterPort = (counter.address() as AddressInfo).port;
  isolateWorker = await startIsolateWorker({ token, maxCodeBytes: 1 << 20, maxFilesBytes: 1 << 20 });
  providers.remote = createCloudflareIsolateProvider({
    mode: "remote",
    url: isolateWorker.url.href,
    token,
    maxFilesBytes: filesLimit,
  });
  providers.local = createCloudflareIsolateProvider({ mode: "local", engines: 1, maxFilesBytes: filesLimit });
}, caseTimeoutMs);

afterAll(async () => {
  await providers.local?.dispose();
  await isolateWorker?.dispose();
  await new Promise((resolve) => counter.close(resolve));
});

const run = (sandbox: Sandbox, code: string, options: Partial<RunCodeOptions> = {}) => {
  if (sandbox.runCode === undefined) throw new Error("runCode is missing");
  return sandbox.runCode(code, { language: "javascript", ...options });
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw request to the Worker, as any token holder may send. */
function raw(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(new URL(path, isolateWorker.url), { ...init, headers });
}

describe.each(["remote", "local"] as const)("%s mode", (mode) => {
  const provider = () => providers[mode];

  it(
    "stops a timed-out run: it makes no request after its result",
    async () => {
      await using sandbox = await provider().create({
        network: { egress: { allow: [`127.0.0.1:${counterPort}`] } },
      });
      const before = counted;
      const result = await run(
        sandbox,
        `setInterval(() => { fetch("http://127.0.0.1:${counterPort}/tick").catch(() => {}); }, 20);
         await new Promise(() => {});`,
        { timeoutMs: 600 },
      );
      expect(result.timedOut).toBe(true);
      // A request already past the gate at the timeout may still land; none may start after it.
      await sleep(150);
      const atResult = counted;
      expect(atResult).toBeGreaterThan(before);
      await sleep(800);
      expect(counted).toBe(atResult);
    },
    caseTimeoutMs,
  );

  it(
    "opens only the listed port of an allowlisted address, and only 80 and 443 for a bare entry",
    async () => {
      const other = createServer((_request, response) => response.end("other"));
      await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
      const otherPort = (other.address() as AddressInfo).port;
      const reach = async (sandbox: Sandbox, port: number) => {
        const url = JSON.stringify(`http://127.0.0.1:${port}/`);
        const code = `try { return "reached: " + (await (await fetch(${url})).text()); } catch (error) { return "refused: " + error.message; }`;
        return (await run(sandbox, code)).value;
      };
      try {
        await using bare = await provider().create({ network: { egress: { allow: ["127.0.0.1"] } } });
        expect(await reach(bare, counterPort)).toMatch(/^refused: .*port \d+ is not allowed/);
        await using listed = await provider().create({
          network: { egress: { allow: [`127.0.0.1:${counterPort}`] } },
        });
        expect(await reach(listed, counterPort)).toBe("reached: ok");
        expect(await reach(listed, otherPort)).toMatch(/^refused: .*port \d+ is not allowed/);
      } finally {
        await new Promise((resolve) => other.close(resolve));
      }
    },
    caseTimeoutMs,
  );

  it(
    "keeps maxOutputBytes and the value cap when the code patches the runner's globals",
    async () => {
      await using sandbox = await provider().create({});
      const result = await run(
        sandbox,
        `TextEncoder.prototype.encode = function () { return new Uint8Array(0); };
         Array.prototype.join = function () { return "forged"; };
         JSON.stringify = () => '"forged"';
         String.prototype.slice = function () { return this; };
         for (let i = 0; i < 20; i++) console.log("x".repeat(10000));
         console.error("y".repeat(10000));
         return "z".repeat(10000);`,
        { maxOutputBytes: 100 },
      );
      expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(100);
      expect(Buffer.byteLength(result.stderr)).toBeLessThanOrEqual(100);
      expect(Buffer.byteLength(result.output ?? "")).toBeLessThanOrEqual(100);
      expect(result.stdout).toMatch(/^x+$/);
      expect(result.truncated).toBe(true);
      expect(result.value).toBeUndefined();
    },
    caseTimeoutMs,
  );

  it(
    "refuses file names forged through a patched Array.prototype.push and keeps the files as they were",
    async () => {
      await using sandbox = await provider().create({});
      await sandbox.writeFile("kept.txt", "before");
      const result = await run(
        sandbox,
        `import { writeFileSync } from "node:fs";
         writeFileSync("kept.txt", "after");
         const push = Array.prototype.push;
         Array.prototype.push = function (...items) {
           const item = items[0];
           if (Array.isArray(item) && item.length === 2 && item[1] instanceof Uint8Array)
             return push.call(this, ["../escape.txt", new Uint8Array(3)], ...items);
           return push.apply(this, items);
         };`,
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("not a valid workspace path");
      expect(new TextDecoder().decode(await sandbox.readFile("kept.txt"))).toBe("before");
    },
    caseTimeoutMs,
  );

  it(
    "counts path bytes and entries in the files limit",
    async () => {
      await using sandbox = await provider().create({});
      const long = "n".repeat(1300);
      await sandbox.writeFile(`${long}1`, "");
      await sandbox.writeFile(`${long}2`, "");
      await sandbox.writeFile(`${long}3`, "");
      await expectSandportError(() => sandbox.writeFile(`${long}4`, ""), "output_limit");
      await expectSandportError(() => sandbox.makeDirectory(`${long}d`), "output_limit");
      await expectSandportError(() => sandbox.writeFile("p".repeat(4097), ""), "invalid_request");
      const result = await run(
        sandbox,
        `import { writeFileSync } from "node:fs";
         for (let i = 0; i < 400; i++) writeFileSync("empty-" + "p".repeat(40) + i, "");`,
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("contents and paths");
      await expectSandportError(() => sandbox.readFile(`empty-${"p".repeat(40)}0`), "not_found");
    },
    caseTimeoutMs,
  );

  it(
    "treats __proto__ and constructor as ordinary file names",
    async () => {
      await using sandbox = await provider().create({});
      await sandbox.writeFile("__proto__", "a");
      await sandbox.writeFile("constructor", "b");
      const result = await run(
        sandbox,
        `import { readFileSync, writeFileSync } from "node:fs";
         writeFileSync("toString", "c");
         return readFileSync("__proto__", "utf8") + readFileSync("constructor", "utf8");`,
      );
      expect(result).toMatchObject({ exitCode: 0, value: "ab" });
      expect((await run(sandbox, "return 1")).exitCode).toBe(0);
      await sandbox.removeFile("constructor");
      const names = (await sandbox.listFiles(".")).map((entry) => entry.name).sort();
      expect(names).toEqual(["__proto__", "toString"]);
      expect(new TextDecoder().decode(await sandbox.readFile("toString"))).toBe("c");
    },
    caseTimeoutMs,
  );

  it(
    "refuses a file under a file's path at write time, so runs go on",
    async () => {
      await using sandbox = await provider().create({});
      await sandbox.writeFile("a", "file");
      await expectSandportError(() => sandbox.writeFile("a/b", "x"), "invalid_request");
      expect((await run(sandbox, "return 1")).exitCode).toBe(0);
    },
    caseTimeoutMs,
  );

  it(
    "serializes a write with the run in progress, so the write respects the limit",
    async () => {
      await using sandbox = await provider().create({});
      const running = run(
        sandbox,
        `import { writeFileSync } from "node:fs";
         await new Promise((resolve) => setTimeout(resolve, 300));
         writeFileSync("from-run.bin", new Uint8Array(3000));`,
      );
      await sleep(100);
      const write = sandbox.writeFile("from-call.bin", new Uint8Array(3000));
      // Its refusal may come before the run ends; it is asserted below, not left unhandled.
      write.catch(() => {});
      expect((await running).exitCode).toBe(0);
      await expectSandportError(() => write, "output_limit");
      expect((await sandbox.readFile("from-run.bin")).byteLength).toBe(3000);
    },
    caseTimeoutMs,
  );

  it(
    "answers cleanly and at once when the sandbox is destroyed during a run",
    async () => {
      const sandbox = await provider().create({});
      const running = run(sandbox, "await new Promise((resolve) => setTimeout(resolve, 3000)); return 1;", {
        timeoutMs: 10_000,
      });
      await sleep(200);
      await sandbox.destroy();
      const result = await running.catch((error: unknown) => error as Error);
      // Never a 500, and never the run going on to its end: destroy ends it, which reports the
      // destruction (or, when destroy won the race to the sandbox, finds the sandbox gone).
      if (result instanceof Error) expect(result).toMatchObject({ code: "not_found" });
      else {
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toContain("destroyed during the run");
      }
      await expectSandportError(() => provider().connect(sandbox.id), "not_found");
    },
    caseTimeoutMs,
  );

  it("refuses unbounded labels and env, naming the field", async () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`l${index}`, "v"]));
    const tooMany = await expectSandportError(() => provider().create({ labels }), "invalid_request");
    expect(tooMany.message).toContain("labels");
    const env = { BIG: "x".repeat(300 * 1024) };
    const tooBig = await expectSandportError(() => provider().create({ env }), "invalid_request");
    expect(tooBig.message).toContain("env");
    await using sandbox = await provider().create({});
    const runEnv = await expectSandportError(() => run(sandbox, "return 1", { env }), "invalid_request");
    expect(runEnv.message).toContain("env");
  });
});

describe("the isolate Worker against a token holder", () => {
  it("refuses unbounded labels and env itself, naming the field", async () => {
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`l${index}`, "v"]));
    const response = await raw("/v1/sandboxes", { method: "POST", body: JSON.stringify({ labels }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: "invalid_request", message: expect.stringContaining("labels") },
    });
    const env = await raw("/v1/sandboxes", {
      method: "POST",
      body: JSON.stringify({ env: { BIG: "x".repeat(300 * 1024) } }),
    });
    expect(await env.json()).toMatchObject({
      error: { code: "invalid_request", message: expect.stringContaining("env") },
    });
  });

  it("checks a body's size while reading it, not after", async () => {
    const created = (await (await raw("/v1/sandboxes", { method: "POST", body: "{}" })).json()) as {
      id: string;
    };
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.byteLength;
        if (sent > 16 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const outcome = await raw(`/v1/sandboxes/${created.id}/files/big.bin`, {
      method: "PUT",
      body,
      duplex: "half",
    } as RequestInit).then(
      (response) => response.status,
      (error: unknown) => error as Error & { cause?: { code?: string } },
    );
    // The Worker stops reading past its limit: a client still sending sees either the 413 or,
    // once the Worker stops draining an abusive body, a reset connection. Never the whole body read.
    if (typeof outcome === "number") expect(outcome).toBe(413);
    else expect(outcome.cause?.code).toMatch(/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
    const json = await raw("/v1/sandboxes", {
      method: "POST",
      body: `{"labels":{},"x":"${"y".repeat(2 << 20)}"}`,
    });
    expect(json.status).toBe(400);
    await raw(`/v1/sandboxes/${created.id}`, { method: "DELETE" });
  });

  it("refuses a workspace holding both a and a/b, and file names that are not workspace paths", async () => {
    const execute = (files: Record<string, string>) =>
      raw("/v1/execute", {
        method: "POST",
        body: JSON.stringify({
          code: "export default 1",
          timeoutMs: 5000,
          maxOutputBytes: 1000,
          maxFilesBytes: 1 << 20,
          filesystem: true,
          files,
        }),
      });
    const conflict = await execute({ a: "", "a/b": "" });
    expect(await conflict.json()).toMatchObject({ error: { code: "invalid_request" } });
    const outside = await execute({ "../x": "" });
    expect(await outside.json()).toMatchObject({ error: { code: "invalid_request" } });
    const proto = await execute({ __proto__: "", constructor: "" });
    expect(await proto.json()).toMatchObject({ exitCode: 0, files: { constructor: "" } });
  });

  it(
    `refuses a run leaving more than ${maxWorkspaceEntries} files and directories`,
    async () => {
      const response = await raw("/v1/execute", {
        method: "POST",
        body: JSON.stringify({
          code: `import { writeFileSync } from "node:fs"; export default () => { for (let i = 0; i <= ${maxWorkspaceEntries}; i++) writeFileSync("f" + i, ""); };`,
          timeoutMs: 20_000,
          maxOutputBytes: 10_000,
          maxFilesBytes: 1 << 20,
          filesystem: true,
        }),
      });
      const result = (await response.json()) as { exitCode: number; stderr: string; files?: unknown };
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`over the limit of ${maxWorkspaceEntries}`);
      expect(result.files).toBeUndefined();
    },
    caseTimeoutMs,
  );

  it(
    "serves the stateless route only to a local engine, never as deployed",
    async () => {
      // As wrangler deploys it: a timed-out run there could not be stopped with its engine.
      const deployed = await startIsolateWorker({
        token,
        maxCodeBytes: 1 << 20,
        maxFilesBytes: 1 << 20,
        statelessRoute: false,
      });
      try {
        const response = await fetch(new URL("/v1/execute", deployed.url), {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({
            code: "export default 1",
            timeoutMs: 1000,
            maxOutputBytes: 100,
            maxFilesBytes: 0,
          }),
        });
        expect(response.status).toBe(404);
      } finally {
        await deployed.dispose();
      }
    },
    caseTimeoutMs,
  );

  it("defaults the files limit below the 32 MiB a run carries over Workers RPC", async () => {
    expect(defaultMaxFilesBytes).toBeLessThanOrEqual(32 * 1024 * 1024 - 4 * 1024 * 1024);
    expect(resolveIsolateSettings({}).maxFilesBytes).toBe(defaultMaxFilesBytes);
  });
});

describe("the remote client", () => {
  const base = "https://isolate-worker-hardening.test";
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
  afterAll(() => server.close());
  const client = () =>
    new IsolateWorkerClient(resolveIsolateSettings({ mode: "remote", url: base, token }), {});

  it("gives up on an answer that never comes at its deadline", async () => {
    server.use(http.get(`${base}/v1/hung`, () => new Promise<Response>(() => {})));
    const started = Date.now();
    const error = await expectSandportError(
      () => client().send({ method: "GET", path: "/v1/hung", what: "hung", timeoutMs: 300 }),
      "timeout",
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).not.toContain(token);
  });
});
