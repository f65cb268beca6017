/** Cases about the errors themselves: their code, the provider they name and whether to retry. */
import { SandportError, type SandportErrorCode } from "@sandport/core";
import { assert } from "vitest";
import { type CaseScope, scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { lookalikeSandboxId } from "../lookalike-sandbox-id.ts";
import { settle } from "../sandbox-text.ts";

const group = "errors";

/** One call that must fail, and how. */
interface FailingCall {
  what: string;
  call: () => Promise<unknown>;
  /** The expected code, or the codes any of which is right. */
  code: SandportErrorCode | readonly SandportErrorCode[];
}

/**
 * Calls every failing call, then fails once listing each error that has the wrong code, names no
 * or another provider, or claims to be retryable, so one run shows everything that is wrong.
 */
async function expectErrorsNameProvider(scope: CaseScope, calls: readonly FailingCall[]): Promise<void> {
  const { provider } = scope.contract;
  const problems: string[] = [];
  for (const { what, call, code } of calls) {
    const outcome = await scope.within(settle(Promise.resolve().then(call)), what, 10_000);
    if (outcome.ok) {
      problems.push(`${what}: succeeded, expected ${code}`);
      // A create that should have failed must not leak.
      const value = outcome.value as { destroy?: () => Promise<void> } | undefined;
      if (typeof value?.destroy === "function")
        await scope.within(value.destroy(), `destroy after ${what}`, 10_000);
      continue;
    }
    const error = outcome.error;
    if (!SandportError.isInstance(error)) {
      problems.push(
        `${what}: threw ${error instanceof Error ? error.name : typeof error}, not a SandportError`,
      );
      continue;
    }
    const expected: readonly SandportErrorCode[] = typeof code === "string" ? [code] : code;
    if (!expected.includes(error.code)) {
      problems.push(`${what}: code "${error.code}", expected "${expected.join('" or "')}"`);
    }
    if (error.providerId !== provider.providerId) {
      problems.push(
        `${what}: providerId ${JSON.stringify(error.providerId)}, expected "${provider.providerId}"`,
      );
    }
    if (error.isRetryable !== false)
      problems.push(`${what}: isRetryable ${error.isRetryable}, expected false`);
  }
  if (problems.length > 0) assert.fail(`errors that are wrong:\n  ${problems.join("\n  ")}`);
}

/** Error cases, in run order. */
export const errorCases: readonly ContractCase[] = [
  scopedCase({
    id: "errors-name-provider",
    group,
    title:
      "errors about sandboxes and files carry the provider's providerId and isRetryable false (not_found, invalid_request)",
    timeoutMs: 30_000,
    async run(scope) {
      const { contract } = scope;
      const { provider, capabilities } = contract;
      const sandbox = await scope.createSandbox();
      const destroyed = await scope.createSandbox();
      await scope.within(destroyed.destroy(), "destroy()", 10_000);
      const calls: FailingCall[] = [
        {
          what: "connect(a well-formed id of no sandbox)",
          call: () => provider.connect(lookalikeSandboxId(sandbox.id)),
          code: "not_found",
        },
        {
          what: "connect(a destroyed sandbox's id)",
          call: () => provider.connect(destroyed.id),
          code: "not_found",
        },
      ];
      if (capabilities.features.filesystem) {
        calls.push(
          {
            what: 'readFile("missing.txt")',
            call: () => sandbox.readFile("sandport-contract-missing.txt"),
            code: "not_found",
          },
          {
            what: 'readFile("../outside")',
            call: () => sandbox.readFile("../outside"),
            // Where the file area is the sandbox's whole filesystem, "../outside" is just a missing file.
            code: ["invalid_request", "not_found"],
          },
          {
            what: 'writeFile("../outside.txt")',
            call: () => sandbox.writeFile("../outside.txt", "x"),
            code: "invalid_request",
          },
          {
            what: "readFile in a destroyed sandbox",
            call: () => destroyed.readFile("any.txt"),
            code: "not_found",
          },
          {
            what: "writeFile in a destroyed sandbox",
            call: () => destroyed.writeFile("any.txt", "x"),
            code: "not_found",
          },
        );
      }
      if (capabilities.runtimes.includes("shell")) {
        calls.push(
          {
            what: "exec with a missing cwd",
            call: () => sandbox.exec(["pwd"], { cwd: "sandport-contract-missing" }),
            code: "invalid_request",
          },
          { what: "exec in a destroyed sandbox", call: () => destroyed.exec(["true"]), code: "not_found" },
        );
      }
      await expectErrorsNameProvider(scope, calls);
    },
  }),
  scopedCase({
    id: "errors-name-provider-validation",
    group,
    // Core's validators know no provider: an adapter passes what they throw through
    // toSandportError(error, providerId), as the process provider does.
    title:
      "malformed requests, commands and ids are invalid_request with the provider's providerId, not retryable",
    timeoutMs: 20_000,
    async run(scope) {
      const { contract } = scope;
      const { provider } = contract;
      const calls: FailingCall[] = [
        {
          what: "create({ bogus: 1 })",
          call: () => provider.create({ ...contract.request, bogus: 1 } as never),
          code: "invalid_request",
        },
        { what: 'connect("no-colon")', call: () => provider.connect("no-colon"), code: "invalid_request" },
        {
          what: `connect("${provider.providerId}-else:abc")`,
          call: () => provider.connect(`${provider.providerId}-else:abc`),
          code: "invalid_request",
        },
      ];
      if (contract.capabilities.runtimes.includes("shell")) {
        const sandbox = await scope.createSandbox();
        calls.push({ what: "exec([])", call: () => sandbox.exec([]), code: "invalid_request" });
      }
      await expectErrorsNameProvider(scope, calls);
    },
  }),
];
