import { describe, expect, it } from "vitest";
import { InvalidRequestError, type SandportError } from "./errors.ts";
import {
  type CreateSandboxRequest,
  parseCommand,
  parseCreateSandboxRequest,
  parseExecOptions,
} from "./sandbox-request.ts";

/** Runs `action`, expecting an `InvalidRequestError`, and returns it. */
function invalidRequestFrom(action: () => unknown): InstanceType<typeof InvalidRequestError> {
  try {
    action();
  } catch (error) {
    expect(InvalidRequestError.isInstance(error), String(error)).toBe(true);
    const sandportError = error as SandportError;
    expect(sandportError.code).toBe("invalid_request");
    expect(sandportError.isRetryable).toBe(false);
    return sandportError;
  }
  throw new Error("expected an InvalidRequestError, but nothing was thrown");
}

const fullRequest: CreateSandboxRequest = {
  runtime: "python",
  image: "python:3.13-slim",
  resources: { cpu: 0.5, memoryMb: 512, diskMb: 2048, gpu: { type: "A100", count: 1 } },
  ttlMs: 600_000,
  env: { PATH_EXTRA: "/opt/bin", _private: "value with spaces" },
  network: { egress: { allow: ["pypi.org", "10.0.0.0/8"] } },
  region: "eu",
  labels: { owner: "agent-7" },
  providerOptions: { "daytona-eu": { target: "eu" } },
};

describe("parseCreateSandboxRequest", () => {
  it("accepts a request that uses every field and returns it unchanged", () => {
    expect(parseCreateSandboxRequest(fullRequest)).toEqual(fullRequest);
  });

  it("treats a missing request as an empty one", () => {
    expect(parseCreateSandboxRequest(undefined)).toEqual({});
  });

  it("accepts the none and open egress modes", () => {
    expect(parseCreateSandboxRequest({ network: { egress: "none" } })).toEqual({
      network: { egress: "none" },
    });
    expect(parseCreateSandboxRequest({ network: { egress: "open" } })).toEqual({
      network: { egress: "open" },
    });
  });

  it("rejects an unknown top-level key instead of ignoring it, naming the key", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ runtime: "shell", gpus: 2 }));
    expect(error.message).toContain("request");
    expect(error.message).toContain("gpus");
  });

  it("rejects an unknown key inside resources, naming the key", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ resources: { vcpu: 2 } }));
    expect(error.message).toContain("request.resources");
    expect(error.message).toContain("vcpu");
  });

  it("rejects a negative cpu, naming request.resources.cpu", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ resources: { cpu: -1 } }));
    expect(error.message).toContain("request.resources.cpu");
  });

  it("rejects a zero cpu", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ resources: { cpu: 0 } }));
    expect(error.message).toContain("request.resources.cpu");
  });

  it("rejects a non-integer memoryMb, naming request.resources.memoryMb", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ resources: { memoryMb: 1.5 } }));
    expect(error.message).toContain("request.resources.memoryMb");
  });

  it("rejects a GPU count of zero, naming request.resources.gpu.count", () => {
    const error = invalidRequestFrom(() =>
      parseCreateSandboxRequest({ resources: { gpu: { type: "A100", count: 0 } } }),
    );
    expect(error.message).toContain("request.resources.gpu.count");
  });

  it("rejects an unknown runtime, naming request.runtime", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ runtime: "ruby" }));
    expect(error.message).toContain("request.runtime");
  });

  it("rejects a non-integer ttlMs, naming request.ttlMs", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ ttlMs: 1.25 }));
    expect(error.message).toContain("request.ttlMs");
  });

  it.each([
    ["starts with a digit", "1BAD"],
    ["contains a dash", "MY-VAR"],
    ["contains an equals sign", "A=B"],
  ])("rejects an environment variable name that %s, naming it under request.env", (_case, name) => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ env: { [name]: "x" } }));
    expect(error.message).toContain(`request.env.${name}`);
  });

  it("rejects an empty environment variable name, naming request.env", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ env: { "": "x" } }));
    expect(error.message).toContain("request.env");
  });

  it("rejects a NUL byte in an environment value, naming the variable", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ env: { TOKEN: "a\0b" } }));
    expect(error.message).toContain("request.env.TOKEN");
    expect(error.message).toContain("NUL");
  });

  it("rejects an egress mode that is neither none, open nor an allowlist, naming request.network.egress", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ network: { egress: "some" } }));
    expect(error.message).toContain("request.network.egress");
  });

  it("rejects an empty allowlist entry, naming its index", () => {
    const error = invalidRequestFrom(() =>
      parseCreateSandboxRequest({ network: { egress: { allow: ["example.com", ""] } } }),
    );
    expect(error.message).toContain("request.network.egress.allow.1");
  });

  it("rejects an allowlist object with extra keys", () => {
    const error = invalidRequestFrom(() =>
      parseCreateSandboxRequest({ network: { egress: { allow: [], deny: ["x.com"] } } }),
    );
    expect(error.message).toContain("request.network.egress");
  });

  it("keeps the zod error as cause", () => {
    const error = invalidRequestFrom(() => parseCreateSandboxRequest({ ttlMs: -5 }));
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("reports every invalid field at once", () => {
    const error = invalidRequestFrom(() =>
      parseCreateSandboxRequest({ ttlMs: -1, resources: { cpu: -1 }, region: "" }),
    );
    expect(error.message).toContain("request.ttlMs");
    expect(error.message).toContain("request.resources.cpu");
    expect(error.message).toContain("request.region");
  });
});

describe("parseCommand", () => {
  it("accepts an argv array", () => {
    expect(parseCommand(["python3", "-c", "print(1)"])).toEqual(["python3", "-c", "print(1)"]);
  });

  it("accepts a shell command", () => {
    expect(parseCommand({ shell: "echo hi | wc -c" })).toEqual({ shell: "echo hi | wc -c" });
  });

  it("rejects an empty argv array", () => {
    const error = invalidRequestFrom(() => parseCommand([]));
    expect(error.message).toContain("command");
  });

  it("rejects an argv array holding a non-string", () => {
    invalidRequestFrom(() => parseCommand(["echo", 1]));
  });

  it("rejects a bare string, which would be ambiguous between argv and shell", () => {
    invalidRequestFrom(() => parseCommand("ls -la"));
  });

  it("rejects a NUL byte in an argument, naming its index", () => {
    const error = invalidRequestFrom(() => parseCommand(["echo", "a\0b"]));
    expect(error.message).toContain("command.1");
    expect(error.message).toContain("NUL");
  });

  it("rejects an empty shell string", () => {
    const error = invalidRequestFrom(() => parseCommand({ shell: "" }));
    expect(error.message).toContain("command.shell");
  });

  it("rejects a shell object with extra keys", () => {
    invalidRequestFrom(() => parseCommand({ shell: "ls", cwd: "/" }));
  });
});

describe("parseExecOptions", () => {
  it("returns an empty object for missing options", () => {
    expect(parseExecOptions(undefined)).toEqual({});
  });

  it("returns the caller's options object, callbacks and signal included", () => {
    const onStdout = () => {};
    const options = {
      cwd: "/work",
      env: { A: "1" },
      timeoutMs: 1000,
      stdin: new Uint8Array([1, 2]),
      maxOutputBytes: 0,
      onStdout,
      signal: new AbortController().signal,
    };
    const parsed = parseExecOptions(options);
    expect(parsed).toBe(options);
    expect(parsed.onStdout).toBe(onStdout);
  });

  it("rejects a negative timeout, naming options.timeoutMs", () => {
    const error = invalidRequestFrom(() => parseExecOptions({ timeoutMs: -1 }));
    expect(error.message).toContain("options.timeoutMs");
  });

  it("rejects a zero timeout", () => {
    const error = invalidRequestFrom(() => parseExecOptions({ timeoutMs: 0 }));
    expect(error.message).toContain("options.timeoutMs");
  });

  it("rejects a negative maxOutputBytes, naming options.maxOutputBytes", () => {
    const error = invalidRequestFrom(() => parseExecOptions({ maxOutputBytes: -1 }));
    expect(error.message).toContain("options.maxOutputBytes");
  });

  it("rejects a bad environment variable name in per-command env", () => {
    const error = invalidRequestFrom(() => parseExecOptions({ env: { "BAD NAME": "x" } }));
    expect(error.message).toContain("options.env");
  });

  it("rejects stdin that is neither a string nor bytes", () => {
    const error = invalidRequestFrom(() => parseExecOptions({ stdin: 42 as unknown as string }));
    expect(error.message).toContain("options.stdin");
  });
});
