/** Helpers that make sure a sandbox never outlives the code that wanted it. */
import { AbortedError, toSandportError } from "./errors.ts";
import type { Sandbox, SandboxProvider } from "./sandbox-provider.ts";
import type { CallOptions, CreateSandboxRequest } from "./sandbox-request.ts";

/** Throws `AbortedError` when `signal` is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, providerId?: string): void {
  if (signal?.aborted) {
    throw new AbortedError("the operation was aborted", { cause: signal.reason, providerId });
  }
}

/**
 * For adapters, at the end of `create`: a sandbox that finished creating after the caller gave up
 * is destroyed at once (nothing is left behind), and the call rejects with `AbortedError`.
 */
export async function abandonIfAborted<S extends Sandbox>(
  sandbox: S,
  signal: AbortSignal | undefined,
  providerId: string,
): Promise<S> {
  if (!signal?.aborted) return sandbox;
  await sandbox.destroy().catch(() => {});
  throw new AbortedError("sandbox creation was aborted", { cause: signal.reason, providerId });
}

/**
 * Creates a sandbox, honouring `options.signal` even when the provider does not: if the caller
 * gives up first, the call rejects with `AbortedError` at once, and a sandbox that finishes
 * creating afterwards is destroyed instead of leaking.
 */
export async function createSandbox(
  provider: SandboxProvider,
  request: CreateSandboxRequest,
  options: CallOptions = {},
): Promise<Sandbox> {
  const { signal } = options;
  throwIfAborted(signal, provider.providerId);
  let creating: Promise<Sandbox>;
  try {
    creating = provider.create(request, options);
  } catch (error) {
    throw toSandportError(error, provider.providerId);
  }
  if (signal === undefined) {
    return creating.catch((error: unknown) => {
      throw toSandportError(error, provider.providerId);
    });
  }
  return new Promise<Sandbox>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(
        new AbortedError("sandbox creation was aborted", {
          cause: signal.reason,
          providerId: provider.providerId,
        }),
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    creating.then(
      (sandbox) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) {
          // The caller is gone: nobody will ever destroy this sandbox but us.
          sandbox.destroy().catch(() => {});
          return;
        }
        settled = true;
        resolve(sandbox);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        reject(toSandportError(error, provider.providerId));
      },
    );
  });
}

/**
 * Creates a sandbox, passes it to `use`, and always destroys it afterwards, whether `use`
 * returns or throws. The error of `use` wins over a failure to destroy.
 */
export async function withSandbox<Result>(
  provider: SandboxProvider,
  request: CreateSandboxRequest,
  use: (sandbox: Sandbox) => Promise<Result>,
  options: CallOptions = {},
): Promise<Result> {
  const sandbox = await createSandbox(provider, request, options);
  let result: Result;
  try {
    result = await use(sandbox);
  } catch (error) {
    await sandbox.destroy().catch(() => {});
    throw error;
  }
  await sandbox.destroy();
  return result;
}
