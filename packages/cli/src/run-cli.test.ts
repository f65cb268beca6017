import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import {
  type Command,
  type CreateSandboxRequest,
  defineProviderFactory,
  type ExecOptions,
  type ExecResult,
  type ProviderCapabilities,
  ProviderRegistry,
  type RunCodeOptions,
  type Sandbox,
  SandboxFailedError,
  type SandboxProvider,
  specificationVersion,
} from "@sandport/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { CliEnvironment, InterruptSignal } from "./cli-environment.ts";
import { runCli } from "./run-cli.ts";

// A scripted provider: each test decides how creation and commands behave. It stands in for a
// backend so the CLI's own logic (parsing, lifecycle, exit codes) is tested in-process.

interface RecordedCall {
  kind: "exec" | "runCode";
  command: Command | string;
  options: ExecOptions | RunCodeOptions;
}

interface Script {
  create?: (request: CreateSandboxRequest) => Promise<void>;
  run?: (call: RecordedCall) => Promise<ExecResult>;
}

const capabilities: ProviderCapabilities = {
  runtimes: ["shell", "python", "javascript"],
  isolation: "namespace",
  residency: "self-hosted",
  regions: [],
  limits: { gpuTypes: [], scope: "process", maxMemoryMb: 512, maxCommandTimeoutMs: 600_000 },
  network: { modes: ["none"], allowlist: [] },
  features: {
    filesystem: true,
    streaming: true,
    background: false,
    separateStderr: true,
    stdin: true,
    images: false,
    ports: false,
    combinedOutput: false,
    snapshots: false,
  },
  priors: {
    coldStartMs: 1,
    pricePerVcpuSecond: 0,
    pricePerGibSecond: 0,
    pricePerGpuSecond: 0,
    pricePerRequest: 0,
  },
};

function result(overrides: Partial<ExecResult> = {}): ExecResult {
  return {
    exitCode: 0,
    stdout: "",
    stderr: "",
    truncated: false,
    timedOut: false,
    durationMs: 5,
    ...overrides,
  };
}

class ScriptedWorld {
  script: Script = {};
  readonly requests: CreateSandboxRequest[] = [];
  readonly calls: RecordedCall[] = [];
  readonly destroyed: string[] = [];
  readonly sandboxes: string[] = [];

  registry(): ProviderRegistry {
    return new ProviderRegistry([
      defineProviderFactory({
        type: "scripted",
        description: "A scripted provider for CLI tests.",
        settingsSchema: z.strictObject({ apiKey: z.string().optional(), memoryMb: z.number().optional() }),
        create: (_settings, context) => this.provider(context.providerId),
      }),
    ]);
  }

  provider(providerId: string): SandboxProvider {
    const world = this;
    return {
      specificationVersion,
      providerId,
      capabilities,
      async create(request) {
        world.requests.push(request);
        await world.script.create?.(request);
        const id = `${providerId}:sandbox-${world.sandboxes.length + 1}`;
        world.sandboxes.push(id);
        const run = (call: RecordedCall) => {
          world.calls.push(call);
          return world.script.run?.(call) ?? Promise.resolve(result());
        };
        const sandbox: Sandbox = {
          id,
          exec: (command, options = {}) => run({ kind: "exec", command, options }),
          runCode: (code, options) => run({ kind: "runCode", command: code, options }),
          readFile: async () => new Uint8Array(),
          writeFile: async () => {},
          async destroy() {
            if (!world.destroyed.includes(id)) world.destroyed.push(id);
          },
          [Symbol.asyncDispose]: () => sandbox.destroy(),
        };
        return sandbox;
      },
      connect: () => Promise.reject(new Error("not used")),
    };
  }
}

class Collector {
  text = "";
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, callback) => {
      this.text += chunk.toString();
      callback();
    },
  });
}

interface Harness {
  environment: CliEnvironment;
  stdout: Collector;
  stderr: Collector;
  interrupt(signal?: InterruptSignal): void;
  listening(): boolean;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference, not a template.
const keyReference = "${env:SCRIPTED_KEY}";

let directory: string;
let world: ScriptedWorld;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "sandport-cli-"));
  world = new ScriptedWorld();
  writeConfig({ providers: { main: { type: "scripted" }, spare: { type: "scripted" } } });
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function writeConfig(config: unknown, name = "sandport.json"): string {
  const path = join(directory, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function harness(options: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Harness {
  const stdout = new Collector();
  const stderr = new Collector();
  let listener: ((signal: InterruptSignal) => void) | undefined;
  return {
    environment: {
      stdout: stdout.stream,
      stderr: stderr.stream,
      readStdin: async () => options.stdin ?? "",
      env: options.env ?? {},
      cwd: directory,
      onInterrupt(callback) {
        listener = callback;
        return () => {
          listener = undefined;
        };
      },
    },
    stdout,
    stderr,
    interrupt: (signal = "SIGINT") => listener?.(signal),
    listening: () => listener !== undefined,
  };
}

async function cli(argv: string[], io: Harness = harness()) {
  const exitCode = await runCli(argv, io.environment, { registry: world.registry() });
  return { exitCode, stdout: io.stdout.text, stderr: io.stderr.text, io };
}

function deferred<Value = void>() {
  let resolve!: (value: Value) => void;
  const promise = new Promise<Value>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("sandport run (in-process)", () => {
  it("streams stdout and stderr to the matching streams and exits with the command's exit code", async () => {
    world.script.run = async ({ options }) => {
      options.onStdout?.("out 1\n");
      options.onStderr?.("err 1\n");
      options.onStdout?.("out 2\n");
      return result({ exitCode: 3, stdout: "out 1\nout 2\n", stderr: "err 1\n" });
    };
    const { exitCode, stdout, stderr } = await cli(["run", "--lang", "python", "-e", "print(1)"]);
    expect(exitCode).toBe(3);
    expect(stdout).toBe("out 1\nout 2\n");
    expect(stderr).toBe("err 1\n");
    expect(world.requests).toEqual([{ runtime: "python", ttlMs: 3_600_000 }]);
    expect(world.calls[0]).toMatchObject({ kind: "runCode", command: "print(1)" });
    expect(world.calls[0]?.options).toMatchObject({ language: "python" });
    expect(world.destroyed).toEqual(["main:sandbox-1"]);
  });

  it("prints exactly one JSON object with --json and streams nothing", async () => {
    world.script.run = async ({ options }) => {
      expect(options.onStdout).toBeUndefined();
      return result({ exitCode: 0, stdout: "42\n", stderr: "warn\n", durationMs: 12 });
    };
    const { exitCode, stdout, stderr } = await cli(["run", "--json", "--provider", "spare", "-e", "echo 42"]);
    expect(exitCode).toBe(0);
    expect(stderr).toBe("");
    expect(JSON.parse(stdout)).toEqual({
      exitCode: 0,
      stdout: "42\n",
      stderr: "warn\n",
      truncated: false,
      timedOut: false,
      durationMs: 12,
      sandboxId: "spare:sandbox-1",
      provider: "spare",
    });
  });

  it("passes --timeout as the per-command timeout and exits 124 with a note when it fires", async () => {
    world.script.run = async () => result({ exitCode: 137, timedOut: true });
    const { exitCode, stderr } = await cli(["run", "--timeout", "300", "-e", "sleep 10"]);
    expect(world.calls[0]?.options.timeoutMs).toBe(300);
    expect(exitCode).toBe(124);
    expect(stderr).toBe("sandport: command timed out after 300 ms\n");
    expect(world.destroyed).toHaveLength(1);
  });

  it("reads code from a file relative to the working directory and infers the language", async () => {
    writeFileSync(join(directory, "hello.py"), "print('hi')\n");
    const { exitCode } = await cli(["run", "hello.py"]);
    expect(exitCode).toBe(0);
    expect(world.requests).toEqual([{ runtime: "python", ttlMs: 3_600_000 }]);
    expect(world.calls[0]).toMatchObject({ command: "print('hi')\n" });
  });

  it('reads code from standard input with "-", defaulting to shell', async () => {
    await cli(["run", "-"], harness({ stdin: "echo from stdin" }));
    expect(world.requests).toEqual([{ runtime: "shell", ttlMs: 3_600_000 }]);
    expect(world.calls[0]).toMatchObject({ command: "echo from stdin" });
  });

  it("destroys the sandbox and exits 1 with one line when the command fails", async () => {
    world.script.run = async () => {
      throw new SandboxFailedError("the sandbox crashed", { cause: new Error("internal detail") });
    };
    const { exitCode, stderr } = await cli(["run", "-e", "true"]);
    expect(exitCode).toBe(1);
    expect(stderr).toBe("sandport: [sandbox_failed] the sandbox crashed\n");
    expect(world.destroyed).toEqual(["main:sandbox-1"]);
  });

  it("shows the stack trace and cause only with --verbose", async () => {
    world.script.run = async () => {
      throw new SandboxFailedError("the sandbox crashed", { cause: new Error("internal detail") });
    };
    const { exitCode, stderr } = await cli(["--verbose", "run", "-e", "true"]);
    expect(exitCode).toBe(1);
    expect(stderr).toContain("sandport: created sandbox main:sandbox-1");
    expect(stderr).toContain("sandport: [sandbox_failed] the sandbox crashed\n");
    expect(stderr).toMatch(/SandboxFailedError: the sandbox crashed\n\s+at /);
    expect(stderr).toContain("caused by: Error: internal detail");
  });

  it("aborts a pending creation on Ctrl-C, destroys the sandbox that arrives late, and exits 130", async () => {
    const creating = deferred();
    const release = deferred();
    world.script.create = async () => {
      creating.resolve();
      await release.promise;
    };
    const io = harness();
    const running = cli(["run", "-e", "echo never"], io);
    await creating.promise;
    io.interrupt("SIGINT");
    const { exitCode, stdout } = await running;
    expect(exitCode).toBe(130);
    expect(stdout).toBe("");
    expect(io.listening()).toBe(false);
    // The provider finishes creating after the CLI gave up: core destroys that sandbox.
    release.resolve();
    await expect.poll(() => world.destroyed).toEqual(["main:sandbox-1"]);
    expect(world.calls).toEqual([]);
  });

  it("aborts the running command's signal on Ctrl-C, destroys the sandbox and exits 130", async () => {
    const started = deferred();
    world.script.run = ({ options }) =>
      new Promise((resolve) => {
        started.resolve();
        options.signal?.addEventListener("abort", () => resolve(result({ exitCode: 137 })));
      });
    const io = harness();
    const running = cli(["exec", "--", "sleep", "30"], io);
    await started.promise;
    io.interrupt("SIGINT");
    const { exitCode } = await running;
    expect(exitCode).toBe(130);
    expect(world.calls[0]?.options.signal?.aborted).toBe(true);
    expect(world.destroyed).toEqual(["main:sandbox-1"]);
  });

  it("stops waiting for a command that misses the abort, destroys the sandbox and exits 130", async () => {
    const started = deferred();
    const never = deferred<ExecResult>();
    world.script.run = () => {
      started.resolve();
      return never.promise;
    };
    const io = harness();
    const running = cli(["run", "-e", "sleep 30"], io);
    await started.promise;
    io.interrupt("SIGINT");
    expect((await running).exitCode).toBe(130);
    expect(world.destroyed).toEqual(["main:sandbox-1"]);
  });

  it("exits 143 when stopped with SIGTERM", async () => {
    const started = deferred();
    world.script.run = ({ options }) =>
      new Promise((_resolve, reject) => {
        started.resolve();
        options.signal?.addEventListener("abort", () => reject(options.signal?.reason));
      });
    const io = harness();
    const running = cli(["run", "-e", "sleep 30"], io);
    await started.promise;
    io.interrupt("SIGTERM");
    expect((await running).exitCode).toBe(143);
    expect(world.destroyed).toHaveLength(1);
  });
});

describe("sandport exec (in-process)", () => {
  it("runs the argv after -- unchanged, options included, with no runtime requested", async () => {
    const { exitCode } = await cli(["exec", "--timeout", "5000", "--", "sh", "-c", "echo hi", "--verbose"]);
    expect(exitCode).toBe(0);
    // A lifetime past the timeout, so a CLI killed outright leaves a sandbox the provider reaps.
    expect(world.requests).toEqual([{ ttlMs: 65_000 }]);
    expect(world.calls[0]).toMatchObject({ kind: "exec", command: ["sh", "-c", "echo hi", "--verbose"] });
    expect(world.calls[0]?.options.timeoutMs).toBe(5000);
  });
});

describe("usage and config errors (in-process)", () => {
  it.each([
    [["run"], "nothing to run"],
    [["run", "-e", "x", "file.sh"], "not both"],
    [["run", "--lang", "cobol", "-e", "x"], "unknown language"],
    [["run", "--timeout", "soon", "-e", "x"], "positive whole number"],
    [["run", "missing.py"], "cannot read missing.py (ENOENT)"],
    [["exec"], "missing required argument"],
    [["exec", "ls", "-la"], "unknown option '-la'"],
    [["launch"], "unknown command 'launch'"],
    [["run", "--nope"], "unknown option '--nope'"],
  ])("exits 2 with one line for %j", async (argv, message) => {
    const { exitCode, stdout, stderr } = await cli(argv);
    expect(exitCode).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^sandport: /);
    expect(stderr).toContain(message);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(world.requests).toEqual([]);
  });

  it("names the configured providers when --provider is unknown", async () => {
    const { exitCode, stderr } = await cli(["run", "--provider", "nope", "-e", "x"]);
    expect(exitCode).toBe(2);
    expect(stderr).toBe(
      'sandport: [invalid_request] unknown provider "nope"; configured providers: main, spare\n',
    );
  });

  it("names providers.<name>.<field> for a bad setting, from --config, $SANDPORT_CONFIG or ./sandport.json", async () => {
    const bad = { providers: { box: { type: "scripted", memoryMb: "lots" } } };
    const explicit = writeConfig(bad, "explicit.json");
    const fromFlag = await cli(["run", "--config", explicit, "-e", "x"]);
    expect(fromFlag.exitCode).toBe(2);
    expect(fromFlag.stderr).toMatch(
      /^sandport: \[config_invalid\] .*explicit\.json: .*providers\.box\.memoryMb/,
    );

    const fromEnvironment = await cli(["providers"], harness({ env: { SANDPORT_CONFIG: explicit } }));
    expect(fromEnvironment.exitCode).toBe(2);
    expect(fromEnvironment.stderr).toContain("providers.box.memoryMb");

    writeConfig(bad);
    const fromDirectory = await cli(["doctor"]);
    expect(fromDirectory.exitCode).toBe(2);
    expect(fromDirectory.stderr).toContain("providers.box.memoryMb");
  });

  it("prints the version and help with exit 0", async () => {
    const version = await cli(["--version"]);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await cli(["run", "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("--lang <language>");
    expect(help.stdout).toContain("--config <path>");
  });
});

describe("sandport providers (in-process)", () => {
  it("lists every configured provider with its capabilities as JSON", async () => {
    const { exitCode, stdout } = await cli(["providers", "--json"]);
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toEqual([
      { name: "main", type: "scripted", default: true, capabilities },
      { name: "spare", type: "scripted", default: false, capabilities },
    ]);
  });

  it("lists a provider whose secret is missing with the reason, without hiding the others", async () => {
    writeConfig({
      default: "spare",
      providers: { main: { type: "scripted", apiKey: keyReference }, spare: { type: "scripted" } },
    });
    const { exitCode, stdout } = await cli(["providers"]);
    expect(exitCode).toBe(2);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+ISOLATION\s+RESIDENCY\s+RUNTIMES\s+NETWORK\s+LIMITS$/);
    expect(lines[1]).toContain("environment variable SCRIPTED_KEY is not set");
    expect(lines[2]).toMatch(
      /^spare \*\s+scripted\s+namespace\s+self-hosted\s+shell,python,javascript\s+none\s+/,
    );
    expect(lines[2]).toContain("memory 512 MiB, timeout 10 min");
  });

  it("never prints a resolved secret", async () => {
    writeConfig({ providers: { main: { type: "scripted", apiKey: keyReference } } });
    const { exitCode, stdout, stderr } = await cli(
      ["providers", "--json"],
      harness({ env: { SCRIPTED_KEY: "very-secret-value" } }),
    );
    expect(exitCode).toBe(0);
    expect(stdout + stderr).not.toContain("very-secret-value");
  });
});
