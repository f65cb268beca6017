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

  it("calls the deployed runner through functions.fromName(...).remote(...), inputs and outputs in CBOR", async () => {
    const client = new modal.ModalClient(credentials);
    await expect(client.functions.fromName("sandport-runner", "run")).rejects.toBeInstanceOf(
      modal.NotFoundError,
    );
    fake.deployRunner();
    const runner = await client.functions.fromName("sandport-runner", "run");
    const reply = (await runner.remote([
      {
        protocol: 1,
        command: ["sh", "-c", "cat in.txt; echo made > out.txt; echo oops >&2; exit 4"],
        cwd: "/workspace",
        entries: [{ path: "in.txt", kind: "file", data: new TextEncoder().encode("hello "), mode: 0o644 }],
      },
    ])) as Record<string, unknown>;
    expect(reply.status).toBe("ran");
    expect(reply.exit_code).toBe(4);
    expect(new TextDecoder().decode(reply.stdout as Uint8Array)).toBe("hello ");
    expect(new TextDecoder().decode(reply.stderr as Uint8Array)).toBe("oops\n");
    const entries = reply.entries as { path: string; changed?: boolean; data?: Uint8Array }[];
    expect(entries.find((entry) => entry.path === "in.txt")?.changed).toBe(false);
    const made = entries.find((entry) => entry.path === "out.txt");
    expect(new TextDecoder().decode(made?.data)).toBe("made\n");
    expect(fake.callsOf("FunctionMap")).toHaveLength(1);
    expect(fake.functionInputs[0]?.viaBlob).toBe(false);
    // An input over 2 MiB travels as a blob, and so does a reply over 2 MiB.
    const big = new Uint8Array(3 * 1024 * 1024).fill(120);
    const echoed = (await runner.remote([
      {
        protocol: 1,
        command: ["sh", "-c", "cp big.bin copy.bin"],
        entries: [{ path: "big.bin", kind: "file", data: big }],
      },
    ])) as Record<string, unknown>;
    expect(fake.functionInputs[1]?.viaBlob).toBe(true);
    const copy = (echoed.entries as { path: string; data?: Uint8Array }[]).find(
      (entry) => entry.path === "copy.bin",
    );
    expect(copy?.data?.byteLength).toBe(big.byteLength);
    expect(fake.callsOf("BlobGet")).toHaveLength(1);
    client.close();
  }, 60_000);
});
