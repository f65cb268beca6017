// The fake drives the real `modal` SDK (no adapter): create -> exec -> write -> read -> terminate,
// over the hand-written proto subset. The SDK is imported only after MODAL_SERVER_URL and
// MODAL_CONFIG_PATH point at the fake.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModalFake, type ModalFake } from "./index.ts";

const credentials = { tokenId: "ak-fake-raw", tokenSecret: "as-fake-raw-secret" };
let fake: ModalFake;
let modal: typeof import("modal");

beforeAll(async () => {
  fake = await createModalFake(credentials);
  Object.assign(process.env, fake.environment);
  modal = await import("modal");
});
afterAll(async () => {
  await fake?.close();
});

describe("the Modal fake with the raw SDK", () => {
  it("runs create, exec, write, read and terminate through the real SDK", async () => {
    const client = new modal.ModalClient(credentials);
    const app = await client.apps.fromName("sandport-raw", { createIfMissing: true });
    const image = client.images.fromRegistry("python:3.13-slim");
    const sandbox = await client.sandboxes.create(app, image, { timeoutMs: 60_000, workdir: "/workspace" });
    const process1 = await sandbox.exec(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    const [stdout, stderr, code] = await Promise.all([
      process1.stdout.readText(),
      process1.stderr.readText(),
      process1.wait(),
    ]);
    expect({ stdout, stderr, code }).toEqual({ stdout: "out\n", stderr: "err\n", code: 3 });
    const bytes = new Uint8Array(256).map((_, index) => index);
    await sandbox.filesystem.writeBytes(bytes, "/workspace/a/b.bin");
    expect([...(await sandbox.filesystem.readBytes("/workspace/a/b.bin"))]).toEqual([...bytes]);
    const listed = await sandbox.filesystem.listFiles("/workspace/a");
    expect(listed.map((entry) => entry.name)).toEqual(["b.bin"]);
    await expect(sandbox.filesystem.readBytes("/workspace/missing")).rejects.toThrow();
    expect(await fake.countLiveSandboxes()).toBe(1);
    await sandbox.terminate();
    expect(await fake.countLiveSandboxes()).toBe(0);
    client.close();
  }, 60_000);
});
