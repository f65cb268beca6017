import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

// These run the CLI as a user does: a separate process, the real local backend, a working
// directory with no sandport.json (so the embedded default applies) and a clean environment.

const packageDirectory = fileURLToPath(new URL("..", import.meta.url));
const sourceEntry = join(packageDirectory, "src", "main.ts");
const builtBin = join(packageDirectory, "bin", "sandport.js");
const builtEntry = join(packageDirectory, "dist", "main.js");

interface Outcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "sandport-cli-e2e-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

interface SpawnOptions {
  /** Run the built bin instead of the TypeScript sources. */
  built?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called with each stderr chunk; may send the child a signal. */
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
}

function sandport(args: string[], options: SpawnOptions = {}): Promise<Outcome> {
  const entry = options.built ? [builtBin] : ["--conditions=@sandport/source", sourceEntry];
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: directory,
      // PATH only: the local backend needs to find sh, python3 and its isolation tools.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      resolve({ exitCode, signal, stdout, stderr, elapsedMs: performance.now() - startedAt });
    });
  });
}

// Each test starts a Node process and a sandbox; leave room for a loaded machine running every suite.
const processTestTimeout = { timeout: 30_000 };

describe("sandport (end to end, from source)", processTestTimeout, () => {
  it("runs python code and prints its output", async () => {
    const { exitCode, stdout, stderr } = await sandport(["run", "--lang", "python", "-e", "print(6*7)"]);
    expect(stderr).toBe("");
    expect(stdout).toBe("42\n");
    expect(exitCode).toBe(0);
  });

  it("exits with the sandboxed shell's exit code", async () => {
    const { exitCode } = await sandport(["run", "--lang", "sh", "-e", "exit 7"]);
    expect(exitCode).toBe(7);
  });

  it("streams the command's stdout and stderr to its own stdout and stderr", async () => {
    const { exitCode, stdout, stderr } = await sandport(["exec", "--", "sh", "-c", "echo out; echo err >&2"]);
    expect(exitCode).toBe(0);
    expect(stdout).toBe("out\n");
    expect(stderr).toBe("err\n");
  });

  it("prints one parseable JSON object with --json", async () => {
    const { exitCode, stdout } = await sandport([
      "exec",
      "--json",
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 3",
    ]);
    expect(exitCode).toBe(3);
    const parsed = JSON.parse(stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      exitCode: 3,
      stdout: "out\n",
      stderr: "err\n",
      truncated: false,
      timedOut: false,
      provider: "local",
    });
    expect(parsed.sandboxId).toMatch(/^local:/);
    expect(parsed.durationMs).toEqual(expect.any(Number));
  });

  it("runs a file, inferring the language from its extension", async () => {
    writeFileSync(join(directory, "answer.py"), "import sys\nprint(sys.version_info[0])\n");
    const { exitCode, stdout } = await sandport(["run", "answer.py"]);
    expect(stdout).toBe("3\n");
    expect(exitCode).toBe(0);
  });

  it("kills a command at --timeout and exits 124 quickly", async () => {
    const { exitCode, stderr, elapsedMs } = await sandport(["run", "--timeout", "300", "-e", "sleep 10"]);
    expect(exitCode).toBe(124);
    expect(stderr).toBe("sandport: command timed out after 300 ms\n");
    expect(elapsedMs).toBeLessThan(5000);
  });

  it("exits 130 on Ctrl-C and destroys the sandbox", async () => {
    let sent = false;
    const { exitCode, stdout, stderr, elapsedMs } = await sandport(
      ["--verbose", "run", "-e", "sleep 30; echo never"],
      {
        onStderr: (text, child) => {
          if (!sent && text.includes("created sandbox")) {
            sent = true;
            // Give the command a moment to start, so the interrupt finds it running.
            setTimeout(() => child.kill("SIGINT"), 300);
          }
        },
      },
    );
    expect(sent).toBe(true);
    expect(exitCode).toBe(130);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/destroyed sandbox local:/);
    expect(elapsedMs).toBeLessThan(10_000);
  });

  it("exits 2 and lists the configured providers for an unknown --provider", async () => {
    const { exitCode, stderr } = await sandport(["run", "--provider", "nope", "-e", "echo"]);
    expect(exitCode).toBe(2);
    expect(stderr).toBe(
      'sandport: [invalid_request] unknown provider "nope"; configured providers: edge, local\n',
    );
  });

  it("exits 2 naming providers.<name>.<field> for a bad setting in the config file", async () => {
    writeFileSync(
      join(directory, "sandport.json"),
      JSON.stringify({ providers: { box: { type: "local", memoryMb: "plenty" } } }),
    );
    const { exitCode, stderr } = await sandport(["run", "-e", "echo"]);
    expect(exitCode).toBe(2);
    expect(stderr).toMatch(/^sandport: \[config_invalid\] .*providers\.box\.memoryMb/);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("lists the embedded default's providers with providers --json", async () => {
    const { exitCode, stdout } = await sandport(["providers", "--json"]);
    expect(exitCode).toBe(0);
    const listings = JSON.parse(stdout) as { name: string; type: string; default: boolean }[];
    expect(listings).toEqual([
      expect.objectContaining({
        name: "edge",
        type: "cloudflare-isolate",
        default: true,
        capabilities: expect.objectContaining({ isolation: "v8-isolate", residency: "self-hosted" }),
      }),
      expect.objectContaining({
        name: "local",
        type: "local",
        default: false,
        capabilities: expect.objectContaining({ isolation: expect.stringMatching(/^(namespace|none)$/) }),
      }),
    ]);
  });

  it("runs JavaScript and TypeScript in a V8 isolate on the embedded default, shell in the local sandbox", async () => {
    const javascript = await sandport([
      "run",
      "--json",
      "--lang",
      "js",
      "-e",
      "console.log(typeof process.env)",
    ]);
    expect(javascript.exitCode).toBe(0);
    expect(JSON.parse(javascript.stdout)).toMatchObject({ provider: "edge", stdout: "object\n" });
    const typescript = await sandport([
      "run",
      "--json",
      "--lang",
      "ts",
      "-e",
      "const n: number = 41;\nreturn n + 1;",
    ]);
    expect(JSON.parse(typescript.stdout)).toMatchObject({ provider: "edge", value: 42, exitCode: 0 });
    const shell = await sandport(["run", "--json", "--lang", "sh", "-e", "echo from-shell"]);
    expect(JSON.parse(shell.stdout)).toMatchObject({ provider: "local", stdout: "from-shell\n" });
  });

  it("reports a working local backend with doctor", async () => {
    const { exitCode, stdout } = await sandport(["doctor"]);
    expect(stdout).toMatch(/^selected: {3}supervisor /m);
    expect(stdout).toMatch(/^running as: /m);
    expect(exitCode).toBe(0);
    const json = await sandport(["doctor", "--json"]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ provider: "local", selected: expect.any(String) });
  });
});

describe("sandport (end to end, built bin)", processTestTimeout, () => {
  it.skipIf(!existsSync(builtEntry))(
    "runs python through bin/sandport.js as an installed CLI does (skipped until packages/cli is built: npm run build)",
    async () => {
      const { exitCode, stdout, stderr } = await sandport(["run", "--lang", "python", "-e", "print(6*7)"], {
        built: true,
      });
      expect(stderr).toBe("");
      expect(stdout).toBe("42\n");
      expect(exitCode).toBe(0);
    },
  );
});
