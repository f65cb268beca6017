// The fake sandbox bridge against the real one's source (`@cloudflare/sandbox/bridge` in node_modules):
// the same command line for an argv, nothing ended when the client goes away, /running from the
// container, optional auth. And the adapter's abort, which ends a command only through what the real
// bridge offers: another exec.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Sandbox } from "@sandport/core";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCloudflareContainerProvider } from "./cloudflare-container-provider.ts";
import { execMarkerVariable } from "./container/container-request-mapping.ts";
import { type ContainerExecutor, createSandboxBridgeFake } from "./testing/index.ts";
import { sandboxBridgeCommandLine } from "./testing/sandbox-bridge-rules.ts";

const token = "fidelity-token-5e6f";
const url = "https://fidelity-bridge.test";
const bridge = createSandboxBridgeFake({ url, token });
const openUrl = "https://open-bridge.test";
const openBridge = createSandboxBridgeFake({ url: openUrl });
/** Containers whose every command fails inside the container. */
const brokenExecutor: ContainerExecutor = {
  start: async () => ({
    exec: async () => Promise.reject(new Error("session shell terminated")),
    readFile: async () => undefined,
    writeFile: async () => {},
    stop: async () => {},
  }),
};
const brokenUrl = "https://broken-fidelity-bridge.test";
const brokenBridge = createSandboxBridgeFake({ url: brokenUrl, token, executor: brokenExecutor });
const server = setupServer(...bridge.handlers, ...openBridge.handlers, ...brokenBridge.handlers);

const created: Sandbox[] = [];
beforeAll(() => server.listen({ onUnhandledFrame: "error" }));
afterEach(async () => {
  await Promise.all(created.splice(0).map((sandbox) => sandbox.destroy().catch(() => {})));
  bridge.clearCalls();
});
afterAll(async () => {
  server.close();
  await Promise.all([bridge.close(), openBridge.close(), brokenBridge.close()]);
});

async function createSandbox(): Promise<Sandbox> {
  const sandbox = await createCloudflareContainerProvider({ url, token }).create({});
  created.push(sandbox);
  return sandbox;
}

function vendorId(sandbox: Sandbox): string {
  return sandbox.id.slice(sandbox.id.indexOf(":") + 1);
}

const auth = { authorization: `Bearer ${token}` };

function execRequest(base: string, id: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/v1/sandbox/${id}/exec`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** The real bridge's `shellQuote`, taken from its published source, run as it is there. */
function realShellQuote(): (argument: unknown) => unknown {
  // The package's exports map hides its files; node_modules is found the way Node would search it.
  let directory = dirname(fileURLToPath(import.meta.url));
  let file = "";
  for (;;) {
    file = join(directory, "node_modules/@cloudflare/sandbox/dist/bridge/index.js");
    if (existsSync(file) || dirname(directory) === directory) break;
    directory = dirname(directory);
  }
  const source = readFileSync(file, "utf8");
  const match = /function shellQuote\(arg\) \{[\s\S]*?\n\}/.exec(source);
  if (match === null) throw new Error("shellQuote not found in @cloudflare/sandbox/dist/bridge/index.js");
  return new Function(`${match[0]}; return shellQuote;`)() as (argument: unknown) => unknown;
}

/** Lines of `/proc/<pid>` whose environment holds `entry`, as seen inside the sandbox. */
async function processesMarked(sandbox: Sandbox, entry: string): Promise<string> {
  const result = await sandbox.exec([
    "sh",
    "-c",
    'for d in /proc/[0-9]*; do grep -qxzF -e "$1" "$d/environ" 2>/dev/null && echo "$d"; done; true',
    "sh",
    entry,
  ]);
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

describe("sandbox bridge fake: the exec path of the real bridge", () => {
  const tricky: unknown[] = [
    "plain",
    "a b",
    "",
    " ",
    "it's",
    'say "hi"',
    "back\\slash",
    "$HOME",
    "`id`",
    "line\nbreak",
    "tab\there",
    "cr\rhere",
    "ünïcødé ☃",
    "*",
    "a=b",
    "-n",
    "%s",
    42,
    true,
    null,
    [1, 2],
  ];

  it("builds the same command line as the bridge's shellQuote and join", () => {
    const quote = realShellQuote();
    expect(sandboxBridgeCommandLine(tricky)).toBe(tricky.map(quote).join(" "));
    for (const bad of [{}, ["a b"], { a: 1 }]) {
      expect(() => tricky.concat([bad]).map(quote)).toThrow(TypeError);
      expect(() => sandboxBridgeCommandLine([bad])).toThrow(TypeError);
    }
  });

  it("runs that line with bash, so $'...' arguments arrive unchanged", async () => {
    const sandbox = await createSandbox();
    const strings = tricky.filter((argument): argument is string => typeof argument === "string");
    const result = await sandbox.exec([
      "sh",
      "-c",
      'for a in "$@"; do printf "[%s]" "$a"; done',
      "sh",
      ...strings,
    ]);
    expect(result).toMatchObject({
      exitCode: 0,
      stdout: strings.map((argument) => `[${argument}]`).join(""),
    });
  });

  it("answers non-string argv elements as the bridge does: numbers, booleans and null pass, objects fail 500", async () => {
    const sandbox = await createSandbox();
    const id = vendorId(sandbox);
    const passing = await execRequest(url, id, { argv: ["echo", 42, true, null, "x"] });
    expect(passing.status).toBe(200);
    const events = await passing.text();
    expect(events).toContain(`event: stdout\ndata: ${Buffer.from("42 true x\n").toString("base64")}`);
    expect(events).toContain('event: exit\ndata: {"exit_code":0}');
    for (const argv of [
      ["echo", {}],
      ["echo", ["a b"]],
    ]) {
      const failing = await execRequest(url, id, { argv });
      expect(failing.status).toBe(500);
      expect(await failing.text()).toBe("Internal Server Error");
    }
  });

  it("keeps a command running after its client disconnects, as the bridge does", async () => {
    const sandbox = await createSandbox();
    const controller = new AbortController();
    const response = await execRequest(
      url,
      vendorId(sandbox),
      { argv: ["sh", "-c", "echo started; sleep 0.6; echo done > outlived.txt"], cwd: "/workspace" },
      controller.signal,
    );
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(new TextDecoder().decode(await sandbox.readFile("outlived.txt"))).toBe("done\n");
  });

  it("drops timeout_ms, as the container's streaming exec does: the command runs to its end", async () => {
    const sandbox = await createSandbox();
    const response = await execRequest(url, vendorId(sandbox), {
      argv: ["sh", "-c", "sleep 0.4; echo finished"],
      timeout_ms: 50,
    });
    const events = await response.text();
    expect(events).toContain(`data: ${Buffer.from("finished\n").toString("base64")}`);
    expect(events).toContain('event: exit\ndata: {"exit_code":0}');
  });
});

describe("the adapter's abort and timeout, through what the real bridge has", () => {
  it("an aborted exec leaves no process running, ended by a second exec rather than by the disconnect", async () => {
    const sandbox = await createSandbox();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    const running = sandbox.exec(["sh", "-c", "(sleep 30; echo late) & sleep 30"], {
      signal: controller.signal,
    });
    await expect(running).rejects.toMatchObject({ code: "aborted" });
    clearTimeout(timer);
    const execs = bridge.calls.filter((call) => call.route === "exec");
    const first = execs[0]?.body as { argv: string[] };
    const marker = first.argv.find((argument) => argument.startsWith(`${execMarkerVariable}=`));
    expect(marker).toMatch(/^SANDPORT_EXEC_ID=[0-9a-f-]{36}$/);
    // The only thing that ended it: an exec that kills the processes carrying this exec's marker.
    expect(execs[1]?.body).toMatchObject({ argv: ["sh", "-c", expect.any(String), "sh", marker] });
    expect(await processesMarked(sandbox, marker ?? "")).toBe("");
  });

  it("without that second exec, the aborted command would still be running (the fake does not end it)", async () => {
    const sandbox = await createSandbox();
    const entry = `${execMarkerVariable}=manual-${Date.now()}`;
    const controller = new AbortController();
    const response = await execRequest(
      url,
      vendorId(sandbox),
      { argv: ["env", entry, "sh", "-c", "echo started; sleep 30"] },
      controller.signal,
    );
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await processesMarked(sandbox, entry)).not.toBe("");
  });

  it("a timed-out exec reports timedOut and leaves no process running", async () => {
    const sandbox = await createSandbox();
    const result = await sandbox.exec(["sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 200 });
    expect(result).toMatchObject({ timedOut: true });
    const first = bridge.calls.find((call) => call.route === "exec")?.body as { argv: string[] };
    const marker = first.argv.find((argument) => argument.startsWith(`${execMarkerVariable}=`)) ?? "";
    expect(await processesMarked(sandbox, marker)).toBe("");
  });
});

describe("sandbox bridge fake: smaller routes", () => {
  it("/running runs a command in the container: true when it runs, false when it cannot", async () => {
    const sandbox = await createSandbox();
    const running = await fetch(`${url}/v1/sandbox/${vendorId(sandbox)}/running`, { headers: auth });
    expect(await running.json()).toEqual({ running: true });
    const broken = await createCloudflareContainerProvider({ url: brokenUrl, token }).create({});
    created.push(broken);
    const notRunning = await fetch(`${brokenUrl}/v1/sandbox/${vendorId(broken)}/running`, { headers: auth });
    expect(await notRunning.json()).toEqual({ running: false });
  });

  it("checks no token when the deployment sets no key, and refuses a wrong one when it does", async () => {
    const open = await fetch(`${openUrl}/v1/sandbox`, { method: "POST" });
    expect(open.status).toBe(200);
    expect(await open.json()).toMatchObject({ id: expect.stringMatching(/^[a-z2-7]+$/) });
    const refused = await fetch(`${url}/v1/sandbox`, {
      method: "POST",
      headers: { authorization: "Bearer nope" },
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "Unauthorized", code: "unauthorized" });
  });
});
