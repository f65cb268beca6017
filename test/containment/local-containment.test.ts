/**
 * Containment of the local backend, for every isolation tool usable on this machine: each test
 * attacks the sandbox and asserts the outcome on the host.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalSandbox } from "@sandport/local";
import { createLocalProvider, detectIsolation } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ordinaryUserAvailable } from "./containment-support.ts";
import { processesWithMarker, waitForNoProcesses } from "./sandbox-processes.ts";

const report = await detectIsolation();
const tools = report.tools.filter((tool) => tool.usable).map((tool) => tool.name);

it("finds at least one usable isolation tool on this machine", () => {
  expect(report.problem).toBeUndefined();
  expect(tools.length).toBeGreaterThan(0);
});

describe.each(tools)("local sandbox contained by %s", (isolation) => {
  const stateDirectory = mkdtempSync(join(tmpdir(), `sandport-containment-${isolation}-`));
  const provider = createLocalProvider({ isolation, stateDirectory, tmpSizeMb: 16, processes: 64 });
  const hostSecretDirectory = mkdtempSync(join(tmpdir(), "sandport-host-secret-"));
  const hostSecretFile = join(hostSecretDirectory, "secret.txt");
  let sandbox: LocalSandbox;
  let server: Server;
  let serverPort = 0;
  let serverConnections = 0;

  beforeAll(async () => {
    writeFileSync(hostSecretFile, "host-secret-content");
    process.env.SANDPORT_CONTAINMENT_SECRET = "env-secret-value";
    server = createServer((socket) => {
      serverConnections++;
      socket.end("hello");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    serverPort = (server.address() as { port: number }).port;
    sandbox = await provider.create({});
  });

  afterAll(async () => {
    await sandbox?.destroy();
    await new Promise((resolve) => server.close(resolve));
    delete process.env.SANDPORT_CONTAINMENT_SECRET;
    rmSync(hostSecretDirectory, { recursive: true, force: true });
    rmSync(stateDirectory, { recursive: true, force: true });
  });

  it("hides host files outside the workspace, /root, /home and the project", async () => {
    const result = await sandbox.exec({
      shell: `cat ${hostSecretFile}; ls /root /home ${process.cwd()} 2>&1; ls / | tr '\\n' ' '`,
    });
    expect(result.stdout).not.toContain("host-secret-content");
    expect(result.stdout + result.stderr).toMatch(/No such file/);
    expect(result.stdout).not.toMatch(/\broot\b.*\bhome\b/);
  });

  it("hides the host's environment", async () => {
    const result = await sandbox.exec({ shell: "env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'" });
    expect(result.stdout).not.toContain("env-secret-value");
    expect(result.stdout).not.toContain("SANDPORT_CONTAINMENT_SECRET");
  });

  it("shows only the sandbox's own processes in /proc", async () => {
    const result = await sandbox.exec({
      shell: "for p in /proc/[0-9]*; do cat $p/cmdline | tr '\\0' ' '; echo; done",
    });
    const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(result.stdout).not.toMatch(/vitest/);
  });

  it("cannot connect to a loopback server on the host, nor resolve names", async () => {
    const connect = await sandbox.runCode(
      `import net from "node:net";
       const socket = net.connect(${serverPort}, "127.0.0.1");
       socket.on("connect", () => { console.log("connected"); process.exit(0); });
       socket.on("error", (error) => { console.error(error.code); process.exit(7); });`,
      { language: "javascript", timeoutMs: 10_000 },
    );
    expect(connect.exitCode).toBe(7);
    expect(connect.stdout).not.toContain("connected");
    expect(serverConnections).toBe(0);
    const dns = await sandbox.runCode(
      `import dns from "node:dns/promises";
       try { await dns.resolve4("example.com"); console.log("resolved"); } catch (error) { console.error(error.code); process.exit(9); }`,
      { language: "javascript", timeoutMs: 10_000 },
    );
    expect(dns.exitCode).toBe(9);
    expect(dns.stdout).not.toContain("resolved");
  });

  it("stops a fork bomb, and the next sandbox still works", async () => {
    const bomb = await sandbox.exec(
      { shell: "bomb() { bomb | bomb & }; bomb; sleep 2" },
      { timeoutMs: 20_000 },
    );
    expect(bomb.timedOut).toBe(false);
    const next = await provider.create({});
    try {
      const result = await next.exec(["echo", "alive"]);
      expect(result).toMatchObject({ exitCode: 0, stdout: "alive\n" });
    } finally {
      await next.destroy();
    }
  });

  it("fails a 4 GiB allocation without hurting the host", async () => {
    const before = process.memoryUsage().rss;
    const result = await sandbox.runCode("buffer = bytearray(4 << 30)\nprint('allocated')", {
      language: "python",
      timeoutMs: 30_000,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).not.toContain("allocated");
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    // The sandbox's memory limit ends it (an out-of-memory kill can take seconds on a busy machine).
  }, 40_000);

  it("stops an infinite loop at its timeout and leaves no process behind", async () => {
    const marker = `sandport-loop-${randomBytes(6).toString("hex")}`;
    const result = await sandbox.exec(["sh", "-c", "while :; do :; done", marker], { timeoutMs: 500 });
    expect(result.timedOut).toBe(true);
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it("does not let a background process outlive its command or destroy", async () => {
    const marker = `sandport-sleep-${randomBytes(6).toString("hex")}`;
    const target = await provider.create({});
    const background = await target.exec(["sh", "-c", `sleep 1000 & echo started`, marker]);
    expect(background.stdout).toBe("started\n");
    const running = target.exec(["sh", "-c", "exec sleep 1000", marker]).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await target.destroy();
    await running;
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it("truncates endless output at the cap with bounded host memory", async () => {
    const before = process.memoryUsage().rss;
    const result = await sandbox.exec(["yes"], { maxOutputBytes: 1024 * 1024, timeoutMs: 20_000 });
    expect(result.truncated).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
  });

  it("caps the private /tmp", async () => {
    const result = await sandbox.exec({ shell: "dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1" });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toMatch(/No space left/);
  });

  it("refuses writes to system directories", async () => {
    for (const path of ["/usr/bin/sandport-x", "/etc/sandport-x", "/sandport-x", "/bin/sandport-x"]) {
      const result = await sandbox.exec(["touch", path]);
      expect(result.exitCode, path).not.toBe(0);
    }
  });

  it("leaves no sandbox process running when the host process is killed", async () => {
    const marker = `sandport-orphan-${randomBytes(6).toString("hex")}`;
    const script = `
      import { createLocalProvider } from "@sandport/local";
      const provider = createLocalProvider(${JSON.stringify({ isolation, stateDirectory })});
      const sandbox = await provider.create({});
      await sandbox.exec(["sh", "-c", "echo ready; exec sleep 1000", ${JSON.stringify(marker)}], {
        onStdout: (text) => process.stdout.write(text),
      });`;
    const host = spawn(
      process.execPath,
      ["--conditions=@sandport/source", "--input-type=module", "--eval", script],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      host.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
      host.on("exit", () => reject(new Error("host exited before the sandbox was ready")));
    });
    expect(processesWithMarker(marker).length).toBeGreaterThan(0);
    host.kill("SIGKILL");
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});

describe("local sandbox run by an ordinary user", () => {
  // The same code path a non-root developer takes: no uid switch, the user's own namespaces.
  // Only meaningful where another uid can read the checkout and run Node (not under a 0700 parent).
  const repositoryReadable = ordinaryUserAvailable;

  it.skipIf(process.getuid?.() !== 0 || !repositoryReadable)(
    "isolates commands when the host process is not root",
    async () => {
      const stateDirectory = mkdtempSync(join(tmpdir(), "sandport-ordinary-user-"));
      chmodSync(stateDirectory, 0o777);
      const script = `
        import { createLocalProvider } from "@sandport/local";
        const provider = createLocalProvider({ stateDirectory: ${JSON.stringify(join(stateDirectory, "state"))} });
        const sandbox = await provider.create({});
        const identity = await sandbox.exec({ shell: "cat /proc/self/uid_map; ls /proc | grep -c '^[0-9]'" });
        const bomb = await sandbox.exec({ shell: "bomb() { bomb | bomb & }; bomb; sleep 1" }, { timeoutMs: 20000 });
        await sandbox.destroy();
        console.log(JSON.stringify({ identity: identity.stdout, bombTimedOut: bomb.timedOut }));`;
      try {
        const output = await new Promise<string>((resolve, reject) => {
          const child = spawn(
            "setpriv",
            [
              "--reuid=23456",
              "--regid=23456",
              "--clear-groups",
              "--",
              process.execPath,
              "--conditions=@sandport/source",
              "--input-type=module",
              "--eval",
              script,
            ],
            { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
          );
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
          child.on("close", (code) =>
            code === 0 ? resolve(stdout) : reject(new Error(`exit ${code}: ${stderr}`)),
          );
        });
        const result = JSON.parse(output) as { identity: string; bombTimedOut: boolean };
        // Inside: uid 0 of a user namespace mapped onto the ordinary user, and a private pid namespace.
        expect(result.identity).toMatch(/^\s*0\s+23456\s+1\n/);
        expect(Number(result.identity.trim().split("\n").at(-1))).toBeLessThanOrEqual(4);
        expect(result.bombTimedOut).toBe(false);
      } finally {
        rmSync(stateDirectory, { recursive: true, force: true });
      }
    },
    30_000,
  );
});
