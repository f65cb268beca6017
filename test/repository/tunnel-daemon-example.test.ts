/**
 * examples/tunnel-daemon end to end, through the built CLI: `sandport gateway` and `sandport
 * tunnel` as processes, the example's MCP client calling run_code through gateway -> tunnel ->
 * daemon -> sandbox; then the same example on another backend by changing one line of config;
 * SIGTERM ends both with exit code 0. Each step fails by its own deadline and kills what it started.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const cli = resolve("packages/cli/bin/sandport.js");
const exampleDirectory = resolve("examples/tunnel-daemon");
const directory = mkdtempSync(join(tmpdir(), "sandport-tunnel-example-"));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(directory, { recursive: true, force: true });
});

const env = {
  ...process.env,
  SANDPORT_DAEMON_TOKEN: "example-daemon-token-3f9a",
  SANDPORT_CLIENT_TOKEN: "example-client-token-77c1",
  SANDPORT_CONFIG: "",
};

function writeConfig(name: string, change: (config: Record<string, any>) => void): string {
  const config = JSON.parse(readFileSync(join(exampleDirectory, "sandport.json"), "utf8"));
  delete config.$schema;
  change(config);
  const path = join(directory, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** Starts `sandport <command>`; resolves with the process once its stderr matched `ready`. */
function startCli(
  args: string[],
  ready: RegExp,
  what: string,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; log: () => string }> {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  return new Promise((resolvePromise, reject) => {
    const deadline = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not start within 30 s; stderr: ${stderr}`));
    }, 30_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = ready.exec(stderr);
      if (match !== null) {
        clearTimeout(deadline);
        resolvePromise({ child, match, log: () => stderr });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(deadline);
      reject(new Error(`${what} exited with ${code} before it was ready; stderr: ${stderr}`));
    });
  });
}

/** Runs the example's client once; rejects with its stderr. */
function callRunCode(endpoint: string, language: string, code: string): Promise<Record<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ["--conditions=@sandport/source", join(exampleDirectory, "call-run-code.ts"), endpoint, language, code],
      { env, timeout: 30_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}: ${stderr}`)) : resolvePromise(JSON.parse(stdout)),
    );
  });
}

/** Calls until the daemon is connected (it dials in the background), by a deadline. */
async function callWhenConnected(
  endpoint: string,
  language: string,
  code: string,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await callRunCode(endpoint, language, code);
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`no answer through the tunnel within 30 s: ${(error as Error).message}`);
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
    }
  }
}

/** Sends SIGTERM and resolves with the exit code, killing the process if it does not exit in 20 s. */
function terminate(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise) => {
    const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(deadline);
      resolvePromise(code);
    });
    child.kill("SIGTERM");
  });
}

describe("examples/tunnel-daemon", () => {
  it("serves run_code through gateway and tunnel, and changes backend with one line of config", async () => {
    const gatewayConfig = writeConfig("gateway.json", (config) => {
      config.gateway.port = 0;
    });
    const gateway = await startCli(
      ["--config", gatewayConfig, "gateway"],
      /gateway at (\S+) \(daemons dial (\S+)\)/,
      "the gateway",
    );
    const [, gatewayUrl, tunnelUrl] = gateway.match as unknown as [string, string, string];
    const endpoint = new URL("mcp/example", gatewayUrl).href;

    const edgeConfig = writeConfig("edge.json", (config) => {
      config.tunnel.gateway.url = tunnelUrl;
    });
    const edge = await startCli(["--config", edgeConfig, "tunnel"], /tunnel to /, "the edge daemon");
    expect(await callWhenConnected(endpoint, "javascript", "console.log(6 * 7)")).toMatchObject({
      exitCode: 0,
      stdout: "42\n",
    });
    expect(await terminate(edge.child)).toBe(0);

    // The one line: "provider": "edge" -> "local".
    const localConfig = writeConfig("local.json", (config) => {
      config.tunnel.gateway.url = tunnelUrl;
      config.tunnel.provider = "local";
    });
    const local = await startCli(["--config", localConfig, "tunnel"], /tunnel to /, "the local daemon");
    expect(await callWhenConnected(endpoint, "python", "print(6 * 7)")).toMatchObject({
      exitCode: 0,
      stdout: "42\n",
    });
    expect(await terminate(local.child)).toBe(0);
    expect(await terminate(gateway.child)).toBe(0);
    // Tokens never reach a log.
    for (const log of [gateway.log(), edge.log(), local.log()]) {
      expect(log).not.toContain(env.SANDPORT_DAEMON_TOKEN);
      expect(log).not.toContain(env.SANDPORT_CLIENT_TOKEN);
    }
  }, 150_000);
});
