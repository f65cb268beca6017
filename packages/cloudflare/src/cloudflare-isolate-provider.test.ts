import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expectSandportError } from "@sandport/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "./cloudflare-isolate-provider.ts";

const provider = createCloudflareIsolateProvider({ mode: "local", maxFilesBytes: 64 * 1024 });
afterAll(() => provider.dispose());

describe("runCode results", () => {
  it("returns what a script returns, with top-level await, as the result value", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.(
      "const n = await Promise.resolve(20);\nreturn { n: n + 1, list: [1, 'a'] };",
      {
        language: "javascript",
      },
    );
    expect(result).toMatchObject({ exitCode: 0, value: { n: 21, list: [1, "a"] } });
  });

  it("returns a module's default export, calling and awaiting a default-exported function", async () => {
    await using sandbox = await provider.create({});
    const plain = await sandbox.runCode?.("export const unused = 1;\nexport default 'plain';", {
      language: "javascript",
    });
    expect(plain?.value).toBe("plain");
    const called = await sandbox.runCode?.("export default async () => 6 * 7;", { language: "javascript" });
    expect(called?.value).toBe(42);
  });

  it("runs a script that starts with a #! line", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.("#!/usr/bin/env node\nconsole.log('ok');\nreturn 2;", {
      language: "javascript",
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: "ok\n", value: 2 });
  });

  it("has no value when the code returns nothing", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.("console.log('x')", { language: "javascript" });
    expect(result).not.toHaveProperty("value");
  });

  it("keeps console output in order per stream and formats values like Node", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.(
      "console.log('a', { b: 1 }, [2]);\nconsole.error('e1');\nconsole.info('c');\nconsole.warn('e2');",
      { language: "javascript" },
    );
    expect(result).toMatchObject({ stdout: "a { b: 1 } [ 2 ]\nc\n", stderr: "e1\ne2\n", exitCode: 0 });
  });

  it("delivers the output to onStdout and onStderr once, when the run ends", async () => {
    await using sandbox = await provider.create({});
    const stdout: string[] = [];
    const stderr: string[] = [];
    await sandbox.runCode?.("console.log(1); console.error(2); console.log(3);", {
      language: "javascript",
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
    });
    expect(stdout).toEqual(["1\n3\n"]);
    expect(stderr).toEqual(["2\n"]);
  });

  it("exits with the code given to process.exit", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.(
      "console.log('before');\nprocess.exit(3);\nconsole.log('after');",
      {
        language: "javascript",
      },
    );
    expect(result).toMatchObject({ exitCode: 3, stdout: "before\n" });
  });

  it("runs TypeScript with enums and keeps the line of an error", async () => {
    await using sandbox = await provider.create({});
    const ok = await sandbox.runCode?.(
      "enum Color { Red, Green }\nconst pick: Color = Color.Green;\nreturn pick;",
      {
        language: "typescript",
      },
    );
    expect(ok).toMatchObject({ exitCode: 0, value: 1 });
    const failed = await sandbox.runCode?.("const a: number = 1;\n\nthrow new Error('on line ' + (a + 2));", {
      language: "typescript",
    });
    expect(failed?.exitCode).toBe(1);
    expect(failed?.stderr).toContain("Error: on line 3");
    expect(failed?.stderr).toContain("main.js:3");
  });
});

describe("bad input", () => {
  it("reports a JavaScript syntax error as exit code 1 with the engine's message", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.("const broken = ;", { language: "javascript" });
    expect(result?.exitCode).toBe(1);
    expect(result?.stderr).toContain("SyntaxError");
    // The engine survived: the next run works.
    expect((await sandbox.runCode?.("return 1", { language: "javascript" }))?.value).toBe(1);
  });

  it("reports a TypeScript syntax error as exit code 1 with the compiler's message", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.("const broken: = 1;", { language: "typescript" });
    expect(result?.exitCode).toBe(1);
    expect(result?.stderr).toMatch(/^TypeScript: .*line 1/);
  });

  it("refuses code over the size limit with invalid_request", async () => {
    const small = createCloudflareIsolateProvider({ maxCodeBytes: 100 });
    await using sandbox = await small.create({});
    await expectSandportError(
      () => sandbox.runCode?.(`// ${"x".repeat(200)}`, { language: "javascript" }) as Promise<unknown>,
      "invalid_request",
    );
    await small.dispose();
  });

  it("refuses code that is not a string with invalid_request", async () => {
    await using sandbox = await provider.create({});
    await expectSandportError(
      () => sandbox.runCode?.(42 as unknown as string, { language: "javascript" }) as Promise<unknown>,
      "invalid_request",
    );
  });

  it("refuses shell commands, other languages, stdin and cwd with unsupported_capability", async () => {
    await using sandbox = await provider.create({});
    await expectSandportError(() => sandbox.exec(["echo", "hi"]), "unsupported_capability");
    for (const options of [
      { language: "python" },
      { stdin: "input" },
      { cwd: "sub" },
      { timeoutMs: 10 * 60 * 1000 },
    ]) {
      await expectSandportError(
        () => sandbox.runCode?.("1", { language: "javascript", ...options } as never) as Promise<unknown>,
        "unsupported_capability",
      );
    }
  });

  it("refuses a request it cannot honour before creating anything", async () => {
    const before = await count();
    for (const request of [
      { runtime: "shell" },
      { resources: { cpu: 2 } },
      { resources: { memoryMb: 4096 } },
    ]) {
      await expectSandportError(() => provider.create(request as never), "unsupported_capability");
    }
    expect(await count()).toBe(before);
  });
});

async function count(): Promise<number> {
  let live = 0;
  for await (const _ of provider.list?.() ?? []) live += 1;
  return live;
}

describe("files", () => {
  it("refuses a write that would pass the sandbox's size limit with output_limit", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("a.bin", new Uint8Array(40 * 1024));
    await expectSandportError(() => sandbox.writeFile("b.bin", new Uint8Array(40 * 1024)), "output_limit");
    // Replacing a file counts its new size only.
    await sandbox.writeFile("a.bin", new Uint8Array(60 * 1024));
  });

  it("honours resources.diskMb as the sandbox's own, smaller limit", async () => {
    const roomy = createCloudflareIsolateProvider({ maxFilesBytes: 8 * 1024 * 1024 });
    await using sandbox = await roomy.create({ resources: { diskMb: 1 } });
    // The limit counts the path's bytes too.
    await sandbox.writeFile("fits.bin", new Uint8Array(1024 * 1024 - "fits.bin".length));
    await expectSandportError(() => sandbox.writeFile("more.bin", new Uint8Array(1)), "output_limit");
    await roomy.dispose();
  });

  it("fails a run whose files pass the limit and keeps the files as they were", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("keep.txt", "before");
    const result = await sandbox.runCode?.(
      'import { writeFileSync } from "node:fs";\nwriteFileSync("keep.txt", "after");\nwriteFileSync("big.bin", new Uint8Array(100 * 1024));',
      { language: "javascript" },
    );
    expect(result?.exitCode).toBe(1);
    expect(result?.stderr).toContain("over the sandbox's limit");
    expect(new TextDecoder().decode(await sandbox.readFile("keep.txt"))).toBe("before");
    await expectSandportError(() => sandbox.readFile("big.bin"), "not_found");
  });

  it("keeps a file written while a run goes on, next to what the run wrote and removed", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("old.txt", "remove me");
    const running = sandbox.runCode?.(
      'import { rmSync, writeFileSync } from "node:fs";\nawait new Promise((resolve) => setTimeout(resolve, 1000));\nrmSync("old.txt");\nwriteFileSync("from-run.txt", "run");',
      { language: "javascript" },
    );
    // Written once the run is under way (it sleeps for a second before touching its files).
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sandbox.writeFile("from-caller.txt", "caller");
    expect((await running)?.exitCode).toBe(0);
    expect(new TextDecoder().decode(await sandbox.readFile("from-caller.txt"))).toBe("caller");
    expect(new TextDecoder().decode(await sandbox.readFile("from-run.txt"))).toBe("run");
    await expectSandportError(() => sandbox.readFile("old.txt"), "not_found");
  });

  it("sees files written by code through fs/promises and a dynamic import", async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.(
      'const { writeFile } = await import("node:fs/promises");\nawait writeFile("dynamic.txt", "written");',
      { language: "javascript" },
    );
    expect(result?.exitCode).toBe(0);
    expect(new TextDecoder().decode(await sandbox.readFile("/workspace/dynamic.txt"))).toBe("written");
  });
});

describe("network", () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === "/redirect") {
        response.writeHead(302, { location: `http://localhost:${port}/` }).end();
        return;
      }
      response.end("hello from loopback");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchCode = (host: string) =>
    `try {\n  const response = await fetch("http://${host}:PORT/");\n  console.log(await response.text());\n} catch (error) {\n  console.log("failed: " + error.message);\n}`;

  it("lets code reach an allowed host and refuses every other with a clear message ({ allow })", async () => {
    // A loopback service is reached through its address; a name resolving to it would be refused
    // (see isolate/allowlist-egress.test.ts).
    await using sandbox = await provider.create({ network: { egress: { allow: [`127.0.0.1:${port}`] } } });
    const allowed = await sandbox.runCode?.(fetchCode("127.0.0.1").replace("PORT", String(port)), {
      language: "javascript",
    });
    expect(allowed?.stdout).toBe("hello from loopback\n");
    const refused = await sandbox.runCode?.(fetchCode("localhost").replace("PORT", String(port)), {
      language: "javascript",
    });
    expect(refused?.stdout).toContain("failed: sandport: network access to localhost is not allowed");
    // An allowed host cannot redirect the code to one that is not allowed.
    const redirected = await sandbox.runCode?.(fetchCode("127.0.0.1").replace("PORT/", `${port}/redirect`), {
      language: "javascript",
    });
    expect(redirected?.stdout).toContain("failed: sandport: network access to localhost is not allowed");
  });

  it('lets code reach any host with egress "open" when allowNetwork is set, and refuses it otherwise', async () => {
    await expectSandportError(
      () => provider.create({ network: { egress: "open" } }),
      "unsupported_capability",
    );
    const networked = createCloudflareIsolateProvider({ allowNetwork: true });
    await using sandbox = await networked.create({ network: { egress: "open" } });
    const result = await sandbox.runCode?.(fetchCode("127.0.0.1").replace("PORT", String(port)), {
      language: "javascript",
    });
    expect(result?.stdout).toBe("hello from loopback\n");
    await networked.dispose();
  });

  it('gives code no network with egress "none", the default', async () => {
    await using sandbox = await provider.create({});
    const result = await sandbox.runCode?.(fetchCode("127.0.0.1").replace("PORT", String(port)), {
      language: "javascript",
    });
    expect(result?.stdout).toMatch(/^failed: /);
    expect(result?.stdout).not.toContain("hello");
  });
});

describe("lifetime", () => {
  it("ends a sandbox at its ttlMs", async () => {
    const sandbox = await provider.create({ ttlMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expectSandportError(() => provider.connect(sandbox.id), "not_found");
    await expectSandportError(() => sandbox.readFile("x"), "not_found");
  });

  it("keeps sandboxes usable after dispose(), which only stops the engines", async () => {
    const disposable = createCloudflareIsolateProvider();
    await using sandbox = await disposable.create({});
    await sandbox.writeFile("kept.txt", "kept");
    expect((await sandbox.runCode?.("return 1", { language: "javascript" }))?.value).toBe(1);
    await disposable.dispose();
    const after = await sandbox.runCode?.(
      'import { readFileSync } from "node:fs";\nreturn readFileSync("kept.txt", "utf8");',
      {
        language: "javascript",
      },
    );
    expect(after?.value).toBe("kept");
    await disposable.dispose();
  });

  it("connects to a live sandbox by id and sees its files", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("note.txt", "shared");
    const again = await provider.connect(sandbox.id);
    expect(new TextDecoder().decode(await again.readFile("note.txt"))).toBe("shared");
  });
});
