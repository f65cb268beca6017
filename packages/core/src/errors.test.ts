import { describe, expect, it } from "vitest";
import * as core from "./index.ts";
import {
  NoEligibleProviderError,
  NotFoundError,
  RateLimitedError,
  SandportError,
  toSandportError,
  UnsupportedCapabilityError,
} from "./index.ts";

const errorClasses = Object.entries(core).filter(
  ([, value]) => typeof value === "function" && value.prototype instanceof Error,
) as [string, new (...args: never[]) => Error][];

function instantiate(Class: new (...args: never[]) => Error): Error {
  const Constructor = Class as unknown as new (...args: unknown[]) => Error;
  if (Class === (SandportError as unknown)) return new Constructor("invalid_request", "message");
  if (Class === (NoEligibleProviderError as unknown)) return new Constructor("message", []);
  return new Constructor("message");
}

describe("errors", () => {
  it("exports every error class with a Symbol.for brand and a working isInstance", () => {
    expect(errorClasses.length).toBeGreaterThanOrEqual(16);
    for (const [name, Class] of errorClasses) {
      const error = instantiate(Class);
      expect((error as unknown as Record<symbol, unknown>)[Symbol.for(`sandport.error.${name}`)], name).toBe(
        true,
      );
      expect((Class as unknown as typeof SandportError).isInstance(error), name).toBe(true);
      expect(SandportError.isInstance(error), name).toBe(true);
      expect(error.name).toBe(name);
    }
  });

  it("recognizes errors from another copy of the package by brand, not instanceof", () => {
    const foreign = {
      [Symbol.for("sandport.error.SandportError")]: true,
      [Symbol.for("sandport.error.NotFoundError")]: true,
    };
    expect(NotFoundError.isInstance(foreign)).toBe(true);
    expect(RateLimitedError.isInstance(foreign)).toBe(false);
    expect(NotFoundError.isInstance(new RateLimitedError("slow down"))).toBe(false);
  });

  it("derives retryability from the code unless told otherwise, and keeps cause and provider", () => {
    const cause = new Error("vendor said 429");
    const limited = new RateLimitedError("slow down", {
      cause,
      providerId: "daytona-eu",
      retryAfterMs: 2000,
    });
    expect(limited).toMatchObject({
      code: "rate_limited",
      isRetryable: true,
      retryAfterMs: 2000,
      providerId: "daytona-eu",
    });
    expect(limited.cause).toBe(cause);
    expect(new UnsupportedCapabilityError("no").isRetryable).toBe(false);
    expect(new NotFoundError("gone", { isRetryable: true }).isRetryable).toBe(true);
  });

  it("keeps a list of provider failures instead of a joined string", () => {
    const failures = [{ providerId: "a", error: new RateLimitedError("slow") }];
    const error = new NoEligibleProviderError("no provider", failures);
    expect(error.failures).toEqual(failures);
    expect(error.code).toBe("no_eligible_provider");
  });

  it("wraps unknown throwables without copying their message", () => {
    const wrapped = toSandportError(new Error("token=secret123"), "local");
    expect(wrapped.code).toBe("sandbox_failed");
    expect(wrapped.message).not.toContain("secret123");
    expect((wrapped.cause as Error).message).toBe("token=secret123");
  });
});
