// The suite must be able to fail: each test breaks the real process provider in one realistic way
// and checks that the contract case guarding that behaviour fails, while it passes unbroken.
import type { Command, ExecOptions, ExecResult, Sandbox, SandboxProvider } from "@sandport/core";
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
      destroy: (options) => sandbox.destroy(options),
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
