/**
 * Cases about what a sandbox must not reach: another sandbox's files, the host's environment, a
 * loopback service on the host when egress is "none", and files outside its working area through
 * symbolic or hard links.
 */
import { existsSync } from "node:fs";
import { SandportError } from "@sandport/core";
import { assert, expect } from "vitest";
import { decodeUtf8, randomToken } from "../bytes.ts";
import {
  allOf,
  anyOf,
  needsFilesystem,
  needsNetworkMode,
  needsRuntime,
  needsShell,
  needsShellOrFilesystem,
} from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { probeLanguage, runProbe } from "../probe-code.ts";
import { readText, settle, workingDirectory, writeText } from "../sandbox-text.ts";
import { sleep } from "../sleep.ts";

const group = "isolation";

/** The variable the environment case plants in the host's environment. */
const hostSecretName = "SANDPORT_CONTRACT_HOST_SECRET";

/** The runner's `process.env`, where there is one (the suite also loads outside Node). */
function runnerEnvironment(): Record<string, string | undefined> | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
}

/** A loopback TCP service on the runner's host that counts the connections it accepts. */
interface LoopbackServer {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1, port 0; `undefined` when the runner has no `node:http`. */
async function startLoopbackServer(): Promise<LoopbackServer | undefined> {
  let http: typeof import("node:http");
  try {
    http = await import("node:http");
  } catch {
    return undefined;
  }
  let connections = 0;
  const server = http.createServer((_request, response) => response.end("sandport-contract-reached\n"));
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the loopback server has no port");
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Code that tries to connect to 127.0.0.1:`port` and prints `reached` or `blocked <reason>`. */
function loopbackProbe(language: "javascript" | "python" | "shell", port: number): string {
  const url = `http://127.0.0.1:${port}/sandport-contract-probe`;
  switch (language) {
    case "javascript":
      return [
        "try {",
        `  const response = await fetch("${url}", { signal: AbortSignal.timeout(3000) });`,
        '  console.log("reached " + response.status);',
        "} catch (error) {",
        '  console.log("blocked " + (error && error.name));',
        "}",
      ].join("\n");
    case "python":
      return [
        "import socket",
        "s = socket.socket()",
        "s.settimeout(3)",
        "try:",
        `    s.connect(("127.0.0.1", ${port}))`,
        '    print("reached")',
        "except Exception as error:",
        '    print("blocked " + type(error).__name__)',
      ].join("\n");
    case "shell": {
      // POSIX sh has no socket: use the first client the sandbox has, or say there is none.
      const node = `const s = require("net").connect(${port}, "127.0.0.1"); s.on("connect", () => { console.log("reached"); process.exit(0); }); s.on("error", (e) => { console.log("blocked " + e.code); process.exit(0); }); setTimeout(() => { console.log("blocked timeout"); process.exit(0); }, 3000);`;
      const python = `import socket\\ns = socket.socket()\\ns.settimeout(3)\\ntry:\\n    s.connect(("127.0.0.1", ${port})); print("reached")\\nexcept Exception as e:\\n    print("blocked " + type(e).__name__)`;
      return [
        `if command -v node >/dev/null 2>&1; then node -e '${node}'`,
        `elif command -v python3 >/dev/null 2>&1; then python3 -c "$(printf '${python}')"`,
        "elif command -v bash >/dev/null 2>&1; then",
        `  if timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null; then echo reached; else echo "blocked bash"; fi`,
        "else echo no-client; fi",
      ].join("\n");
    }
  }
}

/** Isolation cases, in run order. */
export const isolationCases: readonly ContractCase[] = [
  scopedCase({
    id: "sandboxes-files-isolated",
    group,
    title: "two sandboxes cannot read or change each other's files, at the same relative or absolute path",
    timeoutMs: 30_000,
    skipReason: needsShellOrFilesystem,
    async run(scope) {
      const { contract } = scope;
      const [a, b] = await Promise.all([scope.createSandbox(), scope.createSandbox()]);
      const tokenA = `sandport-contract-a-${randomToken()}`;
      const tokenB = `sandport-contract-b-${randomToken()}`;
      await writeText(scope, a, "A", "marker-a.txt", tokenA);
      await writeText(scope, b, "B", "marker-b.txt", tokenB);
      // The same relative path in both: each keeps its own content.
      await writeText(scope, a, "A", "shared/same.txt", tokenA);
      await writeText(scope, b, "B", "shared/same.txt", tokenB);

      expect(
        await readText(scope, b, "B", "marker-a.txt"),
        "sandbox B sees A's marker-a.txt",
      ).toBeUndefined();
      expect(
        await readText(scope, a, "A", "marker-b.txt"),
        "sandbox A sees B's marker-b.txt",
      ).toBeUndefined();
      expect(
        await readText(scope, a, "A", "shared/same.txt"),
        "A's shared/same.txt after B wrote its own",
      ).toBe(tokenA);
      expect(await readText(scope, b, "B", "shared/same.txt"), "B's shared/same.txt").toBe(tokenB);

      if (!contract.capabilities.runtimes.includes("shell")) return;
      // A's files by A's absolute path, from B: through B's file API and through B's commands.
      const rootA = await workingDirectory(scope, a, "A");
      const absoluteMarker = `${rootA === "/" ? "" : rootA}/marker-a.txt`;
      if (contract.capabilities.features.filesystem) {
        const read = await scope.within(
          settle(b.readFile(absoluteMarker)),
          `readFile("${absoluteMarker}") in sandbox B`,
          10_000,
        );
        expect(
          read.ok && decodeUtf8(read.value) === tokenA,
          `sandbox B's readFile("${absoluteMarker}") returned sandbox A's file`,
        ).toBe(false);
        const write = await scope.within(
          settle(b.writeFile(`${rootA === "/" ? "" : rootA}/from-b.txt`, tokenB)),
          "writeFile of A's absolute path in sandbox B",
          10_000,
        );
        if (write.ok) {
          expect(
            await readText(scope, a, "A", "from-b.txt"),
            "B's writeFile by A's absolute path landed in A",
          ).toBe(undefined);
        }
      }
      // Without isolation the host's paths are shared by design (declared as isolation "none").
      if (contract.capabilities.isolation === "none") return;
      const fromB = await scope.within(
        b.exec([
          "sh",
          "-c",
          'cat "$1" 2>/dev/null; printf %s "$2" > "$3" 2>/dev/null; exit 0',
          "sh",
          absoluteMarker,
          tokenB,
          `${rootA}/from-b-command.txt`,
        ]),
        "a command in sandbox B reading A's absolute path",
        10_000,
      );
      expect(fromB.stdout, `a command in sandbox B read ${absoluteMarker} of sandbox A`).not.toContain(
        tokenA,
      );
      expect(
        await readText(scope, a, "A", "from-b-command.txt"),
        "a command in sandbox B wrote into sandbox A by its absolute path",
      ).toBeUndefined();
    },
  }),
  scopedCase({
    id: "host-env-not-visible",
    group,
    title: "the host's environment variables are not visible inside the sandbox",
    timeoutMs: 30_000,
    skipReason: anyOf(needsShell, needsRuntime("javascript")),
    async run(scope, controls) {
      const environment = runnerEnvironment();
      if (environment === undefined)
        return controls.skip("the test runner has no process.env to plant a variable in");
      const secret = `sandport-host-secret-${randomToken()}`;
      const previous = environment[hostSecretName];
      environment[hostSecretName] = secret;
      try {
        const { runtimes } = scope.contract.capabilities;
        if (runtimes.includes("shell")) {
          const sandbox = await scope.createSandbox();
          const result = await scope.within(sandbox.exec(["env"]), 'exec(["env"])', 10_000);
          expect(result.exitCode, `env failed: ${result.stderr}`).toBe(0);
          expect(
            result.stdout,
            `${hostSecretName} of the host is visible to env in the sandbox`,
          ).not.toContain(secret);
          expect(result.stdout + result.stderr).not.toContain(hostSecretName);
        }
        if (runtimes.includes("javascript")) {
          const sandbox = await scope.createSandbox({ runtime: "javascript" });
          const code = [
            'const env = typeof process === "object" && process !== null ? process.env : {};',
            'console.log("sandport-env " + JSON.stringify(env));',
          ].join("\n");
          const result = await scope.within(
            runProbe(sandbox, "javascript", code, controls),
            "runCode printing process.env",
            15_000,
          );
          expect(result.exitCode, `the process.env probe failed: ${result.stderr}`).toBe(0);
          expect(result.stdout).toContain("sandport-env ");
          expect(
            result.stdout + result.stderr,
            `${hostSecretName} of the host is visible to process.env in the sandbox`,
          ).not.toContain(secret);
        }
      } finally {
        if (previous === undefined) delete environment[hostSecretName];
        else environment[hostSecretName] = previous;
      }
    },
  }),
  scopedCase({
    id: "egress-none-loopback",
    group,
    title: 'a sandbox with egress "none" cannot connect to a server on the host\'s 127.0.0.1',
    timeoutMs: 30_000,
    skipReason: allOf(
      needsNetworkMode("none"),
      anyOf(needsRuntime("javascript"), needsRuntime("python"), needsShell),
    ),
    async run(scope, controls) {
      const server = await startLoopbackServer();
      if (server === undefined)
        return controls.skip("the test runner cannot start a loopback server (no node:http)");
      scope.defer("closing the loopback server", () => server.close());
      const language = probeLanguage(scope.contract, ["javascript", "python", "shell"]);
      if (language === undefined) return controls.skip("no runtime to run the probe in");
      const sandbox = await scope.createSandbox({
        network: { egress: "none" },
        ...(language === "shell" ? {} : { runtime: language }),
      });
      const result = await scope.within(
        runProbe(sandbox, language, loopbackProbe(language, server.port), controls, { timeoutMs: 10_000 }),
        `a ${language} probe connecting to 127.0.0.1:${server.port}`,
        15_000,
      );
      if (result.stdout.includes("no-client")) {
        return controls.skip("the sandbox has neither node, python3 nor bash to open a TCP connection with");
      }
      // A connection accepted just before the probe gave up is counted a moment later.
      await sleep(200);
      expect(
        server.connections,
        `the loopback server on 127.0.0.1:${server.port} accepted connections from a sandbox with egress "none" (probe output: ${JSON.stringify(result.stdout)})`,
      ).toBe(0);
      expect(result.stdout, `the probe reached 127.0.0.1:${server.port}`).not.toContain("reached");
      expect(result.stdout, `the probe did not run to its end: ${result.stderr}`).toContain("blocked");
    },
  }),
  scopedCase({
    id: "file-link-escapes",
    group,
    title:
      "readFile and writeFile through links either refuse with invalid_request or stay inside the sandbox, and never touch the host",
    timeoutMs: 30_000,
    skipReason: allOf(needsShell, needsFilesystem),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const token = randomToken();
      const outsideFile = `/etc/sandport-contract-${token}`;
      const setup = await scope.within(
        sandbox.exec([
          "sh",
          "-c",
          [
            "set -e",
            "ln -s /etc/passwd link",
            "ln -s / rootlink",
            "ln -s /etc dirlink",
            `ln -s ${outsideFile} dangling`,
            "ln -s /dev/null devnull",
            // A hard link needs the same file system and, with protected_hardlinks, access to the
            // file: it often cannot be made, which is fine.
            'for target in /etc/hostname /etc/hosts; do ln "$target" hard 2>/dev/null && break; done || true',
            "if test -f hard; then echo hard-linked; fi",
          ].join("\n"),
        ]),
        "creating the links",
        10_000,
      );
      expect(setup.exitCode, `creating the links failed: ${setup.stderr}`).toBe(0);
      const root = await workingDirectory(scope, sandbox, "S");
      const prefix = root === "/" ? "" : root;

      // A provider that carries file calls out inside the sandbox may follow a link there: then
      // the answer must be exactly what the sandbox itself sees. One that works on the host side
      // must refuse it. Either way nothing of the host's own files comes back.
      const reads = [
        "link",
        "dirlink/passwd",
        "rootlink/etc/passwd",
        `${prefix}/link`,
        `${prefix}/dirlink/passwd`,
      ];
      for (const path of reads) {
        const read = await scope.within(settle(sandbox.readFile(path)), `readFile("${path}")`, 10_000);
        if (read.ok) {
          const seen = await scope.within(sandbox.exec(["cat", path]), `exec(["cat", "${path}"])`, 10_000);
          expect(seen.exitCode, `readFile("${path}") returned a file the sandbox itself cannot read`).toBe(0);
          expect(decodeUtf8(read.value), `readFile("${path}") is not what the sandbox sees there`).toBe(
            seen.stdout,
          );
        } else if (!SandportError.isInstance(read.error) || read.error.code !== "invalid_request") {
          assert.fail(
            `readFile("${path}") failed with something other than invalid_request: ${String(read.error)}`,
          );
        } else {
          expect(read.error.message).not.toContain("root:");
        }
      }
      // Writes go through links to files that do not exist yet, never to an existing file: a
      // provider that got this wrong with the host's privileges would otherwise overwrite it.
      const writes = [
        { path: "dangling", target: outsideFile },
        { path: "devnull", target: undefined },
        { path: `dirlink/sandport-contract-${token}`, target: `/etc/sandport-contract-${token}` },
        { path: `rootlink/etc/sandport-contract-${token}-root`, target: `${outsideFile}-root` },
      ];
      for (const { path, target } of writes) {
        const written = await scope.within(
          settle(sandbox.writeFile(path, "escaped")),
          `writeFile("${path}")`,
          10_000,
        );
        if (!written.ok) {
          if (!SandportError.isInstance(written.error) || written.error.code !== "invalid_request") {
            assert.fail(
              `writeFile("${path}") failed with something other than invalid_request: ${String(written.error)}`,
            );
          }
          if (target !== undefined) {
            const created = await scope.within(
              sandbox.exec(["test", "-e", target]),
              `checking for ${target} after a refused write`,
              10_000,
            );
            expect(created.exitCode, `a refused writeFile("${path}") still created ${target}`).not.toBe(0);
          }
        } else if (target !== undefined) {
          const seen = await scope.within(
            sandbox.exec(["cat", target]),
            `exec(["cat", "${target}"])`,
            10_000,
          );
          expect(
            seen.stdout,
            `writeFile("${path}") was accepted but the sandbox does not see it at ${target}`,
          ).toBe("escaped");
        }
        if (target !== undefined) {
          // The test runs on the host: a write carried out there would show up here.
          expect(existsSync(target), `writeFile("${path}") wrote ${target} on the host`).toBe(false);
        }
      }
      const stillLinks = await scope.within(
        sandbox.exec(["sh", "-c", "test -L link && test -L dangling && test -L devnull && test -L dirlink"]),
        "checking the links",
        10_000,
      );
      expect(stillLinks.exitCode, "a writeFile replaced a link itself").toBe(0);

      if (!setup.stdout.includes("hard-linked")) return;
      // A hard link is a name inside the working area for a file that is also outside. Reading it
      // may be refused, or may return what the sandbox itself can read there, and nothing more.
      const read = await scope.within(settle(sandbox.readFile("hard")), 'readFile("hard")', 10_000);
      if (read.ok) {
        const seen = await scope.within(sandbox.exec(["cat", "hard"]), 'exec(["cat", "hard"])', 10_000);
        expect(
          seen.exitCode,
          "readFile returned a hard-linked file that the sandbox itself cannot read",
        ).toBe(0);
        expect(decodeUtf8(read.value)).toBe(seen.stdout);
      } else if (!SandportError.isInstance(read.error) || read.error.code !== "invalid_request") {
        assert.fail(
          `readFile("hard") failed with something other than invalid_request: ${String(read.error)}`,
        );
      }
    },
  }),
];
