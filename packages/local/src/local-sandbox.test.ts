import {
  chownSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SandportError } from "@sandport/core";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalProvider, localProviderFactory } from "./local-provider.ts";
import { sandboxPaths } from "./sandbox-store.ts";

const stateDirectory = mkdtempSync(join(tmpdir(), "sandport-local-test-"));
const outside = mkdtempSync(join(tmpdir(), "sandport-local-outside-"));
afterAll(() => {
  rmSync(stateDirectory, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return SandportError.isInstance(error) ? error.code : `non-sandport error: ${String(error)}`;
  }
}

function workspaceOf(sandboxId: string, directory = stateDirectory): string {
  return sandboxPaths(directory, sandboxId.split(":")[1] as string).workspace;
}

describe("local sandbox", () => {
  const provider = createLocalProvider({ stateDirectory });

  it("refuses to follow a symlink or hard link out of the workspace", async () => {
    writeFileSync(join(outside, "secret.txt"), "outside");
    await using sandbox = await provider.create({});
    const workspace = workspaceOf(sandbox.id);
    symlinkSync(join(outside, "secret.txt"), join(workspace, "link.txt"));
    symlinkSync(outside, join(workspace, "dir-link"));
    linkSync(join(outside, "secret.txt"), join(workspace, "hard.txt"));
    expect(await codeOf(sandbox.readFile("link.txt"))).toBe("invalid_request");
    expect(await codeOf(sandbox.readFile("dir-link/secret.txt"))).toBe("invalid_request");
    expect(await codeOf(sandbox.readFile("hard.txt"))).toBe("invalid_request");
    expect(await codeOf(sandbox.writeFile("link.txt", "x"))).toBe("invalid_request");
    expect(await codeOf(sandbox.writeFile("dir-link/new.txt", "x"))).toBe("invalid_request");
    // Paths resolve inside the sandbox's own filesystem: the host's state directory is not there.
    expect(await codeOf(sandbox.readFile("../../sandbox.json"))).toBe("not_found");
    expect(await codeOf(sandbox.writeFile("/etc/passwd", "x"))).toBe("invalid_request");
    expect(readdirSync(outside)).toEqual(["secret.txt"]);
  });

  it("refuses a path through a symlink even when it stays inside the workspace", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("data/real.txt", "inside");
    symlinkSync("data", join(workspaceOf(sandbox.id), "alias"));
    expect(await codeOf(sandbox.readFile("alias/real.txt"))).toBe("invalid_request");
    expect(new TextDecoder().decode(await sandbox.readFile("data/real.txt"))).toBe("inside");
  });

  it("reads and writes absolute paths anywhere the sandbox can write, kept across commands", async () => {
    await using sandbox = await provider.create({});
    await sandbox.writeFile("/tmp/notes/a.txt", "in tmp");
    expect((await sandbox.exec(["cat", "/tmp/notes/a.txt"])).stdout).toBe("in tmp");
    await sandbox.exec({ shell: "echo from-command > /tmp/b.txt" });
    expect(new TextDecoder().decode(await sandbox.readFile("/tmp/b.txt"))).toBe("from-command\n");
  });

  it("keeps sandboxes across provider instances (a restarted process can connect)", async () => {
    const sandbox = await provider.create({ env: { GREETING: "hi" }, labels: { owner: "test-restart" } });
    const restarted = createLocalProvider({ stateDirectory });
    const again = await restarted.connect(sandbox.id);
    expect((await again.exec({ shell: "echo $GREETING" })).stdout).toBe("hi\n");
    const listed = [];
    for await (const info of restarted.list({ labels: { owner: "test-restart" } })) listed.push(info.id);
    expect(listed).toEqual([sandbox.id]);
    await again.destroy();
    expect(existsSync(sandboxPaths(stateDirectory, sandbox.id.split(":")[1] as string).directory)).toBe(
      false,
    );
    expect(await codeOf(sandbox.exec(["true"]))).toBe("not_found");
  });

  it("destroys a sandbox when its ttl runs out, and reaps expired ones at start", async () => {
    const sandbox = await provider.create({ ttlMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await codeOf(sandbox.exec(["true"]))).toBe("not_found");
    expect(await codeOf(provider.connect(sandbox.id))).toBe("not_found");
  });

  it("rejects unknown provider options and disk quotas before creating anything", async () => {
    expect(await codeOf(provider.create({ providerOptions: { local: { turbo: true } } }))).toBe(
      "invalid_request",
    );
    expect(await codeOf(provider.create({ resources: { diskMb: 100 } }))).toBe("unsupported_capability");
    expect(await codeOf(provider.create({ network: { egress: "open" } }))).toBe("unsupported_capability");
  });

  it("reports a missing working directory as invalid_request", async () => {
    await using sandbox = await provider.create({});
    expect(await codeOf(sandbox.exec(["pwd"], { cwd: "no/such/dir" }))).toBe("invalid_request");
    expect((await sandbox.exec(["pwd"], { cwd: "/tmp" })).stdout).toBe("/tmp\n");
  });

  it("rejects code larger than one argument can carry", async () => {
    await using sandbox = await provider.create({});
    expect(await codeOf(sandbox.runCode("#".repeat(200_000), { language: "python" }))).toBe(
      "invalid_request",
    );
  });

  it("pins a command to the requested number of vCPUs", async () => {
    await using sandbox = await provider.create({ resources: { cpu: 1 } });
    expect((await sandbox.exec(["nproc"])).stdout).toBe("1\n");
  });

  it("opens the network only when the config allows it and the request asks", async () => {
    const server = createServer((socket) => socket.end("pong"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const networked = createLocalProvider({ stateDirectory, allowNetwork: true });
    expect(networked.capabilities.network.modes).toContain("open");
    try {
      await using sandbox = await networked.create({ network: { egress: "open" } });
      const result = await sandbox.runCode(
        `import net from "node:net"; net.connect(${port}, "127.0.0.1").on("data", (d) => console.log(String(d)));`,
        { language: "javascript", timeoutMs: 10_000 },
      );
      expect(result.stdout).toBe("pong\n");
    } finally {
      server.close();
    }
  });
});

describe("local provider factory", () => {
  it("validates settings strictly and passes the instance name", () => {
    expect(localProviderFactory.settingsSchema.safeParse({ isolation: "chroot" }).success).toBe(false);
    expect(localProviderFactory.settingsSchema.safeParse({ bogus: 1 }).success).toBe(false);
    const provider = localProviderFactory.create({ isolation: "supervisor" }, { providerId: "box" });
    expect(provider.providerId).toBe("box");
    expect(provider.capabilities.isolation).toBe("namespace");
  });

  it("declares isolation none honestly in development mode", async () => {
    const provider = createLocalProvider({ stateDirectory, isolation: "none", providerId: "dev" });
    expect(provider.capabilities.isolation).toBe("none");
    await using sandbox = await provider.create({});
    expect((await sandbox.exec({ shell: "echo ok; pwd" })).stdout).toMatch(/^ok\n.*workspace\n$/);
  });
});

describe("local provider state directory", () => {
  it.skipIf(process.getuid?.() !== 0)(
    "refuses a state directory another user owns (it could hold that user's programs)",
    async () => {
      const foreign = mkdtempSync(join(tmpdir(), "sandport-local-foreign-"));
      try {
        chownSync(foreign, 23456, 23456);
        const provider = createLocalProvider({ stateDirectory: foreign });
        const error = await provider.create({}).catch((caught: unknown) => caught);
        expect(SandportError.isInstance(error) && error.code).toBe("config_invalid");
        expect(String((error as Error).message)).toContain("owned by uid 23456");
      } finally {
        rmSync(foreign, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    "explains when the sandbox uid cannot reach the state directory",
    async () => {
      const hidden = mkdtempSync(join(tmpdir(), "sandport-local-hidden-")); // mode 0700
      try {
        const provider = createLocalProvider({ stateDirectory: join(hidden, "state") });
        const error = await provider.create({}).catch((caught: unknown) => caught);
        expect(SandportError.isInstance(error) && error.code).toBe("config_invalid");
        expect(String((error as Error).message)).toContain("not searchable by other users");
      } finally {
        rmSync(hidden, { recursive: true, force: true });
      }
    },
  );
});
