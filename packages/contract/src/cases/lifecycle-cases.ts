/** Cases about creating, reconnecting to and destroying sandboxes. */
import { specificationVersion } from "@sandport/core";
import { expect } from "vitest";
import { needsLiveCount } from "../case-conditions.ts";
import type { ContractCase } from "../contract-case.ts";
import type { ContractContext } from "../contract-context.ts";
import { createContractSandbox } from "../create-contract-sandbox.ts";
import { expectSandportError } from "../expect-sandport-error.ts";
import { expectLiveCount } from "../live-count.ts";

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
    title: "a destroyed sandbox rejects exec, readFile and connect with not_found",
    timeoutMs: 10_000,
    async run(contract) {
      const sandbox = await createContractSandbox(contract);
      await sandbox.destroy();
      if (contract.capabilities.runtimes.includes("shell")) {
        await expectSandportError(() => sandbox.exec(["true"]), "not_found");
      }
      if (contract.capabilities.features.filesystem) {
        await expectSandportError(() => sandbox.readFile("anything.txt"), "not_found");
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
];
