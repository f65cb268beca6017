/**
 * The container's file calls beyond read and write, done with commands in the container (the
 * sandbox bridge fake runs them for real in local sandboxes), and what exec results carry besides text:
 * the raw bytes of each stream and both streams interleaved.
 */
import { expectSandportError } from "@sandport/contract";
import type { Sandbox } from "@sandport/core";
import { fileScriptStatus } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareContainerProvider } from "./cloudflare-container-provider.ts";
import {
  type ContainerExecutor,
  createSandboxBridgeFake,
  type FakeContainer,
  type FakeContainerExecRequest,
} from "./testing/index.ts";

const token = "container-files-token-31ab";
const url = "https://files-bridge.test";
const bridge = createSandboxBridgeFake({ url, token });

/**
 * What a scripted container does for each command: output chunks in order, then an exit status;
 * or it hangs, as a stuck command does (the container ignores `timeout_ms` on the streaming exec).
 */
type Script = (
  request: FakeContainerExecRequest,
) => { chunks: ["stdout" | "stderr", Uint8Array][]; exitCode: number } | "hang";
let script: Script = () => ({ chunks: [], exitCode: 0 });
const scriptedExecutor: ContainerExecutor = {
  start: async (): Promise<FakeContainer> => ({
    exec: async (request) => {
      const outcome = script(request);
      if (outcome === "hang") {
        // As a stuck command does: the sandbox bridge passes no timeout to the command.
        await new Promise((resolve) => setTimeout(resolve, 60_000));
        return { exitCode: 137 };
      }
      const { chunks, exitCode } = outcome;
      for (const [stream, bytes] of chunks)
        (stream === "stdout" ? request.onStdout : request.onStderr)(bytes);
      return { exitCode };
    },
    readFile: async () => new TextEncoder().encode('{"version":1,"createdAt":1,"env":{},"labels":{}}'),
    writeFile: async () => {},
    stop: async () => {},
  }),
};
const scriptedUrl = "https://scripted-bridge.test";
const scripted = createSandboxBridgeFake({ url: scriptedUrl, token, executor: scriptedExecutor });
const server = setupServer(...bridge.handlers, ...scripted.handlers);

const created: Sandbox[] = [];
async function sandboxOn(bridgeUrl = url, settings: { requestTimeoutMs?: number } = {}): Promise<Sandbox> {
  const sandbox = await createCloudflareContainerProvider({ url: bridgeUrl, token, ...settings }).create({});
  created.push(sandbox);
  return sandbox;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);

beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(async () => {
  await Promise.all(created.splice(0).map((sandbox) => sandbox.destroy().catch(() => {})));
  bridge.clearCalls();
  script = () => ({ chunks: [], exitCode: 0 });
});
afterAll(async () => {
  server.close();
  await Promise.all([bridge.close(), scripted.close()]);
});

describe("cloudflare-container file calls", () => {
  it("makes, lists, describes, renames and removes entries with absolute /workspace paths", async () => {
    const sandbox = await sandboxOn();
    await sandbox.writeFile("docs/a.txt", "hello");
    await sandbox.makeDirectory("docs/empty");
    await sandbox.makeDirectory("deep/er/est", { recursive: true });
    const before = Date.now();
    const listing = await sandbox.listFiles("docs");
    expect(listing.map(({ name, path, type, size }) => ({ name, path, type, size }))).toEqual([
      { name: "a.txt", path: "/workspace/docs/a.txt", type: "file", size: 5 },
      { name: "empty", path: "/workspace/docs/empty", type: "directory", size: expect.any(Number) },
    ]);
    expect(Math.abs((listing[0]?.modifiedAt.getTime() ?? 0) - before)).toBeLessThan(60_000);
    const deep = await sandbox.listFiles("/workspace/deep", { recursive: true });
    expect(deep.map((entry) => entry.path)).toEqual(["/workspace/deep/er", "/workspace/deep/er/est"]);
    // The workspace itself, with the sandbox marker sandport keeps there.
    expect((await sandbox.listFiles(".")).map((entry) => entry.name)).toEqual([".sandport", "deep", "docs"]);
    expect(await sandbox.statFile("/workspace")).toMatchObject({ name: "workspace", type: "directory" });
    expect(await sandbox.statFile("docs/a.txt")).toMatchObject({ name: "a.txt", type: "file", size: 5 });
    await sandbox.renameFile("docs/a.txt", "deep/b.txt");
    expect(new TextDecoder().decode(await sandbox.readFile("deep/b.txt"))).toBe("hello");
    await sandbox.renameFile("deep", "docs/moved");
    expect(await sandbox.statFile("docs/moved/er/est")).toMatchObject({ type: "directory" });
    await sandbox.removeFile("docs/moved/b.txt");
    await sandbox.removeFile("docs/empty");
    await sandbox.removeFile("docs", { recursive: true });
    await expectSandportError(() => sandbox.statFile("docs"), "not_found");
  });

  it("describes links as links, lists through a named link, and never follows links inside", async () => {
    const sandbox = await sandboxOn();
    await sandbox.writeFile("real/inner/x.txt", "x");
    const made = await sandbox.exec({ shell: "ln -s real link && ln -s ../real real/inner/loop" });
    expect(made.exitCode, made.stderr).toBe(0);
    expect(await sandbox.statFile("link")).toMatchObject({
      type: "symlink",
      size: 4,
      path: "/workspace/link",
    });
    const through = await sandbox.listFiles("link", { recursive: true });
    expect(through.map((entry) => [entry.path, entry.type])).toEqual([
      ["/workspace/link/inner", "directory"],
      ["/workspace/link/inner/loop", "symlink"],
      ["/workspace/link/inner/x.txt", "file"],
    ]);
    await sandbox.renameFile("link", "renamed-link");
    expect(await sandbox.statFile("renamed-link")).toMatchObject({ type: "symlink" });
    await sandbox.removeFile("renamed-link");
    expect(await sandbox.statFile("real/inner/x.txt")).toMatchObject({ type: "file" });
  });

  it("passes paths as arguments, never as script text, so any name is safe", async () => {
    const sandbox = await sandboxOn();
    const name = `odd $(touch pwned) \`touch pwned\` '"; touch pwned\nline.txt`;
    await sandbox.writeFile(`names/${name}`, "odd");
    const [entry] = await sandbox.listFiles("names");
    expect(entry).toMatchObject({ name, path: `/workspace/names/${name}`, type: "file", size: 3 });
    await sandbox.renameFile(`names/${name}`, `names/${name}.moved`);
    expect(await sandbox.statFile(`names/${name}.moved`)).toMatchObject({ type: "file" });
    await sandbox.removeFile(`names/${name}.moved`);
    expect(await sandbox.listFiles("names")).toEqual([]);
    await expectSandportError(() => sandbox.statFile("pwned"), "not_found");
    await expectSandportError(() => sandbox.statFile("names/pwned"), "not_found");
  });

  it("answers each failure with one code, by the script's exit status, with its provider", async () => {
    const sandbox = await sandboxOn();
    await sandbox.writeFile("dir/file.txt", "x");
    await sandbox.writeFile("dir/other.txt", "y");
    await sandbox.makeDirectory("dir/sub");
    const failures: [string, () => Promise<unknown>, string][] = [
      ["read a directory", () => sandbox.readFile("dir"), "invalid_request"],
      ["read nothing", () => sandbox.readFile("dir/none"), "not_found"],
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
      ["make with a file as parent", () => sandbox.makeDirectory("dir/file.txt/z"), "invalid_request"],
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
      ["a path outside", () => sandbox.listFiles("../etc"), "invalid_request"],
      [
        "a bad recursive",
        () => sandbox.removeFile("dir", { recursive: 1 as unknown as boolean }),
        "invalid_request",
      ],
    ];
    for (const [what, call, code] of failures) {
      const error = await expectSandportError(call, code as "not_found");
      expect(error.providerId, what).toBe("cloudflare-container");
    }
    expect((await sandbox.listFiles("dir")).map((entry) => entry.name)).toEqual([
      "file.txt",
      "other.txt",
      "sub",
    ]);
  });

  it("caps listings at maxEntries with output_limit, stopping find one entry past the cap", async () => {
    const sandbox = await sandboxOn();
    for (const name of ["a/1.txt", "a/2.txt", "3.txt"]) await sandbox.writeFile(`cap/${name}`, name);
    expect(await sandbox.listFiles("cap", { maxEntries: 2 })).toHaveLength(2);
    expect(await sandbox.listFiles("cap", { recursive: true, maxEntries: 4 })).toHaveLength(4);
    bridge.clearCalls();
    const error = await expectSandportError(
      () => sandbox.listFiles("cap", { recursive: true, maxEntries: 3 }),
      "output_limit",
    );
    expect(error.message).toContain("maxEntries");
    // (3 + 1) entries of 4 NUL-terminated fields: find is stopped by head right after.
    const listing = bridge.calls.find((call) => call.route === "exec");
    const argv = (listing?.body as { argv: string[] } | undefined)?.argv ?? [];
    expect(argv.slice(0, 4)).toEqual(["env", expect.stringMatching(/^SANDPORT_EXEC_ID=/), "sh", "-c"]);
    expect(argv.slice(5)).toEqual(["sandport", "/workspace/cap", "1", "16"]);
    expect(await sandbox.listFiles("cap", { recursive: true })).toHaveLength(4);
    await expectSandportError(() => sandbox.listFiles("cap", { maxEntries: 0 }), "invalid_request");
  });

  it("fails an exit status the scripts do not define with sandbox_failed, and a torn listing as unavailable", async () => {
    const sandbox = await sandboxOn(scriptedUrl);
    script = () => ({ chunks: [["stderr", text("sh: 1: mkdir: not found\n")]], exitCode: 127 });
    const failed = await expectSandportError(() => sandbox.makeDirectory("x"), "sandbox_failed");
    expect(failed.message).toContain("exit status 127");
    script = () => ({ chunks: [["stdout", text("f\u00003\u00001.5")]], exitCode: 0 });
    await expectSandportError(() => sandbox.listFiles("."), "provider_unavailable");
    script = () => ({ chunks: [], exitCode: fileScriptStatus.notEmpty });
    await expectSandportError(() => sandbox.removeFile("x"), "invalid_request");
  });

  it("parses every entry type and fractional times from the raw listing", async () => {
    const sandbox = await sandboxOn(scriptedUrl);
    const entry = (kind: string, size: number, time: string, path: string) =>
      `${kind}\u0000${size}\u0000${time}\u0000${path}\u0000`;
    script = () => ({
      chunks: [
        [
          "stdout",
          text(
            entry("p", 0, "1700000000.25", "/workspace/fifo") + entry("l", 3, "1700000001", "/workspace/ln"),
          ),
        ],
        ["stdout", text(entry("f", 12, "1700000002.5", "/workspace/a b"))],
      ],
      exitCode: 0,
    });
    expect(await sandbox.listFiles(".")).toEqual([
      {
        name: "a b",
        path: "/workspace/a b",
        type: "file",
        size: 12,
        modifiedAt: new Date(1_700_000_002_500),
      },
      {
        name: "fifo",
        path: "/workspace/fifo",
        type: "other",
        size: 0,
        modifiedAt: new Date(1_700_000_000_250),
      },
      {
        name: "ln",
        path: "/workspace/ln",
        type: "symlink",
        size: 3,
        modifiedAt: new Date(1_700_000_001_000),
      },
    ]);
  });

  it("bounds each file call by requestTimeoutMs, sent as the command's timeout_ms", async () => {
    const sandbox = await sandboxOn(scriptedUrl, { requestTimeoutMs: 50 });
    script = () => "hang";
    scripted.clearCalls();
    const error = await expectSandportError(() => sandbox.removeFile("big", { recursive: true }), "timeout");
    expect(error.message).toContain("50 ms");
    // The container would run the command on: a second exec ends the processes carrying its marker.
    const [removal, stop] = scripted.calls.filter((call) => call.route === "exec");
    const marker = (removal?.body as { argv?: string[] } | undefined)?.argv?.[1];
    expect(marker).toMatch(/^SANDPORT_EXEC_ID=/);
    expect(stop?.body).toMatchObject({ argv: ["sh", "-c", expect.any(String), "sh", marker] });
  });
});

describe("cloudflare-container exec results", () => {
  it("declares combinedOutput and interleaves both streams in arrival order", async () => {
    expect(createCloudflareContainerProvider({ url, token }).capabilities.features.combinedOutput).toBe(true);
    const sandbox = await sandboxOn(scriptedUrl);
    script = () => ({
      chunks: [
        ["stdout", text("one\n")],
        ["stderr", text("two\n")],
        ["stdout", text("three\n")],
      ],
      exitCode: 0,
    });
    expect(await sandbox.exec(["anything"])).toMatchObject({
      stdout: "one\nthree\n",
      stderr: "two\n",
      output: "one\ntwo\nthree\n",
    });
  });

  it("decodes each stream as text, a character split around the other stream included, and claims no raw bytes", async () => {
    const sandbox = await sandboxOn(scriptedUrl);
    script = () => ({
      chunks: [
        ["stdout", bytes(0x61, 0xff, 0xe2, 0x82)],
        ["stderr", bytes(0xfe)],
        ["stdout", bytes(0xac)],
      ],
      exitCode: 0,
    });
    const result = await sandbox.exec(["anything"]);
    // The bridge carries text: what arrives is not necessarily the command's bytes.
    expect(result.stdoutBytes).toBeUndefined();
    expect(result.stderrBytes).toBeUndefined();
    expect(result.stdout).toBe("a\uFFFD€");
    expect(result.stderr).toBe("\uFFFD");
    expect(result.output).toBe("a\uFFFD\uFFFD€");
  });

  it("caps output like each stream, at maxOutputBytes, from what the streams kept", async () => {
    const sandbox = await sandboxOn(scriptedUrl);
    script = () => ({
      chunks: [
        ["stdout", text("aa")],
        ["stderr", text("bbbb")],
        ["stdout", text("cc")],
      ],
      exitCode: 0,
    });
    const result = await sandbox.exec(["anything"], { maxOutputBytes: 3 });
    expect(result).toMatchObject({ stdout: "aac", stderr: "bbb", output: "aab", truncated: true });
    expect(result.stdoutBytes).toBeUndefined();
  });

  it("turns bytes that are not UTF-8 into U+FFFD as the bridge does, keeping the text streamed", async () => {
    const sandbox = await sandboxOn();
    const chunks: string[] = [];
    const result = await sandbox.exec(
      { shell: "printf 'ok\\n'; sleep 0.1; printf 'a\\377b' >&2" },
      {
        onStdout: (chunk) => chunks.push(chunk),
      },
    );
    expect(chunks).toEqual(["ok\n"]);
    expect(result.stderrBytes).toBeUndefined();
    expect(result.stderr).toBe("a\uFFFDb");
    expect(result.output).toBe("ok\na\uFFFDb");
  });
});
