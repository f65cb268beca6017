/** Cases about creating, reconnecting to and destroying sandboxes. */
import {
  type ExecResult,
  type SandboxInfo,
  type SandboxProcess,
  SandportError,
  specificationVersion,
} from "@sandport/core";
import { assert, expect } from "vitest";
import { randomToken } from "../bytes.ts";
import {
  needsList,
  needsLiveCount,
  needsShell,
  needsShellOrFilesystem,
  needsTtl,
} from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import type { ContractContext } from "../contract-context.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";
import { expectSandportError } from "../expect-sandport-error.ts";
import { expectLiveCount } from "../live-count.ts";
import { lookalikeSandboxId } from "../lookalike-sandbox-id.ts";
import { type Settled, settle, writeText } from "../sandbox-text.ts";
import { sleep } from "../sleep.ts";

const group = "lifecycle";

/** Whether a sandbox can be observed at all: through a shell command or through its files. */
function canObserve(contract: ContractContext): boolean {
  return contract.capabilities.runtimes.includes("shell") || contract.capabilities.features.filesystem;
}

/** Lifecycle cases, in run order. */
export const lifecycleCases: readonly ContractCase[] = [
  {
    id: "provider-shape",
    group,
    title: `declares specificationVersion "${specificationVersion}", a providerId and capabilities`,
    timeoutMs: 5_000,
    async run({ provider }) {
      expect(provider.specificationVersion).toBe(specificationVersion);
      expect(provider.providerId).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
      expect(Array.isArray(provider.capabilities.runtimes)).toBe(true);
      expect(typeof provider.create).toBe("function");
      expect(typeof provider.connect).toBe("function");
    },
  },
  {
    id: "create-id-prefix",
    group,
    title: 'creates a sandbox whose id starts with "<providerId>:"',
    timeoutMs: 10_000,
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      expect(sandbox.id.startsWith(`${contract.provider.providerId}:`), sandbox.id).toBe(true);
      expect(sandbox.id.length).toBeGreaterThan(contract.provider.providerId.length + 1);
    },
  },
  {
    id: "connect-same-sandbox",
    group,
    title: "connect(id) returns a working handle to the same sandbox",
    timeoutMs: 10_000,
    skipReason: (contract) =>
      canObserve(contract) ? undefined : 'needs runtime "shell" or features.filesystem to observe a sandbox',
    async run(contract) {
      await using sandbox = await createContractSandbox(contract);
      const connected = await contract.provider.connect(sandbox.id);
      expect(connected.id).toBe(sandbox.id);
      const token = `connect-${Date.now()}`;
      if (contract.capabilities.features.filesystem) {
        await sandbox.writeFile("connect.txt", token);
        expect(new TextDecoder().decode(await connected.readFile("connect.txt"))).toBe(token);
      } else {
        await sandbox.exec(["sh", "-c", `printf %s ${token} > connect.txt`]);
        const result = await connected.exec(["cat", "connect.txt"]);
        expect(result.stdout).toBe(token);
      }
    },
  },
  {
    id: "destroy-idempotent",
    group,
    title: "destroy() twice does not throw",
    timeoutMs: 10_000,
    async run(contract) {
      const sandbox = await createContractSandbox(contract);
      await sandbox.destroy();
      await sandbox.destroy();
    },
  },
  {
    id: "destroyed-not-found",
    group,
    title: "a destroyed sandbox rejects exec, readFile, writeFile and connect with not_found",
    timeoutMs: 10_000,
    async run(contract) {
      const sandbox = await createContractSandbox(contract);
      await sandbox.destroy();
      if (contract.capabilities.runtimes.includes("shell")) {
        await expectSandportError(() => sandbox.exec(["true"]), "not_found");
      }
      if (contract.capabilities.features.filesystem) {
        await expectSandportError(() => sandbox.readFile("anything.txt"), "not_found");
        await expectSandportError(() => sandbox.writeFile("anything.txt", "after destroy"), "not_found");
      }
      await expectSandportError(() => contract.provider.connect(sandbox.id), "not_found");
    },
  },
  {
    id: "await-using-destroys",
    group,
    title: "await using destroys the sandbox at the end of the scope (Symbol.asyncDispose)",
    timeoutMs: 10_000,
    async run(contract) {
      const useAndDispose = async () => {
        await using sandbox = await createContractSandbox(contract);
        expect(typeof sandbox[Symbol.asyncDispose]).toBe("function");
        return sandbox.id;
      };
      const id = await useAndDispose();
      await expectSandportError(() => contract.provider.connect(id), "not_found");
    },
  },
  {
    id: "live-count-tracks-sandboxes",
    group,
    title: "the live-sandbox count includes a created sandbox until it is destroyed",
    timeoutMs: 10_000,
    skipReason: needsLiveCount,
    async run(contract) {
      const count = contract.countLiveSandboxes;
      if (count === undefined) return;
      const before = await count();
      const sandbox = await createContractSandbox(contract);
      try {
        // Without this, every "nothing was created" check would pass against a count stuck at 0.
        await expectLiveCount(contract, before + 1, "after create");
      } finally {
        await sandbox.destroy();
      }
      await expectLiveCount(contract, before, "after destroy");
    },
  },
  scopedCase({
    id: "connect-invalid-id",
    group,
    title:
      "connect rejects a malformed id or another provider's id with invalid_request, and an unknown id of its own with not_found",
    timeoutMs: 20_000,
    async run(scope) {
      const { provider } = scope.contract;
      const foreign = provider.providerId === "someone-else" ? "someone-else-entirely" : "someone-else";
      // Core's sandbox id rules: "<providerId>:<vendor id>", both parts non-empty, the owner checked.
      for (const sandboxId of ["no-colon", "", ":no-provider", `${provider.providerId}:`, `${foreign}:abc`]) {
        await scope.within(
          expectSandportError(() => provider.connect(sandboxId), "invalid_request"),
          `connect(${JSON.stringify(sandboxId)})`,
          10_000,
        );
      }
      const sandbox = await scope.createSandbox();
      const missing = lookalikeSandboxId(sandbox.id);
      await scope.within(
        expectSandportError(() => provider.connect(missing), "not_found"),
        `connect("${missing}"), an id shaped like a live one`,
        10_000,
      );
    },
  }),
  scopedCase({
    id: "destroy-removes-files",
    group,
    title: "destroy through a second handle removes the sandbox and its files for every handle",
    timeoutMs: 20_000,
    skipReason: needsShellOrFilesystem,
    async run(scope) {
      const { contract } = scope;
      const sandbox = await scope.createSandbox();
      await writeText(scope, sandbox, "S", "kept.txt", "data written before destroy");
      const other = await scope.within(
        contract.provider.connect(sandbox.id),
        `connect("${sandbox.id}")`,
        10_000,
      );
      await scope.within(other.destroy(), "destroy() through the connected handle", 10_000);
      await scope.within(
        expectSandportError(() => contract.provider.connect(sandbox.id), "not_found"),
        "connect after destroy",
        10_000,
      );
      if (contract.capabilities.features.filesystem) {
        await scope.within(
          expectSandportError(() => sandbox.readFile("kept.txt"), "not_found"),
          'readFile("kept.txt") through the first handle after destroy',
          10_000,
        );
      }
      if (contract.capabilities.runtimes.includes("shell")) {
        await scope.within(
          expectSandportError(() => sandbox.exec(["cat", "kept.txt"]), "not_found"),
          'exec(["cat", "kept.txt"]) through the first handle after destroy',
          10_000,
        );
      }
    },
  }),
  scopedCase({
    id: "destroy-ends-running-commands",
    group,
    title:
      "destroy ends a running exec (and, with features.background, spawned processes): their promises settle",
    timeoutMs: 30_000,
    skipReason: needsShell,
    async run(scope) {
      const { contract } = scope;
      const sandbox = await scope.createSandbox();
      let spawned: SandboxProcess | undefined;
      if (contract.capabilities.features.background) {
        const spawn = sandbox.spawn?.bind(sandbox);
        if (spawn === undefined)
          assert.fail("features.background is declared, but the sandbox has no spawn()");
        spawned = await scope.within(spawn(["sleep", "30"]), 'spawn(["sleep", "30"])', 10_000);
      }
      let started = false;
      const running = sandbox.exec(["sh", "-c", "echo started; exec sleep 30"], {
        onStdout: () => {
          started = true;
        },
      });
      let settledEarly: string | undefined;
      const execSettled = running.then(
        (result: ExecResult) => {
          settledEarly ??= `exec resolved with exit code ${result.exitCode}`;
          return result;
        },
        (error: unknown) => {
          settledEarly ??= `exec rejected: ${String(error)}`;
          return error;
        },
      );
      const waitSettled = spawned?.wait().then(
        (result) => result,
        (error: unknown) => error,
      );
      // Give the command time to start (streaming says so as soon as it has).
      const startBy = Date.now() + scope.scaled(3_000);
      while (!started && Date.now() < startBy) await sleep(50);
      if (!contract.capabilities.features.streaming) await sleep(scope.scaled(500));
      expect(settledEarly, "the 30 s command ended before destroy").toBeUndefined();
      await scope.within(sandbox.destroy(), "destroy() while a command runs", 10_000);
      await scope.within(
        execSettled,
        "the running exec to settle after destroy (the command outlived its sandbox)",
        5_000,
      );
      if (waitSettled !== undefined) {
        await scope.within(
          waitSettled,
          "wait() of a spawned process to settle after destroy (the process outlived its sandbox)",
          5_000,
        );
      }
    },
  }),
  scopedCase({
    id: "list-filters-by-labels",
    group,
    title:
      "list({ labels }) returns exactly the sandboxes carrying every given label; list() includes them all",
    timeoutMs: 30_000,
    skipReason: needsList,
    async run(scope) {
      const { provider } = scope.contract;
      const list = provider.list?.bind(provider);
      if (list === undefined) return;
      // A label of this case run only, so other runs and other cases never match.
      const run = { "sandport-contract-list": randomToken() };
      const [a, b, c] = await Promise.all([
        scope.createSandbox({
          labels: { ...run, "sandport-contract-team": "red", "sandport-contract-role": "a" },
        }),
        scope.createSandbox({
          labels: { ...run, "sandport-contract-team": "red", "sandport-contract-role": "b" },
        }),
        scope.createSandbox({
          labels: { ...run, "sandport-contract-team": "blue", "sandport-contract-role": "c" },
        }),
      ]);
      const collect = async (filter?: Record<string, string>): Promise<SandboxInfo[]> => {
        const found: SandboxInfo[] = [];
        for await (const info of list(filter === undefined ? undefined : { labels: filter }))
          found.push(info);
        return found;
      };
      const ids = (infos: SandboxInfo[]) => infos.map((info) => info.id).sort();
      const expectations: { filter: Record<string, string>; expected: string[] }[] = [
        { filter: run, expected: [a.id, b.id, c.id] },
        { filter: { ...run, "sandport-contract-team": "red" }, expected: [a.id, b.id] },
        { filter: { ...run, "sandport-contract-role": "c" }, expected: [c.id] },
        {
          filter: { ...run, "sandport-contract-team": "red", "sandport-contract-role": "b" },
          expected: [b.id],
        },
        { filter: { ...run, "sandport-contract-team": "green" }, expected: [] },
      ];
      for (const { filter, expected } of expectations) {
        const what = `list({ labels: ${JSON.stringify(filter)} })`;
        // Polled for a while: a vendor's list may be eventually consistent.
        const settleBy = Date.now() + scope.scaled(3_000);
        let found = await scope.within(collect(filter), what, 10_000);
        while (JSON.stringify(ids(found)) !== JSON.stringify([...expected].sort()) && Date.now() < settleBy) {
          await sleep(100);
          found = await scope.within(collect(filter), what, 10_000);
        }
        expect(ids(found), what).toEqual([...expected].sort());
        for (const info of found) {
          expect(info.labels, `labels of ${info.id} in ${what}`).toMatchObject(filter);
        }
      }
      const all = ids(await scope.within(collect(), "list() without a filter", 10_000));
      for (const sandbox of [a, b, c]) {
        expect(all, `list() without a filter misses ${sandbox.id}`).toContain(sandbox.id);
      }
    },
  }),
  scopedCase({
    id: "ttl-expires",
    group,
    title: "a sandbox created with ttlMs 1500 is gone once it runs out: not_found, and absent from list",
    timeoutMs: 25_000,
    skipReason: needsTtl(1_500),
    async run(scope) {
      const { contract } = scope;
      const { provider } = contract;
      const ttlMs = 1_500;
      const created = Date.now();
      const sandbox = await scope.createSandbox({ ttlMs });
      const shell = contract.capabilities.runtimes.includes("shell");
      const files = contract.capabilities.features.filesystem;
      /** One call through the handle; its outcome says whether the sandbox is still there. */
      const probe = (): Promise<Settled<unknown>> => {
        if (shell) return settle(sandbox.exec(["true"]));
        if (files) return settle(sandbox.readFile("sandport-contract-ttl.txt"));
        return settle(provider.connect(sandbox.id));
      };
      const isGone = (outcome: Settled<unknown>) =>
        !outcome.ok && SandportError.isInstance(outcome.error) && outcome.error.code === "not_found";
      if (files) await writeText(scope, sandbox, "S", "sandport-contract-ttl.txt", "alive");
      const early = await scope.within(probe(), "a first call to the sandbox", 10_000);
      if (Date.now() - created < ttlMs / 2) {
        expect(isGone(early), "the sandbox was gone long before its ttlMs ran out").toBe(false);
      }
      // Expiry is polled for up to 6 s past the ttl (scaled): a vendor may reap on a timer.
      const goneBy = created + ttlMs + scope.scaled(6_000);
      let outcome = early;
      while (!isGone(outcome) && Date.now() < goneBy) {
        await sleep(200);
        outcome = await scope.within(probe(), "a call to the sandbox after its ttl", 10_000);
      }
      if (!isGone(outcome)) {
        assert.fail(
          `the sandbox still answered ${Date.now() - created} ms after create with ttlMs ${ttlMs} ` +
            `(last call: ${outcome.ok ? "succeeded" : String(outcome.error)})`,
        );
      }
      await scope.within(
        expectSandportError(() => provider.connect(sandbox.id), "not_found"),
        "connect after the ttl ran out",
        10_000,
      );
      if (provider.list !== undefined) {
        const list = provider.list.bind(provider);
        const listed = async () => {
          const ids: string[] = [];
          for await (const info of list({ labels: contract.request.labels ?? {} })) ids.push(info.id);
          return ids;
        };
        const absentBy = Date.now() + scope.scaled(3_000);
        let ids = await scope.within(listed(), "list() after the ttl ran out", 10_000);
        while (ids.includes(sandbox.id) && Date.now() < absentBy) {
          await sleep(200);
          ids = await scope.within(listed(), "list() after the ttl ran out", 10_000);
        }
        expect(ids, "list() still shows the expired sandbox").not.toContain(sandbox.id);
      }
    },
  }),
];
