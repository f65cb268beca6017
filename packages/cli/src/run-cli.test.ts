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
  ProviderUnavailableError,
  type RunCodeOptions,
  type Sandbox,
  SandboxFailedError,
  type SandboxProvider,
  specificationVersion,
} from "@sandport/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
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
  /** Called with the resolved settings when the provider is built (may throw). */
  construct?: (settings: ScriptedSettings) => void;
  create?: (request: CreateSandboxRequest) => Promise<void>;
  run?: (call: RecordedCall) => Promise<ExecResult>;
  destroy?: () => Promise<void>;
}

interface ScriptedSettings {
  apiKey?: string;
  memoryMb?: number;
  endpoint?: string;
  label?: string;
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
    processStdin: false,
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
  capabilities: ProviderCapabilities = capabilities;
  readonly requests: CreateSandboxRequest[] = [];
  readonly calls: RecordedCall[] = [];
  readonly destroyed: string[] = [];
  readonly sandboxes: string[] = [];

  registry(): ProviderRegistry {
    return new ProviderRegistry([
      defineProviderFactory({
        type: "scripted",
        description: "A scripted provider for CLI tests.",
        settingsSchema: z.strictObject({
          apiKey: z.string().optional(),
          memoryMb: z.number().optional(),
          endpoint: z.string().optional(),
          // A check whose message repeats the value, as some vendor schemas' messages do.
          label: z
            .string()
            .refine((value) => !value.includes("secret"), {
              error: (issue) => `"${String(issue.input)}" is not a valid label`,
            })
            .optional(),
        }),
        create: (settings, context) => {
          this.script.construct?.(settings);
          return this.provider(context.providerId);
        },
      }),
    ]);
  }

  provider(providerId: string): SandboxProvider {
    const world = this;
    return {
      specificationVersion,
      providerId,
      capabilities: world.capabilities,
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
          listFiles: () => Promise.reject(new Error("not used")),
          statFile: () => Promise.reject(new Error("not used")),
          makeDirectory: () => Promise.reject(new Error("not used")),
          removeFile: () => Promise.reject(new Error("not used")),
          renameFile: () => Promise.reject(new Error("not used")),
          async destroy() {
            await world.script.destroy?.();
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
  readonly chunks: Buffer[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, callback) => {
      this.chunks.push(Buffer.from(chunk));
      callback();
    },
  });

  get text(): string {
    return this.bytes().toString();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
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
  writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config));
  return path;
}

interface HarnessOptions {
  env?: NodeJS.ProcessEnv;
  /** What `run -` reads. */
  stdin?: string;
  /** Standard input as a pipe with these bytes (not a terminal); without it, stdin is a terminal. */
  pipedStdin?: Uint8Array;
}

function harness(options: HarnessOptions = {}): Harness {
  const stdout = new Collector();
  const stderr = new Collector();
  let listener: ((signal: InterruptSignal) => void) | undefined;
  return {
    environment: {
      stdout: stdout.stream,
      stderr: stderr.stream,
      readStdin: async () => options.stdin ?? "",
      stdinIsTTY: options.pipedStdin === undefined,
      readStdinBytes: async () => {
        if (options.pipedStdin === undefined) throw new Error("a terminal is never read");
        return options.pipedStdin;
      },
      // The router's ledger goes to the test's directory, never the user's state directory.
      env: { XDG_STATE_HOME: directory, ...options.env },
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
    const { exitCode, stderr } = await cli(["--verbose", "run", "--provider", "main", "-e", "true"]);
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
    const { exitCode } = await cli([
      "exec",
      "--provider",
      "main",
      "--timeout",
      "5000",
      "--",
      "sh",
      "-c",
      "echo hi",
      "--verbose",
    ]);
    expect(exitCode).toBe(0);
    // A lifetime past the timeout, so a CLI killed outright leaves a sandbox the provider reaps.
    expect(world.requests).toEqual([{ ttlMs: 65_000 }]);
    expect(world.calls[0]).toMatchObject({ kind: "exec", command: ["sh", "-c", "echo hi", "--verbose"] });
    expect(world.calls[0]?.options.timeoutMs).toBe(5000);
  });
});

describe("routing (in-process)", () => {
  it("routes exec without --provider, asking for a shell and, with piped input, for stdin", async () => {
    const { exitCode } = await cli(["exec", "--", "cat"], harness({ pipedStdin: Buffer.from("hi\n") }));
    expect(exitCode).toBe(0);
    expect(world.requests).toEqual([{ runtime: "shell", ttlMs: expect.any(Number) }]);
    expect(world.calls[0]?.options.stdin).toEqual(Buffer.from("hi\n"));
  });

  it("refuses piped input with exit 2 when no configured provider can deliver it, before creating a sandbox", async () => {
    world.capabilities = { ...capabilities, features: { ...capabilities.features, stdin: false } };
    const { exitCode, stderr } = await cli(
      ["exec", "--", "cat"],
      harness({ pipedStdin: Buffer.from("hi\n") }),
    );
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/^sandport: \[unsupported_capability\] no provider supports this request/);
    expect(stderr).toContain("stdin");
    expect(world.requests).toEqual([]);
  });
});

describe("route and reap (in-process)", () => {
  it("explains the decision: the chosen provider, the candidates and each rejected provider's reason", async () => {
    writeConfig({
      providers: { main: { type: "scripted" }, spare: { type: "scripted" } },
      policy: { rules: [{ name: "no-main-for-x", match: { labels: { tenant: "x" } }, deny: ["main"] }] },
    });
    const { exitCode, stdout } = await cli(["route", "--explain", "--label", "tenant=x", "--json"]);
    expect(exitCode).toBe(0);
    const decision = JSON.parse(stdout);
    expect(decision.chosen).toBe("spare");
    expect(decision.matchedRules).toEqual(["no-main-for-x"]);
    expect(decision.rejected).toEqual([
      { providerId: "main", kind: "policy", reasons: ["policy rule 'no-main-for-x' denies it"] },
    ]);
    expect(world.requests).toEqual([]);
    const table = await cli(["route", "--explain", "--label", "tenant=x"]);
    expect(table.stdout).toContain("chosen: spare");
    expect(table.stdout).toContain("main (policy): policy rule 'no-main-for-x' denies it");
  });

  it("exits 1 when no provider can take the workload, and refuses a malformed label", async () => {
    const { exitCode, stdout } = await cli(["route", "--gpu", "A100"]);
    expect(exitCode).toBe(1);
    expect(stdout).toContain("no provider can take this workload");
    expect(stdout).toContain("does not support GPUs");
    const bad = await cli(["route", "--label", "novalue"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--label: expected key=value");
  });

  it("reaps nothing when nothing was left behind, and says so", async () => {
    const { exitCode, stdout } = await cli(["reap", "--json"]);
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ destroyed: [], gone: [], failed: [] });
  });
});

describe("usage and config errors (in-process)", () => {
  it.each([
    [["run"], "nothing to run"],
    [["run", "-e", "x", "file.sh"], "not both"],
    [["run", "--lang", "cobol", "-e", "x"], "unknown language"],
    [["run", "--timeout", "soon", "-e", "x"], "positive whole number"],
    [["run", "--timeout", "0", "-e", "x"], "positive whole number"],
    [["run", "--timeout", "-5", "-e", "x"], "positive whole number"],
    [["run", "--timeout=-5", "-e", "x"], "positive whole number"],
    [["run", "--timeout", "1.5", "-e", "x"], "positive whole number"],
    [["run", "--timeout", "1e3", "-e", "x"], "positive whole number"],
    // Past the timer maximum a timer fires at once: refused, instead of a "timeout" at once.
    [["run", "--timeout", "2147483648", "-e", "x"], "longer than the longest timeout, 2147483647 ms"],
    [["exec", "--timeout", "99999999999", "--", "true"], "longer than the longest timeout"],
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

  it("lists a provider whose secret is missing: capabilities need no credential", async () => {
    writeConfig({
      default: "spare",
      providers: { main: { type: "scripted", apiKey: keyReference }, spare: { type: "scripted" } },
    });
    const { exitCode, stdout } = await cli(["providers"]);
    expect(exitCode).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+ISOLATION\s+RESIDENCY\s+RUNTIMES\s+NETWORK\s+CIRCUIT\s+LIMITS$/);
    expect(lines[1]).toMatch(/^main\s+scripted\s+namespace\s+/);
    expect(lines[2]).toMatch(
      /^spare \*\s+scripted\s+namespace\s+self-hosted\s+shell,python,javascript\s+none\s+closed\s+/,
    );
    expect(lines[2]).toContain("memory: 512 MiB, disk: not enforced, timeout: 10 min");
  });

  it("shows the circuit state a router recorded in the ledger, also from another process's run", async () => {
    writeConfig({ providers: { main: { type: "scripted" }, spare: { type: "scripted" } } });
    const { openSqliteLedger } = await import("@sandport/router/node");
    const ledger = await openSqliteLedger(join(directory, "sandport", "ledger.sqlite"));
    ledger.recordHealth("main", { circuit: "open", consecutiveFailures: 3, recordedAt: Date.now() });
    ledger.close();
    const { exitCode, stdout } = await cli(["providers", "--json"]);
    expect(exitCode).toBe(0);
    const listings = JSON.parse(stdout) as { name: string; health?: { circuit: string } }[];
    expect(listings.find((listing) => listing.name === "main")?.health).toMatchObject({ circuit: "open" });
    expect(listings.find((listing) => listing.name === "spare")?.health).toBeUndefined();
    const table = await cli(["providers"]);
    expect(table.stdout).toMatch(/^main\s+.*open \(3 failing\)/m);
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

describe("--timeout bounds (in-process)", () => {
  it("accepts the timer maximum and keeps the sandbox's lifetime within it", async () => {
    const { exitCode } = await cli(["exec", "--provider", "main", "--timeout", "2147483647", "--", "true"]);
    expect(exitCode).toBe(0);
    expect(world.calls[0]?.options.timeoutMs).toBe(2_147_483_647);
    // timeout + grace would overflow a provider's ttl timer and reap the sandbox at once.
    expect(world.requests).toEqual([{ ttlMs: 2_147_483_647 }]);
  });
});

describe("--json errors (in-process)", () => {
  function parseOne(stdout: string): unknown {
    expect(stdout.endsWith("\n")).toBe(true);
    expect(stdout.trimEnd().split("\n")).toHaveLength(1);
    return JSON.parse(stdout);
  }

  it.each([
    [["run", "--json", "--nope"], "unknown option '--nope'"],
    [["run", "--json", "--lang", "cobol", "-e", "x"], "unknown language"],
    [["run", "--json", "--timeout", "2147483648", "-e", "x"], "longer than the longest timeout"],
    [["exec", "--json"], "missing required argument"],
    [["run", "--json"], "nothing to run"],
    [["run", "--json", "--provider", "nope", "-e", "x"], 'unknown provider "nope"'],
  ])("prints one error object on stdout and exits 2 for %j", async (argv, message) => {
    const { exitCode, stdout, stderr } = await cli(argv);
    expect(exitCode).toBe(2);
    expect(stderr).toBe("");
    expect(parseOne(stdout)).toEqual({
      error: { code: "invalid_request", message: expect.stringContaining(message) },
    });
    expect(world.requests).toEqual([]);
  });

  it("reports a config error as config_invalid with exit 2", async () => {
    writeConfig({ providers: { box: { type: "scripted", memoryMb: "lots" } } });
    const { exitCode, stdout, stderr } = await cli(["providers", "--json"]);
    expect(exitCode).toBe(2);
    expect(stderr).toBe("");
    expect(parseOne(stdout)).toEqual({
      error: { code: "config_invalid", message: expect.stringContaining("providers.box.memoryMb") },
    });
  });

  it("reports a failed sandbox with its code and exit 1, and keeps the details for stderr under --verbose", async () => {
    world.script.run = async () => {
      throw new SandboxFailedError("the sandbox crashed", { cause: new Error("internal detail") });
    };
    const quiet = await cli(["exec", "--json", "--", "true"]);
    expect(quiet.exitCode).toBe(1);
    expect(quiet.stderr).toBe("");
    expect(parseOne(quiet.stdout)).toEqual({
      error: { code: "sandbox_failed", message: "the sandbox crashed" },
    });

    const verbose = await cli(["--verbose", "exec", "--json", "--", "true"]);
    expect(verbose.exitCode).toBe(1);
    expect(parseOne(verbose.stdout)).toEqual({
      error: { code: "sandbox_failed", message: "the sandbox crashed" },
    });
    expect(verbose.stderr).toContain("caused by: Error: internal detail");
  });

  it("counts only --json of sandport itself, not an option's value or the command's arguments", async () => {
    const asCode = await cli(["run", "-e", "--json", "--nope"]);
    expect(asCode.exitCode).toBe(2);
    expect(asCode.stdout).toBe("");
    expect(asCode.stderr).toBe("sandport: unknown option '--nope' (see --help)\n");

    const { exitCode, stdout } = await cli(["exec", "--", "tool", "--json"]);
    expect(exitCode).toBe(0);
    expect(stdout).toBe("");
    expect(world.calls[0]).toMatchObject({ command: ["tool", "--json"] });
  });
});

describe("output that is not UTF-8 (in-process)", () => {
  const invalid = new Uint8Array([0xff, 0xfe, 0x41, 0x0a]);
  const lossy = "\ufffd\ufffdA\n";

  it("adds the exact bytes as base64 to --json when they are not valid UTF-8", async () => {
    world.script.run = async () =>
      result({ stdout: lossy, stdoutBytes: invalid, stderr: "ok\n", stderrBytes: Buffer.from("ok\n") });
    const { exitCode, stdout } = await cli(["exec", "--json", "--", "cat", "image"]);
    expect(exitCode).toBe(0);
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ stdout: lossy, stdoutBase64: "//5BCg==", stderr: "ok\n" });
    // Valid UTF-8 text is exact already: no second copy.
    expect(parsed).not.toHaveProperty("stderrBase64");
    expect(Buffer.from(parsed.stdoutBase64 as string, "base64")).toEqual(Buffer.from(invalid));
  });

  it("writes a provider's unstreamed output as its exact bytes", async () => {
    world.script.run = async () => result({ stdout: lossy, stdoutBytes: invalid, stderr: "warn\n" });
    const { exitCode, io } = await cli(["exec", "--", "cat", "image"]);
    expect(exitCode).toBe(0);
    expect(io.stdout.bytes()).toEqual(Buffer.from(invalid));
    expect(io.stderr.text).toBe("warn\n");
  });

  it("says so on stderr when streamed text lost bytes the provider kept", async () => {
    world.script.run = async ({ options }) => {
      options.onStdout?.(lossy);
      return result({ stdout: lossy, stdoutBytes: invalid });
    };
    const { exitCode, stdout, stderr } = await cli(["exec", "--", "cat", "image"]);
    expect(exitCode).toBe(0);
    expect(stdout).toBe(lossy);
    expect(stderr).toBe(
      "sandport: stdout held bytes that are not UTF-8, shown as U+FFFD; --json carries them exactly (base64)\n",
    );
  });

  it("writes output that never came through the callbacks (a compile error, say) once", async () => {
    world.script.run = async () => result({ exitCode: 1, stderr: "TypeScript: oops (line 1, column 10)\n" });
    const { exitCode, stdout, stderr } = await cli(["run", "--lang", "python", "-e", "x"]);
    expect(exitCode).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("TypeScript: oops (line 1, column 10)\n");
  });
});

describe("exec standard input (in-process)", () => {
  it("forwards piped standard input to the command", async () => {
    const input = Buffer.from("hi\n\xff");
    const { exitCode } = await cli(["exec", "--", "cat"], harness({ pipedStdin: input }));
    expect(exitCode).toBe(0);
    expect(world.calls[0]?.options.stdin).toEqual(input);
  });

  it("reads nothing from a terminal and passes no input", async () => {
    const { exitCode } = await cli(["exec", "--", "cat"]);
    expect(exitCode).toBe(0);
    expect(world.calls[0]?.options).not.toHaveProperty("stdin");
  });

  it("passes no input for an empty pipe", async () => {
    await cli(["exec", "--", "cat"], harness({ pipedStdin: new Uint8Array() }));
    expect(world.calls[0]?.options).not.toHaveProperty("stdin");
  });

  it("refuses piped input with exit 2 when the provider cannot deliver it, before creating a sandbox", async () => {
    world.capabilities = { ...capabilities, features: { ...capabilities.features, stdin: false } };
    const { exitCode, stderr } = await cli(
      ["exec", "--provider", "main", "--", "cat"],
      harness({ pipedStdin: Buffer.from("hi\n") }),
    );
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(
      /^sandport: \[unsupported_capability\] standard input is piped, and provider "main"/,
    );
    expect(world.requests).toEqual([]);
  });
});

describe("config keys (in-process)", () => {
  it.each([
    ['{ "providers": { "__proto__": { "type": "scripted" } } }', "providers.__proto__"],
    [
      '{ "providers": { "main": { "type": "scripted", "__proto__": { "memoryMb": 1 } } } }',
      "providers.main.__proto__",
    ],
    [
      '{ "providers": { "main": { "type": "scripted" } }, "policy": { "__proto__": {} } }',
      "policy.__proto__",
    ],
  ])("refuses a __proto__ key with config_invalid naming its path: %s", async (text, path) => {
    writeConfig(text);
    const { exitCode, stderr } = await cli(["run", "-e", "x"]);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/^sandport: \[config_invalid\] /);
    expect(stderr).toContain(`${path}: "__proto__" is not allowed as a key`);
    expect(world.requests).toEqual([]);
  });

  it("finds only configured providers, never members every object has", async () => {
    for (const name of ["toString", "__proto__", "constructor"]) {
      const { exitCode, stderr } = await cli(["run", "--provider", name, "-e", "x"]);
      expect(exitCode).toBe(2);
      expect(stderr).toBe(
        `sandport: [invalid_request] unknown provider "${name}"; configured providers: main, spare\n`,
      );
    }
  });
});

describe("secrets (in-process)", () => {
  const secret = "very-secret-value";
  const password = "hunter2-pass";
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference, not a template.
  const labelReference = "${env:LABEL_TEXT}";
  const env = { SCRIPTED_KEY: secret, LABEL_TEXT: `${secret}-label` };
  const endpoint = `https://deploy:${password}@bridge.example`;

  function expectNoSecret(outcome: { stdout: string; stderr: string }): void {
    const printed = outcome.stdout + outcome.stderr;
    expect(printed).not.toContain(secret);
    expect(printed).not.toContain(password);
    expect(printed).not.toContain(Buffer.from(`deploy:${password}`).toString("base64"));
  }

  beforeEach(() => {
    writeConfig({ providers: { main: { type: "scripted", apiKey: keyReference, endpoint } } });
  });

  it.each([[[]], [["--verbose"]], [["--json"]], [["--verbose", "--json"]]])(
    "keeps a resolved secret out of an invalid setting's message (flags %j)",
    async (flags) => {
      writeConfig({ providers: { main: { type: "scripted", label: labelReference } } });
      const global = flags.filter((flag) => flag !== "--json");
      const local = flags.filter((flag) => flag === "--json");
      const outcome = await cli([...global, "run", ...local, "-e", "x"], harness({ env }));
      expect(outcome.exitCode).toBe(2);
      expect(outcome.stdout + outcome.stderr).toContain("providers.main.label");
      expect(outcome.stdout + outcome.stderr).toContain("[redacted]");
      expectNoSecret(outcome);
    },
  );

  it.each([[[]], [["--verbose"]], [["--json"]], [["--verbose", "--json"]]])(
    "keeps secrets out of a provider's failure, its causes and the lifecycle notes (flags %j)",
    async (flags) => {
      world.script.create = async () => {
        throw new ProviderUnavailableError(`could not reach ${endpoint} with key ${secret}`, {
          cause: new Error(
            `Request cannot be constructed from a URL that includes credentials: ${endpoint}/v1`,
            {
              cause: new Error(
                `Authorization: Basic ${Buffer.from(`deploy:${password}`).toString("base64")}`,
              ),
            },
          ),
        });
      };
      const global = flags.filter((flag) => flag !== "--json");
      const local = flags.filter((flag) => flag === "--json");
      const outcome = await cli([...global, "exec", ...local, "--", "true"], harness({ env }));
      expect(outcome.exitCode).toBe(1);
      expect(outcome.stdout + outcome.stderr).toContain(
        "could not reach https://[redacted]@bridge.example with key [redacted]",
      );
      if (flags.includes("--verbose")) expect(outcome.stderr).toContain("caused by:");
      expectNoSecret(outcome);
    },
  );

  it("keeps secrets out of a failed destroy's note under --verbose", async () => {
    world.script.destroy = async () => {
      throw new ProviderUnavailableError(`DELETE ${endpoint}/sandbox failed for key ${secret}`);
    };
    const outcome = await cli(["--verbose", "exec", "--", "true"], harness({ env }));
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stderr).toContain("could not destroy sandbox main:sandbox-1");
    expectNoSecret(outcome);
  });

  it("lists providers without resolving their secrets, so none can show", async () => {
    world.script.construct = (settings) => {
      throw new ProviderUnavailableError(`bad key ${settings.apiKey} for ${settings.endpoint}`);
    };
    for (const argv of [["providers"], ["providers", "--json"]]) {
      const outcome = await cli(argv, harness({ env }));
      // The listing reads capabilities from unresolved settings: the reference, never its value.
      expect(outcome.stdout).toContain(`bad key ${keyReference}`);
      expectNoSecret(outcome);
    }
  });
});
