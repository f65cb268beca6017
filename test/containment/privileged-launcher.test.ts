/**
 * Class 1: request data must never reach the privileged host-side launcher. A request's `env`
 * (PATH, LD_PRELOAD, BASH_ENV, NODE_OPTIONS, …) points at files prepared inside the sandbox; the
 * host side must not run them (no marker appears in a host directory only the host can reach),
 * nothing in the launch chain inside may load them with privileges, and the command itself
 * still gets exactly the env it asked for.
 */
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecResult } from "@sandport/core";
import type { LocalSandbox } from "@sandport/local";
import { createLocalProvider } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  asOrdinaryUser,
  launchIsolations,
  ordinaryUserAvailable,
  outcomeOf,
  removePaths,
  runNodeScript,
  temporaryDirectory,
  withDeadline,
} from "./containment-support.ts";
import {
  attackEnvironment,
  type EvilKit,
  installEvilKit,
  launchChainPrograms,
  parseEnv,
  prepareEvilKit,
  writeEvilKitToHost,
} from "./evil-files.ts";

const isolations = await launchIsolations();

/** What the host marker directory holds: any line is code from the request that ran on the host. */
function hostHits(markerDirectory: string): string {
  const hits = join(markerDirectory, "hits");
  const listing = readdirSync(markerDirectory);
  return [
    ...(listing.length > 0 ? [`marker directory holds: ${listing.join(", ")}`] : []),
    ...(existsSync(hits) ? [readFileSync(hits, "utf8")] : []),
  ].join("\n");
}

/** Empties the marker directory, so each attack is judged on its own. */
function clearMarkers(markerDirectory: string): void {
  for (const entry of readdirSync(markerDirectory)) removePaths(join(markerDirectory, entry));
}

/** A directory the sandbox uid (or any user) can write to, but that no sandbox can see. */
function markerDirectoryFor(prefix: string): string {
  const directory = temporaryDirectory(prefix);
  chmodSync(directory, 0o777);
  return directory;
}

async function readText(sandbox: LocalSandbox, path: string): Promise<string> {
  const outcome = await outcomeOf(sandbox.readFile(path));
  return outcome.ok ? new TextDecoder().decode(outcome.value) : "";
}

/** Checks one attack: nothing on the host, nothing privileged inside, env delivered to the command. */
async function checkAttack(
  sandbox: LocalSandbox,
  kit: EvilKit,
  env: Record<string, string>,
  hostEvilDirectories: string[],
  run: (argv: string[]) => Promise<ExecResult>,
): Promise<void> {
  await sandbox.exec(["/bin/rm", "-f", "path-hits", "preload-hits"]);
  clearMarkers(kit.markerDirectory);
  // The command by absolute path, so no shell or script stands between it and its env.
  const outcome = await outcomeOf(withDeadline(run(["/usr/bin/env"]), 60_000, "exec with an attacking env"));
  // Before anything else: no request-prepared code ran on the host.
  expect(hostHits(kit.markerDirectory), "request env ran code on the host").toBe("");
  if (!outcome.ok) {
    // Refusing such an env is a clean failure; a launch failure is not.
    expect(outcome.code, outcome.message).toBe("invalid_request");
    return;
  }
  const result = outcome.value;
  // A host loader that tried the junk or real library under a host path reports it on stderr.
  for (const directory of hostEvilDirectories) {
    const hostLoaderLines = result.stderr
      .split("\n")
      .filter((line) => line.includes(join(directory, "preload.so")) && /ELF|too short/.test(line));
    expect(hostLoaderLines, "a host-side loader opened the request's LD_PRELOAD").toEqual([]);
  }
  expect(result.exitCode, `stderr: ${result.stderr}`).toBe(0);
  const seen = parseEnv(result.stdout);
  for (const [name, value] of Object.entries(env)) {
    expect(seen.get(name), `${name} inside the sandbox`).toBe(value);
  }
  if (kit.realPreload) {
    const loads = (await readText(sandbox, "preload-hits")).split("\n").filter((line) => line !== "");
    // LD_PRELOAD reached the command, and nothing privileged or part of the launch chain loaded it.
    expect(loads.length, "the command itself loads LD_PRELOAD").toBeGreaterThan(0);
    for (const line of loads) {
      expect(line, "a process with capabilities loaded the request's LD_PRELOAD").toMatch(
        /caps=0000000000000000 /,
      );
      const exe =
        line
          .slice(line.indexOf("exe=") + 4)
          .split("/")
          .at(-1) ?? "";
      expect(launchChainPrograms.has(exe), `launch-chain program ${exe} loaded LD_PRELOAD: ${line}`).toBe(
        false,
      );
    }
  }
  // PATH reached the command: a program named by PATH lookup is the one in /workspace/evil.
  clearMarkers(kit.markerDirectory);
  const lookedUp = await withDeadline(run(["true"]), 60_000, "exec through PATH");
  expect(hostHits(kit.markerDirectory), "request PATH ran code on the host").toBe("");
  expect(lookedUp.exitCode, lookedUp.stderr).toBe(0);
  expect(await readText(sandbox, "path-hits")).toContain("true");
}

describe.each(isolations)("request env never reaches the launch chain (%s)", (isolation) => {
  const stateDirectory = temporaryDirectory(`sandport-launcher-${isolation}`);
  const buildDirectory = temporaryDirectory("sandport-launcher-build");
  const markerDirectory = markerDirectoryFor("sandport-launcher-marker");
  const provider = createLocalProvider({ isolation, stateDirectory });
  let kit: EvilKit;
  let holder: LocalSandbox | undefined;
  let hostEvilDirectories: string[] = [];

  beforeAll(async () => {
    kit = prepareEvilKit(markerDirectory, buildDirectory);
    holder = await withDeadline(provider.create({}), 30_000, "create the holder sandbox");
    hostEvilDirectories = await installEvilKit(holder, kit, stateDirectory);
  }, 60_000);

  afterAll(async () => {
    await holder?.destroy().catch(() => {});
    removePaths(stateDirectory, buildDirectory, markerDirectory);
  });

  it("exec-time env: nothing runs on the host, nothing privileged loads it, the command sees it", async () => {
    const env = attackEnvironment(hostEvilDirectories);
    await checkAttack(holder as LocalSandbox, kit, env, hostEvilDirectories, (argv) =>
      (holder as LocalSandbox).exec(argv, { env }),
    );
  }, 90_000);

  it("create-time env: nothing runs on the host, nothing privileged loads it, the command sees it", async () => {
    const env = attackEnvironment(hostEvilDirectories);
    let target: LocalSandbox | undefined;
    clearMarkers(markerDirectory);
    try {
      const created = await outcomeOf(withDeadline(provider.create({ env }), 30_000, "create with env"));
      expect(hostHits(markerDirectory), "request env ran code on the host during create").toBe("");
      if (!created.ok) {
        expect(created.code, created.message).toBe("invalid_request");
        return;
      }
      target = created.value;
      await installEvilKit(target, kit, stateDirectory);
      expect(
        hostHits(markerDirectory),
        "request env ran code on the host in the sandbox's first commands",
      ).toBe("");
      await checkAttack(target, kit, env, hostEvilDirectories, (argv) => (target as LocalSandbox).exec(argv));
    } finally {
      await target?.destroy().catch(() => {});
    }
  }, 90_000);

  it("launches with a request PATH that names no launcher tool", async () => {
    const result = await withDeadline(
      (holder as LocalSandbox).exec(["/usr/bin/env"], { env: { PATH: "/nonexistent" } }),
      60_000,
      "exec with PATH=/nonexistent",
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(parseEnv(result.stdout).get("PATH")).toBe("/nonexistent");
  }, 90_000);

  it("a cwd and argv naming the evil files change nothing on the host", async () => {
    const sandbox = holder as LocalSandbox;
    clearMarkers(markerDirectory);
    const result = await withDeadline(
      sandbox.exec(["sh", "-c", 'echo "$0 $1"; pwd', "--", "$(touch /tmp/x)"], {
        cwd: "evil",
        env: attackEnvironment(hostEvilDirectories),
      }),
      60_000,
      "exec with evil cwd",
    );
    expect(hostHits(markerDirectory), "request data ran code on the host").toBe("");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe("-- $(touch /tmp/x)\n/workspace/evil\n");
  }, 90_000);
});

describe("request env never reaches the launch chain, run by an ordinary user", () => {
  // The non-root path: the launch chain runs as the user, with the user's whole view of the host.
  it.skipIf(!ordinaryUserAvailable)(
    "(needs root, setpriv and a checkout other users can read) runs nothing from LD_PRELOAD or PATH on the host",
    async () => {
      const directory = temporaryDirectory("sandport-launcher-user");
      const markerDirectory = markerDirectoryFor("sandport-launcher-user-marker");
      try {
        chmodSync(directory, 0o755);
        const kit = prepareEvilKit(markerDirectory, directory);
        const hostEvil = writeEvilKitToHost(kit, join(directory, "kit"));
        const env = attackEnvironment([hostEvil]);
        const stateDirectory = join(directory, "state");
        const script = `
          import { mkdirSync } from "node:fs";
          import { createLocalProvider } from "@sandport/local";
          mkdirSync(${JSON.stringify(stateDirectory)}, { recursive: true });
          const provider = createLocalProvider({ stateDirectory: ${JSON.stringify(stateDirectory)} });
          const env = ${JSON.stringify(env)};
          const report = {};
          for (const [name, run] of [
            ["create", async () => { const s = await provider.create({ env }); try { return await s.exec(["/usr/bin/env"]); } finally { await s.destroy(); } }],
            ["exec", async () => { const s = await provider.create({}); try { return await s.exec(["/usr/bin/env"], { env }); } finally { await s.destroy(); } }],
          ]) {
            try { report[name] = { ok: true, result: await run() }; }
            catch (error) { report[name] = { ok: false, code: error.code, message: String(error) }; }
          }
          console.log(JSON.stringify(report));`;
        chmodSync(directory, 0o777);
        const outcome = await runNodeScript(script, {
          prefix: asOrdinaryUser,
          deadlineMs: 60_000,
          label: "ordinary-user launcher attack",
        });
        expect(hostHits(markerDirectory), "request env ran code on the host as the user").toBe("");
        expect(outcome.code, outcome.stderr).toBe(0);
        const report = JSON.parse(outcome.stdout) as Record<
          string,
          {
            ok: boolean;
            code?: string;
            message?: string;
            result?: { exitCode: number; stdout: string; stderr: string };
          }
        >;
        for (const [name, entry] of Object.entries(report)) {
          if (!entry.ok) {
            expect(entry.code, `${name}: ${entry.message}`).toBe("invalid_request");
            continue;
          }
          expect(entry.result?.exitCode, `${name}: ${entry.result?.stderr}`).toBe(0);
          expect(parseEnv(entry.result?.stdout ?? "").get("LD_PRELOAD"), name).toBe(env.LD_PRELOAD);
        }
      } finally {
        removePaths(directory, markerDirectory);
      }
    },
    90_000,
  );
});
