/**
 * A case that keeps its own deadline and cleans up after itself: every await that could hang is
 * bounded with a message naming what it waited for, and every sandbox or process it started is
 * destroyed or killed when it ends, passed or failed, before the test runner's timeout.
 */
import type { CreateSandboxRequest, Sandbox } from "@sandport/core";
import type { ContractCase, ContractCaseControls } from "./contract-case.ts";
import type { ContractContext } from "./contract-context.ts";
import { mergeCreateRequest } from "./merge-create-request.ts";
import { withDeadline } from "./with-deadline.ts";

/** What a scoped case runs with. */
export interface CaseScope {
  /** The suite's context. */
  readonly contract: ContractContext;
  /** `milliseconds` times the suite's `timeoutScale`. */
  scaled(milliseconds: number): number;
  /** Milliseconds left before the case's own deadline. */
  remaining(): number;
  /**
   * Awaits `promise` for at most `milliseconds` (scaled; default: the rest of the case's time),
   * never past the case's deadline; otherwise fails with a message naming `what`.
   */
  within<T>(promise: PromiseLike<T>, what: string, milliseconds?: number): Promise<T>;
  /**
   * Creates a sandbox from the base request plus `override`, within the deadline. It is destroyed
   * when the case ends; one that finishes creating after the deadline is destroyed too.
   */
  createSandbox(override?: CreateSandboxRequest): Promise<Sandbox>;
  /** Runs `cleanup` when the case ends, latest first, within the time kept back for cleanup. */
  defer(what: string, cleanup: () => unknown): void;
}

/** A case definition whose `run` receives a {@link CaseScope}. */
export interface ScopedCaseDefinition extends Omit<ContractCase, "run"> {
  run(scope: CaseScope, controls: ContractCaseControls): Promise<void>;
}

/** Time kept back from the case's timeout for cleanup, before scaling. */
function cleanupReserveMs(timeoutMs: number): number {
  return Math.min(5_000, timeoutMs / 4);
}

/**
 * Builds a contract case whose run ends by its own deadline: `timeoutMs` minus a cleanup reserve
 * (a quarter, at most 5 s) and a small margin, all scaled. Vitest's timeout is the full
 * `timeoutMs`, so the case's own message always wins.
 */
export function scopedCase(definition: ScopedCaseDefinition): ContractCase {
  const { run, ...rest } = definition;
  return {
    ...rest,
    async run(contract, controls) {
      const scale = contract.timeoutScale;
      const reserve = cleanupReserveMs(definition.timeoutMs) * scale;
      const deadline = Date.now() + definition.timeoutMs * scale - reserve - 250 * scale;
      const cleanups: { what: string; cleanup: () => unknown }[] = [];
      const scope: CaseScope = {
        contract,
        scaled: (milliseconds) => milliseconds * scale,
        remaining: () => Math.max(0, deadline - Date.now()),
        within(promise, what, milliseconds) {
          const asked = milliseconds === undefined ? Number.POSITIVE_INFINITY : milliseconds * scale;
          const left = scope.remaining();
          if (asked <= left) return withDeadline(promise, asked, what);
          return withDeadline(promise, left, `${what} (cut short by the case's own deadline)`);
        },
        async createSandbox(override) {
          const creating = contract.provider.create(mergeCreateRequest(contract.request, override));
          let sandbox: Sandbox;
          try {
            sandbox = await scope.within(creating, "provider.create");
          } catch (error) {
            // A sandbox that arrives after the deadline has nobody else to destroy it.
            creating.then((late) => late.destroy()).catch(() => {});
            throw error;
          }
          scope.defer(`destroy of sandbox ${sandbox.id}`, () => sandbox.destroy());
          return sandbox;
        },
        defer(what, cleanup) {
          cleanups.push({ what, cleanup });
        },
      };

      let failure: { error: unknown } | undefined;
      try {
        await run(scope, controls);
      } catch (error) {
        failure = { error };
      }
      // Latest first (a process before the sandbox it runs in), together bounded by the reserve.
      const cleanupDeadline = Date.now() + reserve;
      const failed: string[] = [];
      for (const { what, cleanup } of [...cleanups].reverse()) {
        try {
          const left = Math.max(0, cleanupDeadline - Date.now());
          await withDeadline(Promise.resolve().then(cleanup), left, `cleanup (${what})`);
        } catch (error) {
          failed.push(`${what}: ${describe(error)}`);
        }
      }
      // The case's own failure says more than a cleanup that failed after it; the suite's leak
      // check still reports a sandbox that survived.
      if (failure !== undefined) throw failure.error;
      if (failed.length > 0) throw new Error(`the case passed, but its cleanup failed: ${failed.join("; ")}`);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
