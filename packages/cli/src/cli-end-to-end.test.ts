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
  /** Written to the CLI's standard input (a pipe), which is then closed; without it, stdin is /dev/null. */
  stdin?: string;
  /** Called with each stderr chunk; may send the child a signal. */
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
}

// Past this a CLI process is killed, so a hung one fails its test instead of outliving the run.
const processDeadlineMs = 25_000;

async function sandport(args: string[], options: SpawnOptions = {}): Promise<Outcome> {
  const entry = options.built ? [builtBin] : ["--conditions=@sandport/source", sourceEntry];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: directory,
    // PATH only: the local backend needs to find sh, python3 and its isolation tools.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const deadline = setTimeout(() => child.kill("SIGKILL"), processDeadlineMs);
  try {
    return await new Promise<Outcome>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        options.onStderr?.(stderr, child);
      });
      child.on("error", reject);
      child.on("close", (exitCode, signal) => {
        resolve({ exitCode, signal, stdout, stderr });
      });
      if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    });
  } finally {
    clearTimeout(deadline);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
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
    expect(parsed.sandboxId).toMatch(/^router:local:/);
    expect(parsed.durationMs).toEqual(expect.any(Number));
  });

  it("runs a file, inferring the language from its extension", async () => {
    writeFileSync(join(directory, "answer.py"), "import sys\nprint(sys.version_info[0])\n");
    const { exitCode, stdout } = await sandport(["run", "answer.py"]);
    expect(stdout).toBe("3\n");
    expect(exitCode).toBe(0);
  });

  it("kills a command at --timeout and exits 124", async () => {
    // Had the timeout not killed it, "never" would be printed (and the run would hit its deadline).
    const { exitCode, stdout, stderr } = await sandport([
      "run",
      "--timeout",
      "300",
      "-e",
      "sleep 10; echo never",
    ]);
    expect(exitCode).toBe(124);
    expect(stdout).toBe("");
    expect(stderr).toBe("sandport: command timed out after 300 ms\n");
  });

  it("exits 130 on Ctrl-C and destroys the sandbox", async () => {
    let sent = false;
    const { exitCode, stdout, stderr } = await sandport(["--verbose", "run", "-e", "sleep 30; echo never"], {
      onStderr: (text, child) => {
        if (!sent && text.includes("created sandbox")) {
          sent = true;
          // Give the command a moment to start, so the interrupt finds it running.
          setTimeout(() => child.kill("SIGINT"), 300);
        }
      },
    });
    expect(sent).toBe(true);
    expect(exitCode).toBe(130);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/destroyed sandbox router:local:/);
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

  it("refuses a --timeout past the timer maximum with exit 2 before creating anything", async () => {
    const { exitCode, stdout, stderr } = await sandport(["run", "--timeout", "2147483648", "-e", "echo hi"]);
    expect(exitCode).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("longer than the longest timeout, 2147483647 ms");
  });

  it("prints a TypeScript syntax error with the user's line and column, streamed and in --json", async () => {
    // The `=` is at line 1, column 10 of what the user wrote.
    const streamed = await sandport(["run", "--lang", "ts", "-e", "const x: = 1"]);
    expect(streamed.exitCode).toBe(1);
    expect(streamed.stdout).toBe("");
    expect(streamed.stderr).toMatch(/^TypeScript: .*\(line 1, column 10\)\n$/);

    const json = await sandport(["run", "--json", "--lang", "ts", "-e", "const x: = 1"]);
    expect(json.exitCode).toBe(1);
    const parsed = JSON.parse(json.stdout) as { exitCode: number; stderr: string };
    expect(parsed.exitCode).toBe(1);
    expect(parsed.stderr).toMatch(/^TypeScript: .*\(line 1, column 10\)\n$/);

    const later = await sandport(["run", "--lang", "ts", "-e", "let a: number = 1;\n  const x: = a"]);
    expect(later.stderr).toMatch(/\(line 2, column 12\)\n$/);
  });

  it("says command not found in the sandbox's terms for a missing program, with exit 127", async () => {
    const streamed = await sandport(["exec", "--", "no-such-program-here", "--flag"]);
    expect(streamed.exitCode).toBe(127);
    expect(streamed.stdout).toBe("");
    expect(streamed.stderr).toMatch(
      /no-such-program-here: command not found|command not found: no-such-program-here/,
    );
    // Nothing about how sandport runs it (its supervisor, execve, the host's paths).
    expect(streamed.stderr).not.toMatch(/supervisor|execve|sandport|ENOENT|\/work\//i);

    const json = await sandport(["exec", "--json", "--", "no-such-program-here"]);
    expect(json.exitCode).toBe(127);
    expect(JSON.parse(json.stdout)).toMatchObject({
      exitCode: 127,
      stderr: expect.stringMatching(/no-such-program-here: command not found/),
      provider: "local",
    });

    // The isolate has no programs at all: a usage error that says so, not a missing program.
    const isolate = await sandport(["exec", "--json", "--provider", "edge", "--", "ls"]);
    expect(isolate.exitCode).toBe(2);
    expect(JSON.parse(isolate.stdout)).toEqual({
      error: { code: "unsupported_capability", message: expect.stringContaining("no shell") },
    });
  });

  it("forwards piped standard input to exec, and none when stdin is empty", async () => {
    const piped = await sandport(["exec", "--", "cat"], { stdin: "hi\n" });
    expect(piped.stderr).toBe("");
    expect(piped.stdout).toBe("hi\n");
    expect(piped.exitCode).toBe(0);

    const empty = await sandport(["exec", "--", "cat"]);
    expect(empty.stdout).toBe("");
    expect(empty.exitCode).toBe(0);
  });

  it("carries output bytes that are not UTF-8 exactly in --json", async () => {
    const { exitCode, stdout } = await sandport(["exec", "--json", "--", "printf", "\\377\\376A"]);
    expect(exitCode).toBe(0);
    const parsed = JSON.parse(stdout) as { stdout: string; stdoutBase64?: string };
    expect(parsed.stdout).toBe("\ufffd\ufffdA");
    expect(parsed.stdoutBase64).toBe(Buffer.from([0xff, 0xfe, 0x41]).toString("base64"));
  });

  it("prints errors as one JSON object on stdout with --json, with the documented exit code", async () => {
    const usage = await sandport(["run", "--json", "--nope"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toBe("");
    expect(JSON.parse(usage.stdout)).toEqual({
      error: { code: "invalid_request", message: "unknown option '--nope'" },
    });
  });

  it("never prints a URL's credentials or a resolved env secret, even with --verbose", async () => {
    writeFileSync(
      join(directory, "sandport.json"),
      JSON.stringify({
        providers: {
          bridge: {
            type: "cloudflare-container",
            url: "https://deploy:hunter2-bridge-pass@127.0.0.1:9/",
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a sandport.json secret reference.
            token: "${env:BRIDGE_TOKEN}",
          },
        },
      }),
    );
    const env = { BRIDGE_TOKEN: "token-very-secret-123" };
    for (const args of [
      ["--verbose", "exec", "--", "ls"],
      ["--verbose", "exec", "--json", "--", "ls"],
    ]) {
      const { exitCode, stdout, stderr } = await sandport(args, { env });
      expect(exitCode).toBe(1);
      expect(stdout + stderr).toContain("[redacted]");
      expect(stdout + stderr).not.toContain("hunter2-bridge-pass");
      expect(stdout + stderr).not.toContain("token-very-secret-123");
    }
  });

  it("reports a working local backend and isolate engine with doctor", async () => {
    const { exitCode, stdout } = await sandport(["doctor"]);
    expect(stdout).toMatch(/^provider "local" \(local\): usable$/m);
    expect(stdout).toMatch(/^ {2}selected: {3}supervisor /m);
    expect(stdout).toMatch(/^provider "edge" \(cloudflare-isolate\): usable$/m);
    expect(exitCode).toBe(0);
    const json = await sandport(["doctor", "--json"]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      providers: expect.arrayContaining([
        expect.objectContaining({
          provider: "local",
          usable: true,
          details: expect.objectContaining({ selected: "supervisor" }),
        }),
      ]),
    });
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
