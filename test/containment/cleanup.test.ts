/**
 * Class 6: nothing a sandbox made may outlive it on the host. A tree deeper than PATH_MAX with
 * unreadable directories and links to host files is removed by `destroy` (and the host files the
 * links name survive); a `destroy` that cannot finish leaves what the next provider start needs
 * to reap the rest; a CLI killed with SIGKILL leaves a sandbox that the next provider start
 * reaps once its ttl has passed.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LocalSandbox } from "@sandport/local";
import { createLocalProvider } from "@sandport/local";
import { describe, expect, it } from "vitest";
import {
  asOrdinaryUser,
  findHostPaths,
  hostTool,
  ordinaryUserAvailable,
  outcomeOf,
  pathsContaining,
  removePaths,
  runNodeScript,
  runningAsRoot,
  temporaryDirectory,
  uniqueName,
  vendorIdOf,
  withDeadline,
} from "./containment-support.ts";
import { processesWithMarker, waitForNoProcesses } from "./sandbox-processes.ts";

const segment = "aaaaaaaaaaaaaaaaaaaa";

/**
 * Builds, inside the sandbox, `deep/` 300 levels of 20-character names (over 6000 characters,
 * past PATH_MAX) with relative chdir only (shells resolve `cd` through the whole path); a file at
 * the bottom; every 50th level and `deep` itself chmod 000; a read-only directory holding a file;
 * links to a host canary at the top and the bottom. Prints "built".
 */
const deepTreeBuilder = `
const fs = require("node:fs");
const [canary, segment] = process.argv.slice(1);
fs.mkdirSync("deep");
fs.symlinkSync(canary, "deep/escape");
process.chdir("deep");
for (let level = 0; level < 300; level++) {
  fs.mkdirSync(segment);
  process.chdir(segment);
}
fs.writeFileSync("file.txt", "bottom");
fs.symlinkSync(canary, "escape");
fs.symlinkSync(canary + "/canary.txt", "escape-file");
fs.mkdirSync("readonly");
fs.writeFileSync("readonly/file", "x");
fs.chmodSync("readonly", 0o555);
for (let level = 1; level <= 300; level++) {
  process.chdir("..");
  if (level % 50 === 0) fs.chmodSync(segment, 0);
}
process.chdir("..");
fs.chmodSync("deep", 0);
console.log("built");`;

function deepTreeCommand(hostCanary: string): string[] {
  return ["node", "-e", deepTreeBuilder, hostCanary, segment];
}

/** Host paths under the state directory that still carry the sandbox's traces. */
function traces(stateDirectory: string, vendorId: string, locator: string): string[] {
  return [
    ...pathsContaining(stateDirectory, vendorId, 12),
    ...pathsContaining(stateDirectory, locator, 12),
    ...pathsContaining(stateDirectory, segment, 12),
  ];
}

/** An error message cut to a readable length (paths in a deep tree are thousands of characters). */
function brief(message: string): string {
  return message.length > 400 ? `${message.slice(0, 400)}…` : message;
}

async function listedIds(provider: ReturnType<typeof createLocalProvider>): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of provider.list()) ids.push(info.id);
  return ids;
}

describe("destroy removes everything the sandbox made", () => {
  it("a tree deeper than PATH_MAX with chmod 000 directories is gone, and linked host files survive", async () => {
    const stateDirectory = temporaryDirectory("sandport-cleanup-deep");
    const canary = temporaryDirectory("sandport-cleanup-canary");
    const provider = createLocalProvider({ stateDirectory });
    let sandbox: LocalSandbox | undefined;
    try {
      chmodSync(canary, 0o755);
      writeFileSync(join(canary, "canary.txt"), "canary");
      sandbox = await withDeadline(provider.create({}), 30_000, "create");
      const locator = uniqueName("sandport-cleanup-locator");
      await sandbox.writeFile(locator, "");
      const hostWorkspace = findHostPaths(stateDirectory, locator).map((path) => dirname(path))[0];
      const built = await withDeadline(
        sandbox.exec(deepTreeCommand(canary), { timeoutMs: 60_000 }),
        90_000,
        "build the deep tree",
      );
      expect(built.stdout, built.stderr).toBe("built\n");
      const id = sandbox.id;
      const destroyed = await withDeadline(outcomeOf(sandbox.destroy()), 60_000, "destroy");
      expect(destroyed.ok ? "destroyed" : `${destroyed.code}: ${brief(destroyed.message)}`).toBe("destroyed");
      if (hostWorkspace !== undefined) expect(existsSync(hostWorkspace), hostWorkspace).toBe(false);
      expect(traces(stateDirectory, vendorIdOf(id), locator)).toEqual([]);
      expect(await listedIds(provider)).not.toContain(id);
      expect(readFileSync(join(canary, "canary.txt"), "utf8")).toBe("canary");
    } finally {
      await sandbox?.destroy().catch(() => {});
      // Whatever a failed destroy left: make it removable for the cleanup.
      spawnSync("chmod", ["-R", "u+rwx", stateDirectory]);
      removePaths(stateDirectory, canary);
    }
  }, 180_000);

  it.skipIf(!ordinaryUserAvailable)(
    "(needs root, setpriv and a checkout other users can read) does the same when run by an ordinary user",
    async () => {
      const directory = temporaryDirectory("sandport-cleanup-user");
      const canary = temporaryDirectory("sandport-cleanup-user-canary");
      try {
        chmodSync(directory, 0o777);
        chmodSync(canary, 0o755);
        writeFileSync(join(canary, "canary.txt"), "canary");
        const stateDirectory = join(directory, "state");
        const locator = uniqueName("sandport-cleanup-locator");
        const script = `
          import { createLocalProvider } from "@sandport/local";
          const provider = createLocalProvider({ stateDirectory: ${JSON.stringify(stateDirectory)} });
          const sandbox = await provider.create({});
          await sandbox.writeFile(${JSON.stringify(locator)}, "");
          const built = await sandbox.exec(${JSON.stringify(deepTreeCommand(canary))}, { timeoutMs: 60000 });
          let destroy = "destroyed";
          try { await sandbox.destroy(); } catch (error) { destroy = String(error.code) + ": " + error.message; }
          const listed = [];
          for await (const info of provider.list()) listed.push(info.id);
          console.log(JSON.stringify({ id: sandbox.id, built: built.stdout, destroy, listed }));`;
        const outcome = await runNodeScript(script, {
          prefix: asOrdinaryUser,
          deadlineMs: 120_000,
          label: "ordinary-user deep tree",
        });
        expect(outcome.code, outcome.stderr).toBe(0);
        const report = JSON.parse(outcome.stdout) as {
          id: string;
          built: string;
          destroy: string;
          listed: string[];
        };
        expect(report.built).toBe("built\n");
        expect(brief(report.destroy)).toBe("destroyed");
        expect(report.listed).not.toContain(report.id);
        expect(traces(stateDirectory, vendorIdOf(report.id), locator)).toEqual([]);
        expect(readFileSync(join(canary, "canary.txt"), "utf8")).toBe("canary");
      } finally {
        spawnSync("chmod", ["-R", "u+rwx", directory]);
        removePaths(directory, canary);
      }
    },
    180_000,
  );

  it.skipIf(!runningAsRoot || hostTool("chattr") === undefined)(
    "(needs root and chattr) a destroy that cannot finish leaves the sandbox for the next provider start to reap",
    async (context) => {
      const stateDirectory = temporaryDirectory("sandport-cleanup-locked");
      const provider = createLocalProvider({ stateDirectory });
      let sandbox: LocalSandbox | undefined;
      let lockedPath: string | undefined;
      try {
        sandbox = await withDeadline(provider.create({}), 30_000, "create");
        const locator = uniqueName("sandport-cleanup-locator");
        await sandbox.writeFile(locator, "locked");
        lockedPath = findHostPaths(stateDirectory, locator)[0];
        if (lockedPath === undefined) {
          context.skip("the workspace is no host directory under the state directory: nothing to lock");
          return;
        }
        const locked = spawnSync("chattr", ["+i", lockedPath], { encoding: "utf8" });
        if (locked.status !== 0) {
          context.skip(`the state directory's filesystem has no immutable flag: ${locked.stderr.trim()}`);
          return;
        }
        const id = sandbox.id;
        // The caller does not retry (it crashed, say): the next provider start must finish the job.
        const first = await withDeadline(
          outcomeOf(sandbox.destroy()),
          60_000,
          "destroy with an immutable file",
        );
        spawnSync("chattr", ["-i", lockedPath]);
        const restarted = createLocalProvider({ stateDirectory });
        const listed = await listedIds(restarted);
        const left = traces(stateDirectory, vendorIdOf(id), locator);
        const firstOutcome = first.ok ? "destroyed" : `${first.code}: ${brief(first.message)}`;
        expect(listed, `first destroy: ${firstOutcome}`).not.toContain(id);
        expect(left, `first destroy: ${firstOutcome}; left for nobody to reap`).toEqual([]);
      } finally {
        if (lockedPath !== undefined && existsSync(lockedPath)) spawnSync("chattr", ["-i", lockedPath]);
        await sandbox?.destroy().catch(() => {});
        removePaths(stateDirectory);
      }
    },
    180_000,
  );
});

describe("a CLI killed with SIGKILL", () => {
  it("leaves a sandbox that the next provider start reaps once its ttl has passed", async () => {
    const directory = temporaryDirectory("sandport-cleanup-cli");
    const stateDirectory = join(directory, "state");
    const configPath = join(directory, "sandport.json");
    // Sandboxes run as another uid and must reach the state directory.
    chmodSync(directory, 0o755);
    writeFileSync(
      configPath,
      JSON.stringify({ default: "local", providers: { local: { type: "local", stateDirectory } } }),
    );
    const marker = uniqueName("sandport-cli-killed");
    const watcher = createLocalProvider({ stateDirectory });
    const cli = spawn(
      process.execPath,
      [
        "--conditions=@sandport/source",
        join(process.cwd(), "packages/cli/src/main.ts"),
        "run",
        "--provider",
        "local",
        "-e",
        `sleep 30; : ${marker}`,
      ],
      {
        cwd: directory,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SANDPORT_CONFIG: configPath },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let cliOutput = "";
    cli.stdout.on("data", (chunk: Buffer) => (cliOutput += chunk));
    cli.stderr.on("data", (chunk: Buffer) => (cliOutput += chunk));
    const cliExited = new Promise<void>((resolve) => cli.on("close", () => resolve()));
    let sandboxId: string | undefined;
    try {
      // The sandbox exists and its command runs.
      sandboxId = await withDeadline(
        (async () => {
          for (;;) {
            const ids = await listedIds(watcher);
            if (ids.length > 0 && processesWithMarker(marker).length > 0) return ids[0] as string;
            if (cli.exitCode !== null) throw new Error(`the CLI exited early: ${cliOutput}`);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })(),
        60_000,
        "the CLI's sandbox to start",
      );
      cli.kill("SIGKILL");
      await withDeadline(cliExited, 10_000, "the CLI to die");
      expect(await waitForNoProcesses(marker, 5_000), "sandbox processes outlived the CLI").toEqual([]);
      // A provider started a day later (its clock moved on; any sane one-shot ttl has passed) reaps it.
      const script = `
        const shift = 25 * 60 * 60 * 1000;
        const RealDate = Date;
        globalThis.Date = class extends RealDate {
          constructor(...args) { if (args.length === 0) super(RealDate.now() + shift); else super(...args); }
          static now() { return RealDate.now() + shift; }
        };
        const { createLocalProvider } = await import("@sandport/local");
        const provider = createLocalProvider({ stateDirectory: ${JSON.stringify(stateDirectory)} });
        const ids = [];
        for await (const info of provider.list()) ids.push(info.id);
        console.log(JSON.stringify(ids));`;
      const later = await runNodeScript(script, {
        deadlineMs: 60_000,
        label: "a provider start a day later",
      });
      expect(later.code, later.stderr).toBe(0);
      expect(JSON.parse(later.stdout), "the killed CLI's sandbox was not reaped after its ttl").not.toContain(
        sandboxId,
      );
      expect(pathsContaining(stateDirectory, vendorIdOf(sandboxId), 12)).toEqual([]);
    } finally {
      cli.kill("SIGKILL");
      await withDeadline(cliExited, 10_000, "the CLI to die").catch(() => {});
      if (sandboxId !== undefined) {
        await outcomeOf(watcher.connect(sandboxId).then((sandbox) => sandbox.destroy()));
      }
      removePaths(directory);
    }
  }, 180_000);
});
