// The mapping of a normalized request to Modal's create message, asserted on the gRPC message the
// fake received (SandboxCreateV2, or SandboxCreate for GPU sandboxes, which the SDK sends through
// its V1 path), and the refusals that happen before any call.
import { SandportError } from "@sandport/core";
import { afterAll, describe, expect, it } from "vitest";
import { createModalSandboxProvider } from "./modal-sandbox-provider.ts";
import { createModalFake } from "./testing/index.ts";

const credentials = { tokenId: "ak-mapping-1", tokenSecret: "as-mapping-secret-1" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);
const provider = createModalSandboxProvider({ providerId: "modal", ...credentials });

afterAll(async () => {
  await provider.dispose();
  await modal.close();
});

type Message = Record<string, unknown>;
const definitionOf = (method: string): Message => {
  const call = modal.callsOf(method).at(-1);
  expect(call, `no ${method} call was recorded`).toBeDefined();
  return call?.request.definition as Message;
};

async function expectCode(call: () => Promise<unknown>, code: string): Promise<SandportError> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(SandportError.isInstance(error), `expected a SandportError, got ${String(error)}`).toBe(true);
  expect((error as SandportError).code).toBe(code);
  return error as SandportError;
}

describe("modal request mapping", () => {
  it("sends ttlMs as timeout_secs (rounded up to whole seconds), cpu as milli_cpu and memoryMb as memory_mb", async () => {
    await using sandbox = await provider.create({ ttlMs: 61_500, resources: { cpu: 1.5, memoryMb: 2048 } });
    const definition = definitionOf("SandboxCreateV2");
    expect(definition.timeout_secs).toBe(62);
    expect(definition.resources).toMatchObject({ milli_cpu: 1500, memory_mb: 2048 });
    expect(definition.workdir).toBe("/workspace");
    expect(sandbox.id.startsWith("modal:")).toBe(true);
  });

  it("sends Modal's 5-minute default lifetime when the request has no ttlMs, so nothing lives forever", async () => {
    await using _sandbox = await provider.create({});
    expect(definitionOf("SandboxCreateV2").timeout_secs).toBe(300);
  });

  it('sends gpu { type: "H100", count: 2 } as gpu_config and the sandbox runs commands', async () => {
    await using sandbox = await provider.create({ resources: { gpu: { type: "H100", count: 2 } } });
    const resources = definitionOf("SandboxCreate").resources as Message;
    expect(resources.gpu_config).toMatchObject({ gpu_type: "H100", count: 2 });
    const result = await sandbox.exec(["echo", "on a GPU box"]);
    expect(result).toMatchObject({ exitCode: 0, stdout: "on a GPU box\n" });
    // A GPU sandbox goes through the SDK's V1 path: task id lookup and router access by task.
    expect(modal.callsOf("SandboxGetTaskId").length).toBeGreaterThan(0);
    expect(modal.callsOf("TaskGetCommandRouterAccess").length).toBeGreaterThan(0);
  });

  it("sends a single GPU as its bare type", async () => {
    await using _sandbox = await provider.create({ resources: { gpu: { type: "A100", count: 1 } } });
    const resources = definitionOf("SandboxCreate").resources as Message;
    expect(resources.gpu_config).toMatchObject({ gpu_type: "A100", count: 1 });
  });

  it('sends egress "none" as a blocked network and an allowlist as CIDR and domain lists', async () => {
    await using _blocked = await provider.create({ network: { egress: "none" } });
    expect(definitionOf("SandboxCreateV2").network_access).toMatchObject({ network_access_type: 2 });
    await using _allowed = await provider.create({
      network: { egress: { allow: ["10.0.0.0/8", "pypi.org", "192.168.1.1"] } },
    });
    expect(definitionOf("SandboxCreateV2").network_access).toMatchObject({
      network_access_type: 3,
      allowed_cidrs: ["10.0.0.0/8", "192.168.1.1"],
      allowed_domains: ["pypi.org"],
    });
    await using _open = await provider.create({ network: { egress: "open" } });
    expect(definitionOf("SandboxCreateV2").network_access).toMatchObject({ network_access_type: 1 });
  });

  it("sends region as scheduler_placement.regions, labels as tags and env as an inline secret source", async () => {
    await using sandbox = await provider.create({
      region: "eu-west",
      labels: { job: "mapping" },
      env: { GREETING: "hello" },
    });
    const call = modal.callsOf("SandboxCreateV2").at(-1)?.request as Message;
    expect((call.definition as Message).scheduler_placement).toMatchObject({ regions: ["eu-west"] });
    expect(call.tags).toEqual([{ tag_name: "job", tag_value: "mapping" }]);
    expect(call.secret_sources).toEqual([
      expect.objectContaining({ env: { contents: { GREETING: "hello" } } }),
    ]);
    expect((await sandbox.exec(["sh", "-c", 'echo "$GREETING"'])).stdout).toBe("hello\n");
  });

  it("sends an exec's timeoutMs as its timeout_secs backstop and its argv unchanged", async () => {
    await using sandbox = await provider.create({});
    modal.clearCalls();
    await sandbox.exec(["echo", "a b", "$HOME"], { timeoutMs: 5_000 });
    const start = modal.callsOf("TaskExecStart")[0]?.request as Message;
    expect(start.timeout_secs).toBe(7);
    expect((start.command_args as string[]).slice(-3)).toEqual(["echo", "a b", "$HOME"]);
  });

  it("refuses what Modal cannot honour with unsupported_capability before any call", async () => {
    modal.clearCalls();
    await expectCode(() => provider.create({ resources: { diskMb: 10_240 } }), "unsupported_capability");
    await expectCode(
      () => provider.create({ resources: { gpu: { type: "Z9000", count: 1 } } }),
      "unsupported_capability",
    );
    await expectCode(
      () => provider.create({ resources: { gpu: { type: "H100", count: 9 } } }),
      "unsupported_capability",
    );
    await expectCode(
      () => provider.create({ resources: { memoryMb: 10_000_000 } }),
      "unsupported_capability",
    );
    await expectCode(() => provider.create({ region: "mars-north" }), "unsupported_capability");
    await expectCode(() => provider.create({ runtime: "javascript" }), "unsupported_capability");
    await expectCode(() => provider.create({ ttlMs: 25 * 60 * 60 * 1000 }), "unsupported_capability");
    await expectCode(
      () => provider.create({ providerOptions: { modal: { unknown: 1 } } }),
      "invalid_request",
    );
    expect(modal.callsOf("SandboxCreateV2")).toHaveLength(0);
    expect(modal.callsOf("SandboxCreate")).toHaveLength(0);
  });

  it("passes providerOptions idleTimeoutMs and cloud to Modal", async () => {
    await using _sandbox = await provider.create({
      providerOptions: { modal: { idleTimeoutMs: 30_000, cloud: "aws" } },
    });
    expect(definitionOf("SandboxCreateV2")).toMatchObject({
      idle_timeout_secs: 30,
      cloud_provider_str: "aws",
    });
  });
});
