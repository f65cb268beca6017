/**
 * Escape attempts against isolate sandboxes, in both modes: code must not reach the network it
 * was not given, generate code from strings, read the host's environment or files, leave changes
 * to shared prototypes for other runs, or read another sandbox's files.
 */
import type { Sandbox, SandboxProvider } from "@sandport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareIsolateProvider } from "./cloudflare-isolate-provider.ts";
import { type IsolateWorkerInstance, startIsolateWorker } from "./isolate/isolate-worker.ts";

const hostSecretName = "SANDPORT_ESCAPE_TEST_HOST_SECRET";
const hostSecret = "host-secret-value-7f3a";
const workerToken = "escape-test-worker-token-91c2";

async function run(sandbox: Sandbox, code: string): Promise<string> {
  const result = await sandbox.runCode?.(code, { language: "javascript" });
  if (result === undefined) throw new Error("no runCode");
  return result.stdout + result.stderr;
}

interface Mode {
  name: string;
  start(): Promise<SandboxProvider & { dispose?(): Promise<void> }>;
}

let isolateWorker: IsolateWorkerInstance | undefined;

const modes: Mode[] = [
  { name: "local", start: async () => createCloudflareIsolateProvider({ mode: "local" }) },
  {
    name: "remote (loopback isolate Worker)",
    start: async () => {
      isolateWorker = await startIsolateWorker({
        token: workerToken,
        maxCodeBytes: 1 << 20,
        maxFilesBytes: 1 << 24,
      });
      return createCloudflareIsolateProvider({
        mode: "remote",
        url: isolateWorker.url.href,
        token: workerToken,
      });
    },
  },
];

for (const mode of modes) {
  describe(`isolate escape attempts (${mode.name})`, () => {
    let provider: SandboxProvider & { dispose?(): Promise<void> };

    beforeAll(async () => {
      // The engine inherits this process's environment: a secret there must not reach the code.
      process.env[hostSecretName] = hostSecret;
      provider = await mode.start();
    });

    afterAll(async () => {
      delete process.env[hostSecretName];
      await provider.dispose?.();
      await isolateWorker?.dispose();
    });

    it("cannot fetch a host outside its allowlist, by name, by address or by redirect", async () => {
      await using sandbox = await provider.create({ network: { egress: { allow: ["allowed.example"] } } });
      const output = await run(
        sandbox,
        [
          "for (const url of ['https://evil.example/', 'http://127.0.0.1:1/', 'https://allowed.example.evil.example/']) {",
          "  try { await fetch(url); console.log('REACHED ' + url); } catch (error) { console.log('refused: ' + error.message); }",
          "}",
        ].join("\n"),
      );
      expect(output).not.toContain("REACHED");
      expect(output).toContain("refused: sandport: network access to evil.example is not allowed");
      expect(output).toContain("refused: sandport: network access to 127.0.0.1 is not allowed");
      expect(output).toContain("not allowed; this sandbox may reach only allowed.example");
    });

    it("cannot open raw sockets when egress is none", async () => {
      await using sandbox = await provider.create({});
      const output = await run(
        sandbox,
        [
          "try {",
          "  const { connect } = await import('cloudflare:sockets');",
          "  const socket = connect('127.0.0.1:1');",
          "  await socket.opened;",
          "  console.log('CONNECTED');",
          "} catch (error) { console.log('refused'); }",
        ].join("\n"),
      );
      expect(output).not.toContain("CONNECTED");
    });

    it("cannot generate code from strings (eval, new Function, WebAssembly from bytes)", async () => {
      await using sandbox = await provider.create({});
      const output = await run(
        sandbox,
        [
          "const attempts = {",
          "  eval: () => eval('1 + 1'),",
          "  indirectEval: () => (0, eval)('1 + 1'),",
          "  newFunction: () => new Function('return 1')(),",
          "  asyncFunction: () => new (Object.getPrototypeOf(async function () {}).constructor)('return 1')(),",
          "  wasm: () => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),",
          "};",
          "for (const [name, attempt] of Object.entries(attempts)) {",
          "  try { attempt(); console.log('ALLOWED ' + name); } catch (error) { console.log('refused ' + name); }",
          "}",
        ].join("\n"),
      );
      expect(output).not.toContain("ALLOWED");
      expect(output.match(/refused/g)?.length).toBe(5);
    });

    it("cannot read the host's environment or the isolate Worker's token", async () => {
      await using sandbox = await provider.create({ env: { VISIBLE: "yes" } });
      const output = await run(
        sandbox,
        "console.log(JSON.stringify(process.env)); console.log(typeof globalThis.SANDPORT_ISOLATE_WORKER_TOKEN);",
      );
      expect(output).toContain('"VISIBLE":"yes"');
      expect(output).not.toContain(hostSecret);
      expect(output).not.toContain(workerToken);
      expect(output).not.toContain('SANDPORT_ISOLATE_WORKER_TOKEN":');
      expect(output).not.toContain('SANDPORT_BRIDGE_TOKEN":');
    });

    it("cannot read the host's files", async () => {
      await using sandbox = await provider.create({});
      const output = await run(
        sandbox,
        [
          "import { readFileSync, readdirSync } from 'node:fs';",
          "for (const path of ['/etc/passwd', '/proc/self/environ', '/proc/1/cmdline', process.cwd() + '/../../../etc/hostname']) {",
          "  try { readFileSync(path); console.log('READ ' + path); } catch { console.log('refused ' + path); }",
          "}",
          "console.log('root: ' + readdirSync('/').sort().join(','));",
        ].join("\n"),
      );
      expect(output).not.toContain("READ ");
      expect(output).not.toContain("root:x:0:0");
      // The isolate's filesystem is workerd's virtual one: the bundle, /tmp and /dev, nothing of the host.
      expect(output).toMatch(/root: bundle,dev,tmp/);
    });

    it("cannot leave prototype or global changes for another run or another sandbox", async () => {
      await using first = await provider.create({});
      await using second = await provider.create({});
      const tamper = [
        "Object.prototype.polluted = 'yes';",
        "Array.prototype.includes = () => true;",
        "globalThis.fetch = () => 'hijacked';",
        "JSON.stringify = () => 'hijacked';",
        "console.log('tampered');",
      ].join("\n");
      expect(await run(first, tamper)).toBe("tampered\n");
      const check =
        "console.log(String(({}).polluted), [].includes(1), typeof fetch('x').then, JSON.stringify({ a: 1 }));";
      const expected = 'undefined false function {"a":1}\n';
      expect(await run(first, check)).toBe(expected);
      expect(await run(second, check)).toBe(expected);
    });

    it("cannot read another sandbox's files", async () => {
      await using owner = await provider.create({});
      await using intruder = await provider.create({});
      await owner.writeFile("secret.txt", "owner's secret");
      await owner.runCode?.(
        "import { writeFileSync } from 'node:fs'; writeFileSync('made-by-code.txt', 'also secret');",
        {
          language: "javascript",
        },
      );
      const output = await run(
        intruder,
        [
          "import { readdirSync, readFileSync } from 'node:fs';",
          "for (const path of ['secret.txt', 'made-by-code.txt', '/tmp/workspace/secret.txt']) {",
          "  try { console.log('READ ' + readFileSync(path, 'utf8')); } catch { console.log('missing ' + path); }",
          "}",
          "console.log('workspace: ' + JSON.stringify(readdirSync('.')));",
        ].join("\n"),
      );
      expect(output).not.toContain("READ");
      expect(output).not.toContain("owner's secret");
      expect(output).toContain("missing secret.txt");
      expect(output).toContain("workspace: []");
      await expect(intruder.readFile("secret.txt")).rejects.toMatchObject({ code: "not_found" });
      // A sandbox id names its provider; another id cannot be used to reach the owner's files.
      await expect(intruder.readFile("../secret.txt")).rejects.toMatchObject({ code: "invalid_request" });
    });
  });
}
