// Settings and the SDK's trap: `modal` reads ~/.modal.toml when it is imported. Here HOME holds a
// .modal.toml with a bogus token, server and environment; MODAL_CONFIG_PATH (from the fake) names
// a missing file, so none of it may reach the wire, and its token never stands in for missing
// credentials.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandportError } from "@sandport/core";
import { afterAll, describe, expect, it } from "vitest";
import { createModalSandboxProvider, modalSandboxProviderFactory } from "./modal-sandbox-provider.ts";
import { modalSettingsSchema } from "./modal-settings.ts";
import { modalSandboxTypeInfo } from "./settings.ts";
import { createModalFake } from "./testing/index.ts";

const home = mkdtempSync(join(tmpdir(), "sandport-modal-home-"));
writeFileSync(
  join(home, ".modal.toml"),
  [
    "[bogus]",
    'token_id = "ak-from-toml"',
    'token_secret = "as-from-toml-secret"',
    'server_url = "http://127.0.0.1:9"',
    'environment = "toml-environment"',
    "active = true",
    "",
  ].join("\n"),
);
process.env.HOME = home;
const credentials = { tokenId: "ak-settings-3", tokenSecret: "as-settings-secret-3" };
const modal = await createModalFake(credentials);
Object.assign(process.env, modal.environment);
delete process.env.MODAL_TOKEN_ID;
delete process.env.MODAL_TOKEN_SECRET;

afterAll(async () => {
  await modal.close();
});

describe("modal settings", () => {
  it("never reads ~/.modal.toml in tests: its environment and token do not reach the fake", async () => {
    const provider = createModalSandboxProvider({ ...credentials });
    await using sandbox = await provider.create({});
    expect((await sandbox.exec(["echo", "ok"])).stdout).toBe("ok\n");
    const app = modal.callsOf("AppGetOrCreate")[0];
    expect(app?.request.environment_name).not.toBe("toml-environment");
    expect(modal.calls.every((call) => call.authorized)).toBe(true);
    await provider.dispose();
  });

  it("does not take the token of ~/.modal.toml for missing credentials", async () => {
    const provider = createModalSandboxProvider({});
    const error = await provider.create({}).catch((caught: unknown) => caught);
    expect(SandportError.isInstance(error) && error.code).toBe("authentication");
  });

  it("constructs without credentials, and imports nothing until the first call", () => {
    expect(() => createModalSandboxProvider({})).not.toThrow();
    expect(createModalSandboxProvider({}).providerId).toBe("modal-sandbox");
  });

  it("uses an injected client instead of building one", async () => {
    const { ModalClient } = await import("modal");
    const client = new ModalClient(credentials);
    const provider = createModalSandboxProvider({ client });
    await using sandbox = await provider.create({});
    expect((await sandbox.exec(["true"])).exitCode).toBe(0);
    await provider.dispose();
    client.close();
  });

  it("validates sandport.json settings strictly and exports the type info without the adapter", () => {
    expect(modalSandboxTypeInfo.type).toBe("modal-sandbox");
    expect(modalSettingsSchema.safeParse({ tokenId: "a", tokenSecret: "b", appName: "x" }).success).toBe(
      true,
    );
    expect(modalSettingsSchema.safeParse({ tokenId: "a", endpoint: "http://x" }).success).toBe(false);
  });

  it("diagnoses missing credentials by name, never by value", async () => {
    const diagnosis = await modalSandboxProviderFactory.diagnose?.({}, { providerId: "gpu" } as never);
    expect(diagnosis?.usable).toBe(false);
    expect(diagnosis?.problem).toContain("providers.gpu.tokenId or MODAL_TOKEN_ID");
    const ready = await modalSandboxProviderFactory.diagnose?.(credentials, { providerId: "gpu" } as never);
    expect(ready?.usable).toBe(true);
    expect(JSON.stringify(ready)).not.toContain(credentials.tokenSecret);
  });

  it("declares GPUs, the network modes and the features it honours", () => {
    const { capabilities } = createModalSandboxProvider({});
    expect(capabilities.limits.gpuTypes).toContain("H100");
    expect(capabilities.network).toEqual({
      modes: ["none", "open", "allowlist"],
      allowlist: ["domain", "cidr"],
    });
    expect(capabilities.features).toMatchObject({
      background: true,
      stdin: true,
      processStdin: true,
      ports: false,
    });
  });
});
