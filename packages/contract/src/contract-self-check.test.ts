// The suite must be able to fail: each test breaks the real process provider in one realistic way
// and checks that the contract case guarding that behaviour fails, while it passes unbroken.
import { readdirSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Command,
  type CreateSandboxRequest,
  type ExecOptions,
  type ExecResult,
  NotFoundError,
  type ProcessSignal,
  parseCreateSandboxRequest,
  type Sandbox,
  type SandboxProvider,
  SandportError,
  type SpawnOptions,
} from "@sandport/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  createContractContext,
  describeProviderContract,
  getContractCase,
  runContractCase,
} from "./index.ts";
import { createProcessProvider } from "./testing/index.ts";

/** Real sandboxes handed out through a broken wrapper, destroyed after each test. */
const created: Sandbox[] = [];

afterEach(async () => {
  await Promise.all(created.splice(0).map((sandbox) => sandbox.destroy()));
});

/** A provider whose sandboxes have some methods replaced; everything else is the real provider. */
function breakProvider(
  change: (sandbox: Sandbox) => Partial<Sandbox>,
  providerChange: (provider: SandboxProvider) => Partial<SandboxProvider> = () => ({}),
): SandboxProvider {
  const real = createProcessProvider({ providerId: "broken" });
  const wrap = (sandbox: Sandbox): Sandbox => {
    created.push(sandbox);
    const wrapped: Sandbox = {
      id: sandbox.id,
      exec: (command, options) => sandbox.exec(command, options),
      readFile: (path, options) => sandbox.readFile(path, options),
      writeFile: (path, data, options) => sandbox.writeFile(path, data, options),
      listFiles: (path, options) => sandbox.listFiles(path, options),
      statFile: (path, options) => sandbox.statFile(path, options),
      makeDirectory: (path, options) => sandbox.makeDirectory(path, options),
      removeFile: (path, options) => sandbox.removeFile(path, options),
      renameFile: (from, to, options) => sandbox.renameFile(from, to, options),
      destroy: (options) => sandbox.destroy(options),
      ...(sandbox.runCode === undefined ? {} : { runCode: sandbox.runCode.bind(sandbox) }),
      ...(sandbox.spawn === undefined ? {} : { spawn: sandbox.spawn.bind(sandbox) }),
      [Symbol.asyncDispose]: () => wrapped.destroy(),
      ...change(sandbox),
    };
    return wrapped;
  };
  return {
    specificationVersion: real.specificationVersion,
    providerId: real.providerId,
    capabilities: real.capabilities,
    create: async (request, options) => wrap(await real.create(request, options)),
    connect: async (sandboxId, options) => wrap(await real.connect(sandboxId, options)),
    list: real.list?.bind(real),
    ...providerChange(real),
  };
}

async function expectCase(id: string, provider: SandboxProvider) {
  const contract = await createContractContext({ name: id, create: () => provider });
  return expect(runContractCase(getContractCase(id), contract));
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("the contract catches broken providers", () => {
  it("fails exec-argv-unchanged when argv is joined into a shell string", async () => {
    await (
      await expectCase(
        "exec-argv-unchanged",
        breakProvider(() => ({})),
      )
    ).resolves.toBeUndefined();
    const joinsArgv = breakProvider((sandbox) => ({
      exec: (command: Command, options?: ExecOptions) =>
        sandbox.exec("shell" in command ? command : { shell: command.join(" ") }, options),
    }));
    await (await expectCase("exec-argv-unchanged", joinsArgv)).rejects.toThrow(/to deeply equal/);
  });

  it("fails exec-timeout-kills-children when a timeout only stops waiting", async () => {
    const stopsWaiting = breakProvider((sandbox) => ({
      exec: (command: Command, options: ExecOptions = {}) => {
        const { timeoutMs, ...rest } = options;
        const running = sandbox.exec(command, rest);
        if (timeoutMs === undefined) return running;
        running.catch(() => {});
        const timedOut: ExecResult = {
          exitCode: 124,
          stdout: "",
          stderr: "",
          truncated: false,
          timedOut: true,
          durationMs: timeoutMs,
        };
        return Promise.race([running, sleep(timeoutMs).then(() => timedOut)]);
      },
    }));
    await (await expectCase("exec-timeout-kills-children", stopsWaiting)).rejects.toThrow(
      /code "not_found", but the call succeeded/,
    );
  });

  it("fails destroyed-not-found and live-count-tracks-sandboxes when destroy leaks", async () => {
    const leaks = () => breakProvider(() => ({ destroy: async () => {} }));
    await (await expectCase("destroyed-not-found", leaks())).rejects.toThrow(
      /code "not_found", but the call succeeded/,
    );
    await (await expectCase("live-count-tracks-sandboxes", leaks())).rejects.toThrow(/after destroy/);
  });

  it("fails create-already-aborted when create ignores its signal", async () => {
    const ignoresSignal = breakProvider(
      () => ({}),
      (real) => ({ create: (request) => real.create(request) }),
    );
    await (await expectCase("create-already-aborted", ignoresSignal)).rejects.toThrow(
      /code "aborted", but the call succeeded/,
    );
  });

  it("fails file-link-escapes when writeFile follows links on the host", async () => {
    // A naive host-side writeFile: the working directory's path on the host, then fs.writeFile,
    // which follows a link the sandbox planted.
    const writesOnHost = breakProvider((sandbox) => ({
      writeFile: async (path: string, data: Uint8Array | string) => {
        const directory = (await sandbox.exec(["pwd"])).stdout.trim();
        await writeFile(join(directory, path), data);
      },
    }));
    try {
      await (await expectCase("file-link-escapes", writesOnHost)).rejects.toThrow(/on the host/);
    } finally {
      // What the broken provider wrote through the link on this machine.
      for (const name of readdirSync("/etc").filter((entry) => entry.startsWith("sandport-contract-"))) {
        rmSync(join("/etc", name), { force: true });
      }
    }
  });

  it("fails sandboxes-files-isolated when the file API is one store shared by every sandbox", async () => {
    const shared = new Map<string, Uint8Array>();
    const sharesFiles = breakProvider(() => ({
      readFile: async (path: string) => {
        const found = shared.get(path);
        if (found === undefined) throw new NotFoundError(`no file ${path}`, { providerId: "broken" });
        return found;
      },
      writeFile: async (path: string, data: Uint8Array | string) => {
        shared.set(path, typeof data === "string" ? new TextEncoder().encode(data) : data);
      },
    }));
    await (await expectCase("sandboxes-files-isolated", sharesFiles)).rejects.toThrow(
      /sandbox B sees A's marker-a.txt/,
    );
  });

  it("fails host-env-not-visible when commands inherit the host's environment", async () => {
    const inherits = breakProvider((sandbox) => ({
      exec: (command: Command, options: ExecOptions = {}) => {
        const host = Object.fromEntries(
          Object.entries(process.env).filter(
            (entry): entry is [string, string] =>
              /^[A-Za-z_][A-Za-z0-9_]*$/.test(entry[0]) && entry[1] !== undefined && !entry[1].includes("\0"),
          ),
        );
        return sandbox.exec(command, { ...options, env: { ...host, ...options.env } });
      },
    }));
    await (await expectCase("host-env-not-visible", inherits)).rejects.toThrow(
      /SANDPORT_CONTRACT_HOST_SECRET of the host is visible/,
    );
    expect(
      process.env.SANDPORT_CONTRACT_HOST_SECRET,
      "the case restores the host's environment",
    ).toBeUndefined();
  });

  it('fails egress-none-loopback when egress "none" is declared but dropped', async () => {
    const real = createProcessProvider();
    const dropsEgress = breakProvider(
      () => ({}),
      (provider) => ({
        capabilities: {
          ...provider.capabilities,
          network: { ...provider.capabilities.network, modes: ["none", "open"] },
        },
        create: (request: CreateSandboxRequest, options) => {
          const { network: _dropped, ...rest } = request;
          return provider.create(rest, options);
        },
      }),
    );
    expect(real.capabilities.network.modes).not.toContain("none");
    await (await expectCase("egress-none-loopback", dropsEgress)).rejects.toThrow(
      /accepted connections from a sandbox with egress "none"/,
    );
  }, 30_000);

  it("fails file-overwrite-truncates when writeFile keeps the old tail", async () => {
    // `1<>` opens the file for reading and writing without truncating it.
    const keepsTail = breakProvider((sandbox) => ({
      writeFile: async (path: string, data: Uint8Array | string) => {
        await sandbox.exec(["sh", "-c", 'cat 1<> "$1"', "sh", path], { stdin: data });
      },
    }));
    await (await expectCase("file-overwrite-truncates", keepsTail)).rejects.toThrow(/0123456789x+/);
  });

  it("fails exec-no-stdin-eof by its own deadline when a command's input is left open", async () => {
    const keepsInputOpen = breakProvider((sandbox) => ({
      exec: (command: Command, options: ExecOptions = {}) =>
        options.stdin !== undefined || !Array.isArray(command)
          ? sandbox.exec(command, options)
          : sandbox.exec(["sh", "-c", 'sleep 30 | "$@"', "sh", ...(command as string[])], options),
    }));
    await (await expectCase("exec-no-stdin-eof", keepsInputOpen)).rejects.toThrow(
      /deadline: exec\(\["cat"\]\) without stdin .* did not settle within 5000 ms/,
    );
  }, 20_000);

  it("fails exec-max-output-bytes-stderr when the cap applies to stdout only", async () => {
    const capsStdoutOnly = breakProvider((sandbox) => ({
      exec: async (command: Command, options: ExecOptions = {}) => {
        const { maxOutputBytes, ...rest } = options;
        const result = await sandbox.exec(command, rest);
        if (maxOutputBytes === undefined || result.stdout.length <= maxOutputBytes) return result;
        return { ...result, stdout: result.stdout.slice(0, maxOutputBytes), truncated: true };
      },
    }));
    await (await expectCase("exec-max-output-bytes-stderr", capsStdoutOnly)).rejects.toThrow(
      /truncated after 10 KiB of stderr/,
    );
  });

  it("fails exec-signal-exit-codes when a command ended by a signal reports exit code 1", async () => {
    const hidesSignals = breakProvider((sandbox) => ({
      exec: async (command: Command, options?: ExecOptions) => {
        const result = await sandbox.exec(command, options);
        return result.exitCode > 128 ? { ...result, exitCode: 1 } : result;
      },
    }));
    await (await expectCase("exec-signal-exit-codes", hidesSignals)).rejects.toThrow(
      /exit codes of commands ended by a signal/,
    );
  });

  it("fails exec-missing-cwd-invalid when a missing cwd silently falls back to the working directory", async () => {
    const ignoresCwd = breakProvider((sandbox) => ({
      exec: (command: Command, options: ExecOptions = {}) =>
        sandbox.exec(command, options).catch((error: unknown) => {
          if (!SandportError.isInstance(error) || error.code !== "invalid_request") throw error;
          const { cwd: _ignored, ...rest } = options;
          return sandbox.exec(command, rest);
        }),
    }));
    await (await expectCase("exec-missing-cwd-invalid", ignoresCwd)).rejects.toThrow(
      /code "invalid_request", but the call succeeded/,
    );
  });

  it("fails connect-invalid-id when every connect failure is reported as not_found", async () => {
    const allNotFound = breakProvider(
      () => ({}),
      (real) => ({
        connect: (sandboxId: string) =>
          real.connect(sandboxId).catch(() => {
            throw new NotFoundError(`no sandbox ${sandboxId}`, { providerId: "broken" });
          }),
      }),
    );
    await (await expectCase("connect-invalid-id", allNotFound)).rejects.toThrow(/code of NotFoundError/);
  });

  it("fails errors-name-provider when an error does not carry the providerId", async () => {
    const anonymous = breakProvider((sandbox) => ({
      readFile: (path: string) =>
        sandbox.readFile(path).catch((error: unknown) => {
          if (!SandportError.isInstance(error) || error.code !== "not_found") throw error;
          throw new NotFoundError(error.message);
        }),
    }));
    await (await expectCase("errors-name-provider", anonymous)).rejects.toThrow(
      /readFile\("missing.txt"\): providerId undefined, expected "broken"/,
    );
  });

  it("fails errors-name-provider-validation when core's validation errors are passed on unattributed", async () => {
    const unattributed = breakProvider(
      () => ({}),
      (real) => ({
        create: async (request: CreateSandboxRequest, options) => {
          parseCreateSandboxRequest(request);
          return real.create(request, options);
        },
      }),
    );
    await (await expectCase("errors-name-provider-validation", unattributed)).rejects.toThrow(
      /create\(\{ bogus: 1 \}\): providerId undefined, expected "broken"/,
    );
  });

  it("fails list-filters-by-labels when list ignores its filter", async () => {
    const ignoresFilter = breakProvider(
      () => ({}),
      (real) => ({
        list: (_filter, options) => (real.list as NonNullable<SandboxProvider["list"]>)({}, options),
      }),
    );
    await (await expectCase("list-filters-by-labels", ignoresFilter)).rejects.toThrow(/list\(\{ labels:/);
  });

  it("fails destroy-ends-running-commands by its own deadline when destroy leaves commands running", async () => {
    const leavesRunning = breakProvider(() => ({ destroy: async () => {} }));
    await (await expectCase("destroy-ends-running-commands", leavesRunning)).rejects.toThrow(
      /deadline: the running exec to settle after destroy/,
    );
  }, 40_000);

  it("fails ttl-expires when ttlMs is dropped", async () => {
    const dropsTtl = breakProvider(
      () => ({}),
      (real) => ({
        create: (request: CreateSandboxRequest, options) => {
          const { ttlMs: _dropped, ...rest } = request;
          return real.create(rest, options);
        },
      }),
    );
    await (await expectCase("ttl-expires", dropsTtl)).rejects.toThrow(
      /still answered \d+ ms after create with ttlMs 1500/,
    );
  }, 30_000);

  it("fails spawn-kill-signals when kill ignores the signal it is given", async () => {
    const alwaysKills = breakProvider((sandbox) => ({
      spawn: async (command: Command, options?: SpawnOptions) => {
        const spawned = await (sandbox.spawn as NonNullable<Sandbox["spawn"]>)(command, options);
        return { ...spawned, kill: (_signal?: ProcessSignal) => spawned.kill("SIGKILL") };
      },
    }));
    await (await expectCase("spawn-kill-signals", alwaysKills)).rejects.toThrow(/exit codes after kill/);
  });

  it("fails spawn-streams by its own deadline when output arrives only at the end", async () => {
    const holdsOutput = breakProvider((sandbox) => ({
      spawn: async (command: Command, options?: SpawnOptions) => {
        const spawned = await (sandbox.spawn as NonNullable<Sandbox["spawn"]>)(command, options);
        return {
          ...spawned,
          stdout: {
            async *[Symbol.asyncIterator]() {
              yield (await spawned.wait()).stdout;
            },
          },
        };
      },
    }));
    await (await expectCase("spawn-streams", holdsOutput)).rejects.toThrow(
      /deadline: the first stdout \("ready"\)/,
    );
  }, 30_000);

  it("skips spawn-stdin, and only it, when features.processStdin is false", async () => {
    const real = createProcessProvider();
    const withoutProcessStdin: SandboxProvider = {
      ...real,
      capabilities: {
        ...real.capabilities,
        features: { ...real.capabilities.features, processStdin: false },
      },
    };
    await (await expectCase("spawn-stdin", withoutProcessStdin)).rejects.toThrow(
      "case skipped: features.processStdin is false",
    );
    await (await expectCase("spawn-streams", withoutProcessStdin)).resolves.toBeUndefined();
  }, 30_000);

  it("skips the background cases with the reason when features.background is false", async () => {
    const real = createProcessProvider();
    const withoutBackground: SandboxProvider = {
      ...real,
      capabilities: { ...real.capabilities, features: { ...real.capabilities.features, background: false } },
    };
    for (const id of ["spawn-streams", "spawn-stdin", "spawn-kill-signals", "spawn-kill-children"]) {
      await (await expectCase(id, withoutBackground)).rejects.toThrow(
        "case skipped: features.background is false",
      );
    }
  });

  it("skips a case with the capability as the reason when the provider does not declare it", async () => {
    const real = createProcessProvider();
    const withoutStreaming: SandboxProvider = {
      ...real,
      capabilities: { ...real.capabilities, features: { ...real.capabilities.features, streaming: false } },
    };
    await (await expectCase("stream-stdout", withoutStreaming)).rejects.toThrow(
      "case skipped: features.streaming is false",
    );
  });

  it("refuses a skipCases entry that names no case, so a typo cannot leave a case running", () => {
    expect(() =>
      describeProviderContract({
        name: "typo",
        create: () => createProcessProvider(),
        skipCases: { "run-code-javascript-timout": "misspelled" },
      }),
    ).toThrow('unknown contract case "run-code-javascript-timout"');
  });
});
