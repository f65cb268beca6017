/**
 * What a team deploys is what the tests run: the isolate Worker bundles with `wrangler deploy
 * --dry-run` (offline, no account) from the same sources miniflare loads in local mode.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isolateWorkerDirectory, isolateWorkerModules } from "./isolate-worker.ts";

const scratch = mkdtempSync(join(tmpdir(), "sandport-isolate-worker-deploy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const wranglerEntry = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);

describe("the isolate Worker", () => {
  it("bundles with wrangler deploy --dry-run, exporting the Worker, its Durable Object and its outbound gate", () => {
    // A copy of exactly what the package ships (wrangler writes a .wrangler folder next to its config).
    const packageCopy = join(scratch, "package");
    const workerCopy = join(packageCopy, "worker");
    cpSync(join(isolateWorkerDirectory, "src"), join(workerCopy, "src"), { recursive: true });
    cpSync(join(isolateWorkerDirectory, "wrangler.jsonc"), join(workerCopy, "wrangler.jsonc"));
    mkdirSync(join(packageCopy, "src", "isolate"), { recursive: true });
    const shipped = JSON.parse(readFileSync(join(isolateWorkerDirectory, "..", "package.json"), "utf8")) as {
      files: string[];
    };
    // The package's own sources the Worker imports ship by name in package.json's `files`.
    for (const file of shipped.files.filter((entry) => entry.startsWith("src/"))) {
      cpSync(join(isolateWorkerDirectory, "..", file), join(packageCopy, file));
    }
    const outdir = join(scratch, "bundle");
    const result = spawnSync(
      process.execPath,
      [
        wranglerEntry,
        "deploy",
        "--dry-run",
        "--config",
        join(workerCopy, "wrangler.jsonc"),
        "--outdir",
        outdir,
      ],
      {
        cwd: workerCopy,
        encoding: "utf8",
        timeout: 120_000,
        env: {
          PATH: process.env.PATH,
          HOME: join(scratch, "home"),
          CI: "true",
          // No banner means no update check against the npm registry; no telemetry either.
          WRANGLER_HIDE_BANNER: "true",
          WRANGLER_SEND_METRICS: "false",
        },
      },
    );
    expect(result.status, `wrangler failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("env.LOADER");
    expect(result.stdout).toContain("Worker Loader");
    expect(result.stdout).toContain("env.SANDBOXES (SandboxObject)");
    expect(result.stdout).toContain("env.SANDBOX_INDEX (SandboxIndex)");
    const bundle = readFileSync(join(outdir, "index.js"), "utf8");
    expect(bundle).toMatch(/export\s*\{[^}]*\bOutboundGate\b[^}]*\}/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bSandboxObject\b[^}]*\}/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bSandboxIndex\b[^}]*\}/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bdefault\b[^}]*\}/);
  });

  it("gives local mode every source file of the Worker, types stripped, entry first", () => {
    const modules = isolateWorkerModules();
    expect(modules[0]?.path).toBe(join(isolateWorkerDirectory, "src", "index.ts"));
    for (const module of modules) {
      expect(module.contents).not.toMatch(/import type|: IsolateWorkerEnv\b/);
    }
    const names = modules.map((module) => module.path.slice(module.path.lastIndexOf("/") + 1)).sort();
    expect(names).toContain("sandbox-object.ts");
    expect(names).toContain("runner-module.ts");
    // The egress policy the gate shares with Node comes along, under the name its import resolves to.
    expect(modules.map((module) => module.path)).toContain(
      join(isolateWorkerDirectory, "..", "src", "isolate", "egress-policy.ts"),
    );
  });
});
