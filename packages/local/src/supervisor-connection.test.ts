/**
 * The host side of the supervisor channel holds against a broken or hostile supervisor (it runs
 * as the sandbox uid): each misbehaviour fails that connection's requests with sandbox_failed and
 * never hangs. The fake supervisors here are small Node programs speaking the frame format.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandportError } from "@sandport/core";
import { afterAll, describe, expect, it } from "vitest";
import { SupervisorConnection } from "./supervisor-connection.ts";

const directory = mkdtempSync(join(tmpdir(), "sandport-fake-supervisor-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Writes a fake supervisor whose `onFrame(type, id, payload, send)` body is `behaviour`. */
function fakeSupervisor(name: string, behaviour: string, setup = "send(1, 0, Buffer.from('1'));"): string {
  const path = join(directory, name);
  writeFileSync(
    path,
    `#!${process.execPath}
const net = require("node:net");
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
function send(type, id, payload = Buffer.alloc(0)) {
  const header = Buffer.alloc(9);
  header.writeUInt32LE(payload.length, 0); header.writeUInt8(type, 4); header.writeUInt32LE(id, 5);
  channel.write(Buffer.concat([header, payload]));
}
let pending = Buffer.alloc(0);
let configured = false;
channel.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 9 && pending.length >= 9 + pending.readUInt32LE(0)) {
    const length = pending.readUInt32LE(0);
    const type = pending.readUInt8(4);
    const id = pending.readUInt32LE(5);
    const payload = pending.subarray(9, 9 + length);
    pending = pending.subarray(9 + length);
    if (!configured) { configured = true; ${setup} continue; }
    ${behaviour}
  }
});
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** Settles `promise` or fails the test by its own deadline, saying what hung. */
async function settled<T>(promise: Promise<T>, what: string): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within 5 s`)), 5000);
  });
  try {
    return { value: await Promise.race([promise, deadline]) };
  } catch (error) {
    if (error instanceof Error && error.message.endsWith("did not settle within 5 s")) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

function codeOf(error: unknown): string | undefined {
  return SandportError.isInstance(error) ? error.code : undefined;
}

async function start(binary: string): Promise<SupervisorConnection> {
  // Run as ourselves (no uid switch): the fake needs no sandbox.
  return SupervisorConnection.start({
    binary,
    runAsUid: undefined,
    config: [["root", "/"]],
    providerId: "local",
  });
}

const request = { argv: ["true"], env: {}, cwd: "/workspace", stdinOpen: false };
const ignore = { onStdout() {}, onStderr() {} };

describe("supervisor connection against a misbehaving supervisor", () => {
  it("fails the sandbox when a frame claims more than the largest payload", async () => {
    const connection = await start(
      fakeSupervisor(
        "huge-frame",
        "send(4, id, Buffer.alloc(0)); channel.write(Buffer.from([255, 255, 255, 127, 4, 1, 0, 0, 0]));",
      ),
    );
    try {
      const outcome = await settled(connection.startProcess(request, ignore).exited, "exec");
      expect(codeOf(outcome.error)).toBe("sandbox_failed");
      expect(connection.alive).toBe(false);
    } finally {
      await connection.close();
    }
  });

  it("fails pending requests with sandbox_failed when the supervisor dies", async () => {
    const connection = await start(fakeSupervisor("dies", "process.exit(3);"));
    try {
      const outcome = await settled(connection.readFile("a.txt", 100), "readFile");
      expect(codeOf(outcome.error)).toBe("sandbox_failed");
      const after = await settled(connection.writeFile("b.txt", Buffer.from("x")), "writeFile after death");
      expect(codeOf(after.error)).toBe("sandbox_failed");
    } finally {
      await connection.close();
    }
  });

  it("refuses more file data than it asked for", async () => {
    const connection = await start(
      fakeSupervisor("oversends", "send(8, id, Buffer.alloc(64)); send(9, id);"),
    );
    try {
      const outcome = await settled(connection.readFile("a.txt", 10), "readFile");
      expect(codeOf(outcome.error)).toBe("sandbox_failed");
    } finally {
      await connection.close();
    }
  });

  it("refuses an answer to a request that is not pending", async () => {
    const connection = await start(fakeSupervisor("wrong-id", "send(9, id + 1000);"));
    try {
      const outcome = await settled(connection.readFile("a.txt", 10), "readFile");
      expect(codeOf(outcome.error)).toBe("sandbox_failed");
    } finally {
      await connection.close();
    }
  });

  it("reports a failed setup without passing on what the supervisor wrote verbatim", async () => {
    const binary = fakeSupervisor(
      "setup-fails",
      "",
      "send(2, 0, Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from('mount \\x1b[31m/root/secret\\n' + 'x'.repeat(500))]));",
    );
    const outcome = await settled(start(binary), "start");
    expect(codeOf(outcome.error)).toBe("sandbox_failed");
    const message = (outcome.error as Error).message;
    expect(message).not.toContain("\x1b");
    expect(message).not.toContain("\n");
    expect(message.length).toBeLessThan(200);
  });

  it("fails the start when the supervisor exits before it is ready", async () => {
    const outcome = await settled(start(fakeSupervisor("exits-early", "", "process.exit(0);")), "start");
    expect(codeOf(outcome.error)).toBe("sandbox_failed");
  });
});
