import { describe, expect, it } from "vitest";
import {
  AbortedError,
  NotFoundError,
  RateLimitedError,
  SandboxFailedError,
  SandportError,
} from "./errors.ts";
import { createSandbox, throwIfAborted, withSandbox } from "./lifecycle.ts";
import type { Sandbox, SandboxProvider } from "./sandbox-provider.ts";
import type { CallOptions, CreateSandboxRequest } from "./sandbox-request.ts";
import { testCapabilities } from "./test-support/test-capabilities.ts";

const capabilities = testCapabilities();

/** A sandbox double that only counts destroy calls; `destroyError` makes destroy fail. */
function fakeSandbox(id: string, destroyError?: Error) {
  const state = { destroyCalls: 0 };
  const sandbox: Sandbox = {
    id,
    exec: async () => ({
      exitCode: 0,
      stdout: "",
      stderr: "",
      truncated: false,
      timedOut: false,
      durationMs: 0,
    }),
    readFile: async () => new Uint8Array(),
    writeFile: async () => {},
    listFiles: async () => [],
    statFile: async (path) => ({ name: path, path, type: "file", size: 0, modifiedAt: new Date(0) }),
    makeDirectory: async () => {},
    removeFile: async () => {},
    renameFile: async () => {},
    destroy: async () => {
      state.destroyCalls++;
      if (destroyError !== undefined) throw destroyError;
    },
    [Symbol.asyncDispose]: async () => sandbox.destroy(),
  };
  return { sandbox, state };
}

/** A provider double whose create is controlled by the test. */
function fakeProvider(create: (request: CreateSandboxRequest, options?: CallOptions) => Promise<Sandbox>) {
  const calls: { request: CreateSandboxRequest; options?: CallOptions }[] = [];
  const provider: SandboxProvider = {
    specificationVersion: "sandport.v1",
    providerId: "fake",
    capabilities,
    create: (request, options) => {
      calls.push({ request, options });
      return create(request, options);
    },
    connect: async () => {
      throw new NotFoundError("not here");
    },
  };
  return { provider, calls };
}

/** A promise with its resolve/reject exposed. */
function deferred<Value>() {
  let resolve!: (value: Value) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<Value>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks run. */
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("throwIfAborted", () => {
  it("does nothing without a signal or with a live one", () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
  });

  it("throws AbortedError carrying the abort reason and provider", () => {
    const reason = new Error("user pressed ctrl-c");
    let caught: unknown;
    try {
      throwIfAborted(AbortSignal.abort(reason), "local");
    } catch (error) {
      caught = error;
    }
    expect(AbortedError.isInstance(caught)).toBe(true);
    expect((caught as AbortedError).cause).toBe(reason);
    expect((caught as AbortedError).providerId).toBe("local");
  });
});

describe("createSandbox", () => {
  it("passes the request and options through to the provider", async () => {
    const { sandbox } = fakeSandbox("fake:1");
    const { provider, calls } = fakeProvider(async () => sandbox);
    const signal = new AbortController().signal;
    await expect(createSandbox(provider, { runtime: "shell" }, { signal })).resolves.toBe(sandbox);
    expect(calls).toEqual([{ request: { runtime: "shell" }, options: { signal } }]);
  });

  it("rejects with aborted without calling create when the signal is already aborted", async () => {
    const { provider, calls } = fakeProvider(async () => fakeSandbox("fake:1").sandbox);
    const error = await rejectionOf(createSandbox(provider, {}, { signal: AbortSignal.abort() }));
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as SandportError).code).toBe("aborted");
    expect((error as SandportError).providerId).toBe("fake");
    expect(calls).toHaveLength(0);
  });

  it("rejects with aborted as soon as the caller aborts, while create is still pending", async () => {
    const pending = deferred<Sandbox>();
    const { provider } = fakeProvider(() => pending.promise);
    const controller = new AbortController();
    const creating = createSandbox(provider, {}, { signal: controller.signal });
    let settled = false;
    creating.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await flush();
    expect(settled).toBe(false);
    controller.abort(new Error("gave up"));
    const error = await rejectionOf(creating);
    expect(AbortedError.isInstance(error)).toBe(true);
    expect((error as SandportError).code).toBe("aborted");
  });

  it("destroys a sandbox that finished creating after the caller aborted", async () => {
    const pending = deferred<Sandbox>();
    const { provider } = fakeProvider(() => pending.promise);
    const controller = new AbortController();
    const creating = createSandbox(provider, {}, { signal: controller.signal });
    controller.abort();
    await rejectionOf(creating);

    const { sandbox, state } = fakeSandbox("fake:late");
    pending.resolve(sandbox);
    await flush();
    expect(state.destroyCalls).toBe(1);
  });

  it("does not leak an unhandled rejection when the late sandbox fails to destroy", async () => {
    const pending = deferred<Sandbox>();
    const { provider } = fakeProvider(() => pending.promise);
    const controller = new AbortController();
    const creating = createSandbox(provider, {}, { signal: controller.signal });
    controller.abort();
    await rejectionOf(creating);

    const { sandbox, state } = fakeSandbox("fake:late", new Error("destroy failed"));
    pending.resolve(sandbox);
    await flush();
    expect(state.destroyCalls).toBe(1);
  });

  it("does not destroy the sandbox when the caller aborts after creation finished", async () => {
    const { sandbox, state } = fakeSandbox("fake:1");
    const { provider } = fakeProvider(async () => sandbox);
    const controller = new AbortController();
    await expect(createSandbox(provider, {}, { signal: controller.signal })).resolves.toBe(sandbox);
    controller.abort();
    await flush();
    expect(state.destroyCalls).toBe(0);
  });

  it.each([
    ["with", () => ({ signal: new AbortController().signal })],
    ["without", () => ({})],
  ])("wraps a plain error thrown by create in a SandportError %s a signal", async (_case, options) => {
    const vendorError = new TypeError("socket hang up");
    const { provider } = fakeProvider(async () => {
      throw vendorError;
    });
    const error = await rejectionOf(createSandbox(provider, {}, options()));
    expect(SandboxFailedError.isInstance(error)).toBe(true);
    expect((error as SandportError).cause).toBe(vendorError);
    expect((error as SandportError).providerId).toBe("fake");
  });

  it.each([
    ["with", () => ({ signal: new AbortController().signal })],
    ["without", () => ({})],
  ])("passes a SandportError thrown by create through unchanged %s a signal", async (_case, options) => {
    const limited = new RateLimitedError("slow down", { providerId: "fake", retryAfterMs: 100 });
    const { provider } = fakeProvider(async () => {
      throw limited;
    });
    await expect(createSandbox(provider, {}, options())).rejects.toBe(limited);
  });

  it("wraps an error that create throws synchronously", async () => {
    const { provider } = fakeProvider(() => {
      throw new Error("not a promise");
    });
    const error = await rejectionOf(createSandbox(provider, {}));
    expect(SandportError.isInstance(error)).toBe(true);
  });

  it("ignores a create failure that arrives after the caller aborted", async () => {
    const pending = deferred<Sandbox>();
    const { provider } = fakeProvider(() => pending.promise);
    const controller = new AbortController();
    const creating = createSandbox(provider, {}, { signal: controller.signal });
    controller.abort();
    const error = await rejectionOf(creating);
    pending.reject(new Error("late failure"));
    await flush();
    expect(AbortedError.isInstance(error)).toBe(true);
  });
});

describe("withSandbox", () => {
  it("returns the result of use and destroys the sandbox afterwards", async () => {
    const { sandbox, state } = fakeSandbox("fake:1");
    const { provider } = fakeProvider(async () => sandbox);
    const result = await withSandbox(provider, {}, async (received) => {
      expect(received).toBe(sandbox);
      expect(state.destroyCalls).toBe(0);
      return 42;
    });
    expect(result).toBe(42);
    expect(state.destroyCalls).toBe(1);
  });

  it("destroys the sandbox and rethrows when use throws", async () => {
    const { sandbox, state } = fakeSandbox("fake:1");
    const { provider } = fakeProvider(async () => sandbox);
    const useError = new Error("tool failed");
    await expect(
      withSandbox(provider, {}, async () => {
        throw useError;
      }),
    ).rejects.toBe(useError);
    expect(state.destroyCalls).toBe(1);
  });

  it("rethrows the error of use, not the destroy failure, when both fail", async () => {
    const { sandbox, state } = fakeSandbox("fake:1", new Error("destroy failed"));
    const { provider } = fakeProvider(async () => sandbox);
    const useError = new Error("tool failed");
    await expect(
      withSandbox(provider, {}, async () => {
        throw useError;
      }),
    ).rejects.toBe(useError);
    expect(state.destroyCalls).toBe(1);
  });

  it("reports a destroy failure after a successful use", async () => {
    const destroyError = new Error("destroy failed");
    const { sandbox } = fakeSandbox("fake:1", destroyError);
    const { provider } = fakeProvider(async () => sandbox);
    await expect(withSandbox(provider, {}, async () => "done")).rejects.toBe(destroyError);
  });

  it("does not call use when creation was aborted", async () => {
    const { provider } = fakeProvider(async () => fakeSandbox("fake:1").sandbox);
    let used = false;
    const error = await rejectionOf(
      withSandbox(
        provider,
        {},
        async () => {
          used = true;
        },
        { signal: AbortSignal.abort() },
      ),
    );
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(used).toBe(false);
  });
});
