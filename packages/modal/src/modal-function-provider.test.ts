// The `modal-function` provider over the gRPC fake: what reaches Modal for a request (the bound
// function's options, the call's input), faults of Modal's API as typed errors, and a runner that
// was never deployed. The SDK is imported by the provider at its first call, after the environment
// below points it at the fake and MODAL_CONFIG_PATH at a missing file.
import { SandportError } from "@sandport/core";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  createModalFunctionProvider,
  mapFunctionRequest,
  modalFunctionProviderFactory,
} from "./modal-function-provider.ts";
import { modalFunctionTypeInfo } from "./settings.ts";
import { createModalFake, grpcStatus } from "./testing/index.ts";

const credentials = { tokenId: "ak-function-7c", tokenSecret: "as-function-very-secret-7c" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);
const deployed = modal.deployRunner();
const provider = createModalFunctionProvider({ providerId: "gpu-grid", ...credentials });

afterAll(async () => {
  await provider.dispose();
  await modal.close();
});

beforeEach(() => modal.clearCalls());

async function rejection(call: () => Promise<unknown>, providerId = "gpu-grid"): Promise<SandportError> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(SandportError.isInstance(error), `expected a SandportError, got ${String(error)}`).toBe(true);
  const typed = error as SandportError;
  expect(typed.message).not.toContain(credentials.tokenSecret);
  expect(JSON.stringify(typed)).not.toContain(credentials.tokenSecret);
  expect(typed.providerId).toBe(providerId);
  return typed;
}

const decode = (bytes: unknown) => new TextDecoder().decode(bytes as Uint8Array);

describe("modal-function mapping", () => {
  it("binds the request's GPU, cpu, memory and ttl as the function's options, and calls that variant", async () => {
    await using sandbox = await provider.create({
      ttlMs: 90_500,
      resources: { cpu: 4, memoryMb: 16_384, gpu: { type: "H100", count: 2 } },
    });
    const [bind] = modal.callsOf("FunctionBindParams");
    expect(bind?.request.function_id).toBe(deployed.functionId);
    const options = bind?.request.function_options as Record<string, Record<string, unknown>>;
    expect(options.resources).toMatchObject({
      milli_cpu: 4000,
      memory_mb: 16_384,
      gpu_config: { gpu_type: "H100", count: 2 },
    });
    // ttlMs rounded up to whole seconds: Modal ends any call of this sandbox there.
    expect(options.timeout_secs).toBe(91);
    const result = await sandbox.runCode("print(6 * 7)", { language: "python" });
    expect(result).toMatchObject({ exitCode: 0, stdout: "42\n", timedOut: false });
    const [input] = modal.functionInputs;
    expect(input?.functionId).not.toBe(deployed.functionId);
    expect(input?.baseFunctionId).toBe(deployed.functionId);
    expect(input?.options).toMatchObject({ resources: { gpu_config: { gpu_type: "H100", count: 2 } } });
  });

  it("binds one variant per set of options and calls the deployed function itself without any", async () => {
    const before = modal.functionInputs.length;
    const [a, b] = await Promise.all([
      provider.create({ resources: { gpu: { type: "A100", count: 1 } } }),
      provider.create({ resources: { gpu: { type: "A100", count: 1 } } }),
    ]);
    const plain = await provider.create({});
    expect(modal.callsOf("FunctionBindParams")).toHaveLength(1);
    const bound = modal.callsOf("FunctionBindParams")[0]?.request.function_options;
    expect(bound).toMatchObject({ resources: { gpu_config: { gpu_type: "A100", count: 1 } } });
    await plain.exec(["true"]);
    expect(modal.functionInputs[before]?.functionId).toBe(deployed.functionId);
    await Promise.all([a.destroy(), b.destroy(), plain.destroy()]);
  });

  it("makes each run one call carrying code, language, files, env, stdin and limits, and takes back changed files", async () => {
    await using sandbox = await provider.create({ env: { FROM_CREATE: "c" } });
    await sandbox.writeFile("data/in.txt", "payload");
    const before = modal.functionInputs.length;
    const result = await sandbox.runCode(
      "import os, sys\nprint(open('data/in.txt').read(), os.environ['FROM_CREATE'], os.environ['FROM_EXEC'], sys.stdin.read())\nopen('data/out.txt', 'w').write('made')",
      {
        language: "python",
        env: { FROM_EXEC: "e" },
        stdin: "typed",
        timeoutMs: 20_000,
        maxOutputBytes: 1000,
      },
    );
    expect(result.stdout).toBe("payload c e typed\n");
    expect(modal.callsOf("FunctionMap")).toHaveLength(1);
    const input = modal.functionInputs[before];
    const request = input?.args[0] as Record<string, unknown>;
    expect(request).toMatchObject({
      protocol: 1,
      language: "python",
      cwd: "/workspace",
      env: { FROM_CREATE: "c", FROM_EXEC: "e" },
      timeout_ms: 20_000,
      max_output_bytes: 1001,
    });
    expect(decode(request.stdin)).toBe("typed");
    const entries = request.entries as { path: string; kind: string; data?: Uint8Array }[];
    expect(entries.map((entry) => `${entry.kind}:${entry.path}`).sort()).toEqual([
      "directory:data",
      "file:data/in.txt",
    ]);
    expect(decode(entries.find((entry) => entry.kind === "file")?.data)).toBe("payload");
    expect(decode(await sandbox.readFile("data/out.txt"))).toBe("made");
  });

  it("keeps what a file call changed while a command ran, and takes what the command removed", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("gone.txt", "old");
    const running = sandbox.exec(["sh", "-c", "sleep 0.5; rm gone.txt"]);
    await sandbox.writeFile("meanwhile.txt", "kept");
    expect((await running).exitCode).toBe(0);
    expect(decode(await sandbox.readFile("meanwhile.txt"))).toBe("kept");
    await expect(sandbox.readFile("gone.txt")).rejects.toMatchObject({ code: "not_found" });
  });

  it("refuses what a function call cannot honour before any call", () => {
    const { capabilities } = provider;
    for (const request of [
      { region: "eu-west" },
      { network: { egress: "none" as const } },
      { image: "node:22" },
      { resources: { diskMb: 1024 } },
      { resources: { gpu: { type: "Z9", count: 1 } } },
    ]) {
      expect(() => mapFunctionRequest("gpu-grid", capabilities, request)).toThrow(
        expect.objectContaining({ code: "unsupported_capability" }),
      );
    }
    expect(() =>
      mapFunctionRequest("gpu-grid", capabilities, { providerOptions: { "gpu-grid": { anything: 1 } } }),
    ).toThrow(expect.objectContaining({ code: "invalid_request" }));
    expect(modal.calls).toHaveLength(0);
  });

  it("declares what differs from a sandbox: no streaming, background, process stdin or ports; GPUs; open network only", () => {
    const { capabilities } = provider;
    expect(capabilities.features).toMatchObject({
      filesystem: true,
      streaming: false,
      background: false,
      stdin: true,
      processStdin: false,
      ports: false,
      images: false,
    });
    expect(capabilities.limits.gpuTypes).toContain("H100");
    expect(capabilities.network.modes).toEqual(["open"]);
    expect(capabilities.regions).toEqual([]);
    expect(modalFunctionTypeInfo.capabilities({})).toEqual(capabilities);
    expect(modalFunctionTypeInfo.type).toBe("modal-function");
  });
});

describe("modal-function faults", () => {
  it("names the deploy command when the runner was never deployed (NOT_FOUND on FunctionGet)", async () => {
    const elsewhere = createModalFunctionProvider({
      providerId: "gpu-grid",
      ...credentials,
      appName: "never-deployed",
    });
    const error = await rejection(() => elsewhere.create({}));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain("modal deploy");
    expect(error.message).toContain("runner/sandport_runner.py");
    expect(error.message).toContain('app "never-deployed"');
    expect(modal.callsOf("FunctionGet")[0]?.request).toMatchObject({
      app_name: "never-deployed",
      object_tag: "run",
    });
    expect(modal.callsOf("FunctionMap")).toHaveLength(0);
    await elsewhere.dispose();
  });

  it("says to redeploy when the runner was deployed with a Python SDK that cannot take CBOR", async () => {
    modal.deployRunner({ appName: "old-runner", supportedInputFormats: [1] });
    const old = createModalFunctionProvider({
      providerId: "gpu-grid",
      ...credentials,
      appName: "old-runner",
    });
    await using sandbox = await old.create({});
    const error = await rejection(() => sandbox.exec(["true"]));
    expect(error.code).toBe("config_invalid");
    expect(error.message).toContain("modal deploy");
    expect(modal.callsOf("FunctionMap")).toHaveLength(0);
    await old.dispose();
  });

  it("maps UNAUTHENTICATED on the lookup to authentication, naming the settings", async () => {
    const fresh = createModalFunctionProvider({ providerId: "gpu-grid", ...credentials });
    modal.failNext("FunctionGet", {
      kind: "status",
      code: grpcStatus.UNAUTHENTICATED,
      details: `bad token ${credentials.tokenSecret}`,
    });
    const error = await rejection(() => fresh.create({}));
    expect(error.code).toBe("authentication");
    expect(error.message).toContain("providers.gpu-grid.tokenId");
    await fresh.dispose();
  });

  it("maps UNAVAILABLE on FunctionMap to retryable provider_unavailable after the SDK's own three retries", async () => {
    await using sandbox = await provider.create({});
    modal.failNext("FunctionMap", { kind: "status", code: grpcStatus.UNAVAILABLE }, 4);
    const error = await rejection(() => sandbox.exec(["echo", "never"]));
    expect(error.code).toBe("provider_unavailable");
    expect(error.isRetryable).toBe(true);
    expect(modal.callsOf("FunctionMap")).toHaveLength(4);
    // The sandbox is still usable once Modal answers again.
    expect((await sandbox.exec(["echo", "again"])).stdout).toBe("again\n");
  });

  it("maps NOT_FOUND and PERMISSION_DENIED on a call to typed errors", async () => {
    await using sandbox = await provider.create({});
    modal.failNext("FunctionMap", { kind: "status", code: grpcStatus.PERMISSION_DENIED });
    expect((await rejection(() => sandbox.exec(["true"]))).code).toBe("permission_denied");
    modal.failNext("FunctionGetOutputs", { kind: "status", code: grpcStatus.NOT_FOUND });
    expect((await rejection(() => sandbox.exec(["true"]))).code).toBe("not_found");
  });

  it("reports missing credentials at the first call, naming the setting and the variable", async () => {
    const saved = { id: process.env.MODAL_TOKEN_ID, secret: process.env.MODAL_TOKEN_SECRET };
    delete process.env.MODAL_TOKEN_ID;
    delete process.env.MODAL_TOKEN_SECRET;
    try {
      const bare = createModalFunctionProvider({ providerId: "gpu-grid" });
      const error = await rejection(() => bare.create({}));
      expect(error.code).toBe("authentication");
      expect(error.message).toContain("MODAL_TOKEN_ID");
      expect(modal.calls).toHaveLength(0);
    } finally {
      if (saved.id !== undefined) process.env.MODAL_TOKEN_ID = saved.id;
      if (saved.secret !== undefined) process.env.MODAL_TOKEN_SECRET = saved.secret;
    }
  });

  it("diagnoses the runner's location and the deploy command", async () => {
    const diagnosis = await modalFunctionProviderFactory.diagnose?.(credentials, {
      providerId: "gpu-grid",
    } as never);
    expect(diagnosis?.usable).toBe(true);
    expect(diagnosis?.lines.join("\n")).toContain('"run" of app "sandport-runner"');
    expect(JSON.stringify(diagnosis)).not.toContain(credentials.tokenSecret);
  });
});
