/**
 * The file calls beyond read and write (list, stat, make directory, remove, rename) and the
 * combined output of isolates, in local mode and in remote mode against the isolate Worker on loopback:
 * both keep directories as entries, so code sees what the calls made and the calls see what code
 * left.
 */
import { expectSandportError } from "@sandport/contract";
import type { Sandbox, SandboxProvider } from "@sandport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "../cloudflare-isolate-provider.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate-worker.ts";

const token = "file-calls-token-7c2b91";
let isolateWorker: IsolateWorkerInstance | undefined;
const local = createCloudflareIsolateProvider({ mode: "local", providerId: "edge-local" });
let remote: SandboxProvider | undefined;

beforeAll(async () => {
  isolateWorker = await startIsolateWorker({ token, maxCodeBytes: 1024 * 1024, maxFilesBytes: 1024 * 1024 });
  remote = createCloudflareIsolateProvider({
    mode: "remote",
    url: isolateWorker.url.href,
    token,
    providerId: "edge",
  });
});
afterAll(async () => {
  await local.dispose();
  await isolateWorker?.dispose();
});

const modes: [string, () => SandboxProvider][] = [
  ["local", () => local],
  ["remote", () => remote as SandboxProvider],
];

async function run(sandbox: Sandbox, code: string): Promise<unknown> {
  const result = await sandbox.runCode?.(code, { language: "javascript" });
  expect(result?.exitCode, result?.stderr).toBe(0);
  return result?.value;
}

describe.each(modes)("isolate file calls (%s mode)", (mode, provider) => {
  const providerId = mode === "local" ? "edge-local" : "edge";

  it("makes, lists, describes, renames and removes entries, reporting absolute workspace paths", async () => {
    await using sandbox = await provider().create({});
    await sandbox.writeFile("docs/a.txt", "hello");
    await sandbox.makeDirectory("docs/empty");
    await sandbox.makeDirectory("deep/er/est", { recursive: true });
    const before = Date.now();
    const listing = await sandbox.listFiles("docs");
    expect(listing.map(({ name, path, type, size }) => ({ name, path, type, size }))).toEqual([
      { name: "a.txt", path: "/workspace/docs/a.txt", type: "file", size: 5 },
      { name: "empty", path: "/workspace/docs/empty", type: "directory", size: 0 },
    ]);
    expect(listing[0]?.modifiedAt).toBeInstanceOf(Date);
    expect(Math.abs((listing[0]?.modifiedAt.getTime() ?? 0) - before)).toBeLessThan(60_000);
    const root = await sandbox.listFiles("/workspace", { recursive: true });
    expect(root.map((entry) => entry.path)).toEqual([
      "/workspace/deep",
      "/workspace/deep/er",
      "/workspace/deep/er/est",
      "/workspace/docs",
      "/workspace/docs/a.txt",
      "/workspace/docs/empty",
    ]);
    expect(await sandbox.statFile(".")).toMatchObject({
      name: "workspace",
      path: "/workspace",
      type: "directory",
    });
    await sandbox.renameFile("docs/a.txt", "deep/b.txt");
    expect(new TextDecoder().decode(await sandbox.readFile("deep/b.txt"))).toBe("hello");
    await sandbox.renameFile("deep", "docs/moved");
    expect(await sandbox.statFile("docs/moved/er/est")).toMatchObject({ type: "directory" });
    await sandbox.removeFile("docs/moved/b.txt");
    // What held a removed file stays, as on any filesystem.
    expect((await sandbox.listFiles("docs/moved")).map((entry) => entry.name)).toEqual(["er"]);
    await sandbox.removeFile("docs", { recursive: true });
    expect(await sandbox.listFiles(".")).toEqual([]);
  });

  it("shows code the directories the calls made, and the calls the directories code made", async () => {
    await using sandbox = await provider().create({});
    await sandbox.makeDirectory("made/inner", { recursive: true });
    const seen = await run(
      sandbox,
      [
        'import fs from "node:fs";',
        'const seen = { made: fs.statSync("made/inner").isDirectory(), entries: fs.readdirSync("made") };',
        'fs.mkdirSync("from-code/deep", { recursive: true });',
        'fs.rmSync("made", { recursive: true });',
        "return seen;",
      ].join("\n"),
    );
    expect(seen).toEqual({ made: true, entries: ["inner"] });
    expect((await sandbox.listFiles(".", { recursive: true })).map((entry) => entry.path)).toEqual([
      "/workspace/from-code",
      "/workspace/from-code/deep",
    ]);
    await expectSandportError(() => sandbox.statFile("made"), "not_found");
    // And the next run still finds the empty directories.
    expect(await run(sandbox, 'import fs from "node:fs";\nreturn fs.readdirSync("from-code");')).toEqual([
      "deep",
    ]);
  });

  it("answers each failure with one code, naming the path, and always with its provider", async () => {
    await using sandbox = await provider().create({});
    await sandbox.writeFile("dir/file.txt", "x");
    await sandbox.writeFile("dir/other.txt", "y");
    await sandbox.makeDirectory("dir/sub");
    const failures: [string, () => Promise<unknown>, string][] = [
      ["read a directory", () => sandbox.readFile("dir"), "invalid_request"],
      ["list a file", () => sandbox.listFiles("dir/file.txt"), "invalid_request"],
      ["list nothing", () => sandbox.listFiles("none"), "not_found"],
      ["stat nothing", () => sandbox.statFile("dir/none"), "not_found"],
      ["make an existing directory", () => sandbox.makeDirectory("dir/sub"), "invalid_request"],
      [
        "make over a file",
        () => sandbox.makeDirectory("dir/file.txt", { recursive: true }),
        "invalid_request",
      ],
      ["make without a parent", () => sandbox.makeDirectory("x/y"), "not_found"],
      [
        "make below a file",
        () => sandbox.makeDirectory("dir/file.txt/z", { recursive: true }),
        "invalid_request",
      ],
      ["remove a full directory", () => sandbox.removeFile("dir"), "invalid_request"],
      ["remove nothing", () => sandbox.removeFile("dir/none", { recursive: true }), "not_found"],
      [
        "remove the workspace",
        () => sandbox.removeFile("/workspace", { recursive: true }),
        "invalid_request",
      ],
      ["rename nothing", () => sandbox.renameFile("dir/none", "dir/new"), "not_found"],
      ["rename without a target parent", () => sandbox.renameFile("dir/file.txt", "no/where"), "not_found"],
      ["rename onto a directory", () => sandbox.renameFile("dir/file.txt", "dir/sub"), "invalid_request"],
      [
        "rename a directory onto a file",
        () => sandbox.renameFile("dir/sub", "dir/other.txt"),
        "invalid_request",
      ],
      ["rename a directory into itself", () => sandbox.renameFile("dir", "dir/sub/dir"), "invalid_request"],
      ["rename the workspace", () => sandbox.renameFile(".", "elsewhere"), "invalid_request"],
      ["write over a directory", () => sandbox.writeFile("dir/sub", "x"), "invalid_request"],
      ["a path outside", () => sandbox.listFiles("../etc"), "invalid_request"],
    ];
    for (const [what, call, code] of failures) {
      const error = await expectSandportError(call, code as "not_found");
      expect(error.providerId, what).toBe(providerId);
    }
    // Nothing was changed by the refused calls.
    expect((await sandbox.listFiles("dir")).map((entry) => entry.name)).toEqual([
      "file.txt",
      "other.txt",
      "sub",
    ]);
  });

  it("caps listings at maxEntries (default 10,000) with output_limit, counting every level", async () => {
    await using sandbox = await provider().create({});
    await sandbox.writeFile("cap/a/1.txt", "1");
    await sandbox.writeFile("cap/a/2.txt", "2");
    await sandbox.writeFile("cap/3.txt", "3");
    expect(await sandbox.listFiles("cap", { maxEntries: 2 })).toHaveLength(2);
    expect(await sandbox.listFiles("cap", { recursive: true, maxEntries: 4 })).toHaveLength(4);
    const error = await expectSandportError(
      () => sandbox.listFiles("cap", { recursive: true, maxEntries: 3 }),
      "output_limit",
    );
    expect(error.message).toContain("maxEntries");
    expect(await sandbox.listFiles("cap", { recursive: true })).toHaveLength(4);
    for (const bad of [0, 1.5, -1, "3"]) {
      const refused = await expectSandportError(
        () => sandbox.listFiles("cap", { maxEntries: bad as number }),
        "invalid_request",
      );
      expect(refused.message).toContain("maxEntries");
    }
  });

  it("keeps stdout and stderr interleaved in output, in the order the code wrote them", async () => {
    await using sandbox = await provider().create({});
    expect(provider().capabilities.features.combinedOutput).toBe(true);
    const result = await sandbox.runCode?.(
      'console.log("one");\nconsole.error("two");\nprocess.stdout.write("three\\n");\nconsole.warn("four");',
      { language: "javascript" },
    );
    expect(result).toMatchObject({
      stdout: "one\nthree\n",
      stderr: "two\nfour\n",
      output: "one\ntwo\nthree\nfour\n",
    });
    const capped = await sandbox.runCode?.('console.log("aaaa");\nconsole.error("bbbb");', {
      language: "javascript",
      maxOutputBytes: 7,
    });
    expect(capped).toMatchObject({ stdout: "aaaa\n", stderr: "bbbb\n", output: "aaaa\nbb" });
    const failed = await sandbox.runCode?.("throw new Error('boom')", { language: "javascript" });
    expect(failed?.output).toBe(failed?.stderr);
  });

  it("answers not_found for the calls of a destroyed sandbox", async () => {
    const sandbox = await provider().create({});
    await sandbox.destroy();
    await expectSandportError(() => sandbox.listFiles("."), "not_found");
    await expectSandportError(() => sandbox.makeDirectory("x"), "not_found");
  });
});

describe("isolate file calls (local mode)", () => {
  it("keeps a directory made while a run goes on, next to what the run made", async () => {
    await using sandbox = await local.create({});
    const running = sandbox.runCode?.(
      [
        'import fs from "node:fs";',
        "await new Promise((resolve) => setTimeout(resolve, 300));",
        'fs.mkdirSync("by-run");',
      ].join("\n"),
      { language: "javascript" },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sandbox.makeDirectory("by-call");
    expect((await running)?.exitCode).toBe(0);
    expect((await sandbox.listFiles(".")).map((entry) => entry.name)).toEqual(["by-call", "by-run"]);
  });
});

describe("the isolate Worker's fs routes", () => {
  async function post(path: string, body: unknown, bearer = token): Promise<Response> {
    return (isolateWorker as IsolateWorkerInstance).dispatch(path, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  it("validates bodies like every other route and needs the token", async () => {
    const sandbox = await (remote as SandboxProvider).create({});
    const base = `/v1/sandboxes/${sandbox.id.slice("edge:".length)}/fs`;
    try {
      expect((await post(`${base}/list`, { path: "", maxEntries: 5 })).status).toBe(200);
      const refused: unknown[] = [
        { path: "../x", maxEntries: 5 },
        { path: "a//b", maxEntries: 5 },
        { path: "", maxEntries: 0 },
        { path: "", recursive: "yes", maxEntries: 5 },
        { maxEntries: 5 },
      ];
      for (const body of refused) {
        const response = await post(`${base}/list`, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: "invalid_request" } });
      }
      expect((await post(`${base}/rename`, { from: "a", to: "" })).status).toBe(400);
      expect((await post(`${base}/nothing`, { path: "" })).status).toBe(404);
      expect((await post(`${base}/stat`, { path: "" }, "wrong-token")).status).toBe(401);
    } finally {
      await sandbox.destroy();
    }
  });
});
