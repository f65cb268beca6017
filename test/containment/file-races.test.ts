/**
 * Class 2: file operations must never be performed by the host on a path the sandbox controls.
 * A running command swaps a directory for a symlink under `writeFile`; `readFile` meets FIFOs,
 * sockets, device nodes, symlinked directories and huge sparse files. Every outcome is checked
 * on the host: canary directories keep their contents and owners, host FIFOs are never opened,
 * the host process stays responsive and its memory bounded.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { ExecResult } from "@sandport/core";
import { createLocalProvider, type LocalSandbox } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findHostPaths,
  measurePeakRssGrowth,
  outcomeOf,
  removePaths,
  runningAsRoot,
  temporaryDirectory,
  uniqueName,
  withDeadline,
} from "./containment-support.ts";

const stateDirectory = temporaryDirectory("sandport-file-races");
// fileSizeMb: large enough that a command can make a 50 GiB sparse file.
const provider = createLocalProvider({ stateDirectory, fileSizeMb: 60_000 });
const mebibyte = 1024 * 1024;

afterAll(() => removePaths(stateDirectory));

function ownerAndMode(path: string): string {
  const stats = lstatSync(path);
  return `${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8)}`;
}

async function shell(sandbox: LocalSandbox, script: string): Promise<ExecResult> {
  const result = await withDeadline(sandbox.exec({ shell: script }), 30_000, `exec ${script}`);
  if (result.exitCode !== 0) throw new Error(`${script} failed (${result.exitCode}): ${result.stderr}`);
  return result;
}

describe("writeFile while the sandbox swaps a parent directory for a symlink", () => {
  let sandbox: LocalSandbox | undefined;
  const canary = temporaryDirectory("sandport-race-canary");
  const name = uniqueName("sandport-race");
  const leaf = `${name}.txt`;
  const directoryName = `${name}-dir`;
  const existing = `${name}-existing`;
  // Where a write that followed a link to the host's / would land.
  const hostRootLeaks = [`/${leaf}`, `/${directoryName}`, `/${existing}`];

  beforeAll(async () => {
    chmodSync(canary, 0o755);
    writeFileSync(join(canary, existing), "canary-content", { mode: 0o644 });
    sandbox = await withDeadline(provider.create({}), 30_000, "create");
  }, 60_000);

  afterAll(async () => {
    await sandbox?.destroy().catch(() => {});
    removePaths(canary, ...hostRootLeaks);
  });

  it("creates nothing and chowns nothing outside the workspace, after many attempts", async () => {
    const box = sandbox as LocalSandbox;
    const canaryBefore = { directory: ownerAndMode(canary), file: ownerAndMode(join(canary, existing)) };
    // Link targets: the host's /, a host directory by absolute path, and the same by a relative
    // path climbing out of wherever the workspace sits on the host.
    const targets = ["/", canary, `${"../".repeat(40)}${canary.slice(1)}`];
    const flipper = `
      const fs = require("node:fs");
      const targets = ${JSON.stringify(targets)};
      fs.writeFileSync("flipper-started", "yes");
      let flips = 0;
      for (;;) {
        const target = targets[flips % targets.length];
        try { fs.rmSync("a", { recursive: true, force: true }); } catch {}
        try { fs.mkdirSync("a"); } catch {}
        try { fs.rmSync("a", { recursive: true, force: true }); } catch {}
        try { fs.symlinkSync(target, "a"); } catch {}
        flips++;
        if (flips % 200 === 0 && fs.existsSync("flipper-stop")) break;
      }
      fs.writeFileSync("flipper-count", String(flips));`;
    const controller = new AbortController();
    // Started in the background: the race runs while the host writes.
    const running = box
      .exec(["node", "-e", flipper], { timeoutMs: 120_000, signal: controller.signal })
      .catch((error: unknown) => error);
    const outcomes = new Map<string, number>();
    try {
      await withDeadline(
        (async () => {
          while (!(await outcomeOf(box.readFile("flipper-started"))).ok) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        30_000,
        "the flipper to start",
      );
      const paths = [`a/${leaf}`, `a/${directoryName}/${leaf}`, `a/${existing}`];
      for (let attempt = 0; attempt < 600; attempt++) {
        const path = paths[attempt % paths.length] as string;
        const outcome = await withDeadline(
          outcomeOf(box.writeFile(path, "written-by-host-call")),
          10_000,
          `writeFile ${path}`,
        );
        const key = outcome.ok ? "ok" : outcome.code;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      await box.writeFile("flipper-stop", "");
      const flipped = await withDeadline(running, 30_000, "the flipper to stop");
      expect((flipped as ExecResult).exitCode, String((flipped as ExecResult).stderr)).toBe(0);
      expect(Number(new TextDecoder().decode(await box.readFile("flipper-count")))).toBeGreaterThan(0);
    } finally {
      controller.abort();
      await withDeadline(running, 30_000, "the flipper to end").catch(() => {});
    }
    // On the host: the canary holds what it held, owned as before; nothing landed in /.
    expect(readdirSync(canary), `writeFile outcomes: ${JSON.stringify([...outcomes])}`).toEqual([existing]);
    expect(readFileSync(join(canary, existing), "utf8")).toBe("canary-content");
    expect({ directory: ownerAndMode(canary), file: ownerAndMode(join(canary, existing)) }).toEqual(
      canaryBefore,
    );
    expect(
      hostRootLeaks.filter((path) => existsSync(path)),
      "files written into the host's /",
    ).toEqual([]);
    // Every failure is a clean, typed refusal.
    for (const code of outcomes.keys()) {
      expect(["ok", "invalid_request", "not_found", "permission_denied"]).toContain(code);
    }
  }, 240_000);
});

describe("readFile of special files", () => {
  let sandbox: LocalSandbox | undefined;

  beforeAll(async () => {
    sandbox = await withDeadline(provider.create({}), 30_000, "create");
  }, 60_000);

  afterAll(async () => {
    await sandbox?.destroy().catch(() => {});
  });

  it("refuses a FIFO at once, and the host's event loop keeps running meanwhile", async () => {
    const box = sandbox as LocalSandbox;
    await shell(box, "mkfifo fifo");
    let settled = false;
    const reading = outcomeOf(box.readFile("fifo")).finally(() => {
      settled = true;
    });
    try {
      // The host answers a timer while the read is pending (or after it was refused).
      const timerFired = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 10));
      expect(await withDeadline(timerFired, 10_000, "a host timer during readFile(fifo)")).toBe(true);
      const outcome = await withDeadline(reading, 10_000, "readFile of a FIFO");
      expect(outcome.ok ? "read a FIFO" : outcome.code).toBe("invalid_request");
    } finally {
      if (!settled) {
        // A host thread blocked in open(fifo): give it a writer so it returns.
        await box.exec({ shell: "exec 3<>fifo; sleep 0.2" }, { timeoutMs: 5_000 }).catch(() => {});
        await withDeadline(reading, 10_000, "the blocked FIFO read to end").catch(() => {});
      }
    }
  }, 60_000);

  it("refuses a Unix socket", async () => {
    const box = sandbox as LocalSandbox;
    await shell(
      box,
      `node -e 'require("node:net").createServer().listen("sock", () => process.exit(0))' && test -S sock`,
    );
    const outcome = await withDeadline(outcomeOf(box.readFile("sock")), 10_000, "readFile of a socket");
    expect(outcome.ok ? "read a socket" : outcome.code).toBe("invalid_request");
  }, 60_000);

  it("refuses device files by absolute path and through a link", async () => {
    const box = sandbox as LocalSandbox;
    for (const path of ["/dev/null", "/dev/zero", "/workspace/../dev/zero"]) {
      const outcome = await withDeadline(outcomeOf(box.readFile(path)), 10_000, `readFile ${path}`);
      expect(outcome.ok ? `read ${path}` : outcome.code, path).toBe("invalid_request");
    }
    await shell(box, "ln -s /dev/zero zero-link && ln -s /dev/urandom random-link");
    for (const path of ["zero-link", "random-link"]) {
      const { outcome, growthBytes } = await measurePeakRssGrowth(() =>
        withDeadline(box.readFile(path), 10_000, `readFile ${path}`),
      );
      expect(outcome.ok ? `read ${path}` : outcome.code, path).toMatch(/^(invalid_request|output_limit)$/);
      expect(growthBytes, `host memory growth reading ${path}`).toBeLessThan(200 * mebibyte);
    }
  }, 60_000);

  it.skipIf(!runningAsRoot)(
    "(needs root to mknod on the host) refuses a character device node placed in the workspace",
    async () => {
      const box = sandbox as LocalSandbox;
      const locator = uniqueName("sandport-device-locator");
      await box.writeFile(locator, "");
      const [hostPath] = findHostPaths(stateDirectory, locator);
      if (hostPath === undefined) {
        // The workspace is no host directory here: a host-made node cannot get into it this way.
        return;
      }
      const device = join(dirname(hostPath), "zero-device");
      const made = spawnSync("mknod", ["-m", "666", device, "c", "1", "5"], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      const { outcome, growthBytes } = await measurePeakRssGrowth(() =>
        withDeadline(box.readFile("zero-device"), 10_000, "readFile of a device node"),
      );
      expect(outcome.ok ? "read a device node" : outcome.code).toMatch(/^(invalid_request|output_limit)$/);
      expect(growthBytes, "host memory growth reading a device node").toBeLessThan(200 * mebibyte);
    },
    60_000,
  );
});

describe("readFile and writeFile through a symlinked directory", () => {
  let sandbox: LocalSandbox | undefined;
  const secret = temporaryDirectory("sandport-race-secret");
  const hostFifo = join(secret, "fifo");

  beforeAll(async () => {
    chmodSync(secret, 0o755);
    writeFileSync(join(secret, "secret.txt"), "host-secret-content", { mode: 0o644 });
    const made = spawnSync("mkfifo", ["-m", "666", hostFifo], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`mkfifo on the host failed: ${made.stderr}`);
    sandbox = await withDeadline(provider.create({}), 30_000, "create");
    await shell(
      sandbox,
      `ln -s ${secret} dir && ln -s / rootdir && ln -s /root rootlink && ln -s ${"../".repeat(40)}${secret.slice(1)} reldir`,
    );
  }, 60_000);

  afterAll(async () => {
    await sandbox?.destroy().catch(() => {});
    removePaths(secret);
  });

  it("never returns host content through a link to a host directory", async () => {
    const box = sandbox as LocalSandbox;
    const hostname = existsSync("/etc/hostname") ? readFileSync("/etc/hostname", "utf8") : undefined;
    for (const path of ["dir/secret.txt", "reldir/secret.txt", "rootdir/etc/hostname", "rootlink/.profile"]) {
      const outcome = await withDeadline(outcomeOf(box.readFile(path)), 10_000, `readFile ${path}`);
      if (outcome.ok) {
        const text = new TextDecoder().decode(outcome.value);
        expect(text, path).not.toContain("host-secret-content");
        if (hostname !== undefined) expect(text, path).not.toBe(hostname);
      }
      expect(outcome.ok ? `read ${path}` : outcome.code, path).toMatch(/^(invalid_request|not_found)$/);
    }
  }, 60_000);

  it("never opens a host file through a link (a host FIFO gets no reader)", async () => {
    const box = sandbox as LocalSandbox;
    for (const path of ["dir/fifo", "reldir/fifo"]) {
      let settled = false;
      const reading = outcomeOf(box.readFile(path)).finally(() => {
        settled = true;
      });
      let hostOpened = false;
      await withDeadline(
        (async () => {
          while (!settled) {
            // Opening a FIFO for writing without blocking succeeds only while someone reads it.
            try {
              closeSync(openSync(hostFifo, constants.O_WRONLY | constants.O_NONBLOCK));
              hostOpened = true;
            } catch {
              // ENXIO: no reader, as it must be
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        })(),
        15_000,
        `readFile ${path} to settle`,
      );
      expect(hostOpened, `${path}: the host opened a file outside the workspace`).toBe(false);
      const outcome = await reading;
      expect(outcome.ok ? `read ${path}` : outcome.code, path).toMatch(/^(invalid_request|not_found)$/);
    }
  }, 60_000);

  it("never writes into a host directory through a link", async () => {
    const box = sandbox as LocalSandbox;
    for (const path of ["dir/new.txt", "reldir/new.txt", "dir/sub/new.txt", "dir/secret.txt"]) {
      const outcome = await withDeadline(outcomeOf(box.writeFile(path, "x")), 10_000, `writeFile ${path}`);
      expect(outcome.ok ? `wrote ${path}` : outcome.code, path).toMatch(/^(invalid_request|not_found)$/);
    }
    expect(readdirSync(secret).sort()).toEqual(["fifo", "secret.txt"]);
    expect(readFileSync(join(secret, "secret.txt"), "utf8")).toBe("host-secret-content");
  }, 60_000);
});

describe("readFile of a file larger than it is", () => {
  let sandbox: LocalSandbox | undefined;

  beforeAll(async () => {
    sandbox = await withDeadline(provider.create({}), 30_000, "create");
  }, 60_000);

  afterAll(async () => {
    await sandbox?.destroy().catch(() => {});
  });

  it.each(["1G", "50G"])(
    "refuses a %s sparse file at once, without the host allocating it",
    async (size) => {
      const box = sandbox as LocalSandbox;
      const made = await shell(box, `truncate -s ${size} sparse-${size} && stat -c %s sparse-${size}`);
      expect(Number(made.stdout.trim())).toBeGreaterThanOrEqual(1024 * mebibyte);
      const { outcome, growthBytes } = await measurePeakRssGrowth(() =>
        withDeadline(box.readFile(`sparse-${size}`), 30_000, `readFile of a ${size} sparse file`),
      );
      expect(outcome.ok ? `read ${size}` : outcome.code).toMatch(/^(output_limit|invalid_request)$/);
      expect(growthBytes, "host memory growth").toBeLessThan(200 * mebibyte);
    },
    90_000,
  );
});
