import {
  AuthenticationError,
  ConfigInvalidError,
  InvalidRequestError,
  NoEligibleProviderError,
  ProviderUnavailableError,
  RateLimitedError,
  SandboxFailedError,
  SandportError,
  type SandportErrorCode,
  UnsupportedCapabilityError,
} from "@sandport/core";
import { describe, expect, it } from "vitest";
import { describeError, formatError } from "./error-report.ts";
import { exitCodeForError, signalExitCode } from "./exit-codes.ts";

describe("formatError", () => {
  it("prints one line with the code of a sandport error and no stack trace", () => {
    const error = new ConfigInvalidError("providers.local.memoryMb: expected number", {
      cause: new Error("zod details"),
    });
    const text = formatError(error);
    expect(text).toBe("sandport: [config_invalid] providers.local.memoryMb: expected number\n");
    expect(text).not.toMatch(/\bat /);
  });

  it("prints other errors without a code, on one line", () => {
    expect(formatError(new Error("disk on fire\nsecond line"))).toBe("sandport: disk on fire second line\n");
    expect(formatError("plain string")).toBe("sandport: plain string\n");
  });

  it("adds the stack trace and every cause with --verbose", () => {
    const root = new Error("ECONNRESET from vendor");
    const error = new ProviderUnavailableError("the backend did not answer", {
      cause: new Error("socket closed", { cause: root }),
    });
    const text = formatError(error, { verbose: true });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("sandport: [provider_unavailable] the backend did not answer");
    expect(text).toContain("ProviderUnavailableError: the backend did not answer\n    at ");
    expect(text).toContain("caused by: Error: socket closed");
    expect(text).toContain("caused by: Error: ECONNRESET from vendor");
  });

  it("lists each provider's failure with --verbose", () => {
    const error = new NoEligibleProviderError("no provider could create the sandbox", [
      { providerId: "edge", error: new RateLimitedError("slow down") },
      { providerId: "local", error: new SandboxFailedError("crashed") },
    ]);
    expect(formatError(error)).toBe(
      "sandport: [no_eligible_provider] no provider could create the sandbox\n",
    );
    const verbose = formatError(error, { verbose: true });
    expect(verbose).toContain("  edge: [rate_limited] slow down");
    expect(verbose).toContain("  local: [sandbox_failed] crashed");
  });

  it("stops following a cause chain that loops", () => {
    const error = new Error("loop");
    (error as { cause?: unknown }).cause = error;
    expect(formatError(error, { verbose: true }).split("caused by:").length).toBeLessThan(12);
  });

  it("describes an error in one line for embedding in other messages", () => {
    expect(describeError(new AuthenticationError("token rejected"))).toBe("[authentication] token rejected");
  });
});

describe("exit codes", () => {
  it("exits 2 for usage and config errors", () => {
    expect(exitCodeForError(new InvalidRequestError("bad flag"))).toBe(2);
    expect(exitCodeForError(new ConfigInvalidError("bad config"))).toBe(2);
    expect(exitCodeForError(new UnsupportedCapabilityError("no gpus"))).toBe(2);
  });

  it("exits 1 for every other failure", () => {
    const others: SandportErrorCode[] = [
      "authentication",
      "permission_denied",
      "not_found",
      "rate_limited",
      "quota_exceeded",
      "timeout",
      "provider_unavailable",
      "sandbox_failed",
      "output_limit",
      "policy_denied",
      "no_eligible_provider",
      "aborted",
    ];
    for (const code of others) expect(exitCodeForError(new SandportError(code, "failed")), code).toBe(1);
    expect(exitCodeForError(new TypeError("bug"))).toBe(1);
    expect(exitCodeForError(undefined)).toBe(1);
  });

  it("uses 128 + the signal number for interruptions", () => {
    expect(signalExitCode("SIGINT")).toBe(130);
    expect(signalExitCode("SIGTERM")).toBe(143);
  });
});
