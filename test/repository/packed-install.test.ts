/**
 * What a separate project gets from `npm pack`: the tarballs of every publishable package,
 * installed side by side in a temporary project, import and run at run time and type-check with
 * the published `.d.ts` files (no source condition). Needs the built `dist/` (`npm test` builds).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWorkspacePackages } from "./workspace-packages.ts";

const repositoryModules = resolve("node_modules");
const consumer = mkdtempSync(join(tmpdir(), "sandport-packed-consumer-"));

/**
 * The module specifiers a package's exports map offers to JavaScript (`"@sandport/core/node"`),
 * skipping data files such as `./package.json`.
 */
function exportedModuleSpecifiers(name: string, exportsMap: unknown): string[] {
  if (typeof exportsMap !== "object" || exportsMap === null) return [name];
  return Object.entries(exportsMap as Record<string, unknown>)
    .filter(([, target]) => {
      const published =
        typeof target === "string" ? target : (target as { default?: unknown } | null)?.default;
      return typeof published === "string" && /\.[cm]?js$/.test(published);
    })
    .map(([subpath]) => (subpath === "." ? name : `${name}${subpath.slice(1)}`))
    .sort();
}

beforeAll(() => {
  const modules = join(consumer, "node_modules");
  mkdirSync(join(modules, "@sandport"), { recursive: true });
  const tarballs = join(consumer, "tarballs");
  mkdirSync(tarballs);
  for (const { directory, manifest } of readWorkspacePackages()) {
    if (manifest.private === true) continue;
    const output = execFileSync(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", tarballs],
      {
        cwd: directory,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const [packed] = JSON.parse(output) as { filename: string }[];
    const target = join(modules, manifest.name as string);
    mkdirSync(target, { recursive: true });
    execFileSync("tar", [
      "-xzf",
      join(tarballs, (packed as { filename: string }).filename),
      "-C",
      target,
      "--strip-components=1",
    ]);
    // A dependency npm nested under the package (a version other than the root's) stays its own.
    const nested = join(directory, "node_modules");
    if (existsSync(nested)) {
      mkdirSync(join(target, "node_modules"), { recursive: true });
      for (const entry of readdirSync(nested)) {
        if (entry !== ".bin") symlinkSync(join(nested, entry), join(target, "node_modules", entry));
      }
    }
  }
  // Third-party dependencies come from the repository's install (the test must not reach a registry).
  for (const entry of readdirSync(repositoryModules)) {
    // Packed workspace packages (the unscoped `sandport` among them) are already in place.
    if (entry === "@sandport" || entry === ".bin" || existsSync(join(modules, entry))) continue;
    symlinkSync(join(repositoryModules, entry), join(modules, entry));
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2024",
        lib: ["es2024", "esnext.disposable"],
        module: "nodenext",
        strict: true,
        noEmit: true,
        types: ["node"],
        allowImportingTsExtensions: true,
      },
      include: ["consumer.ts"],
    }),
  );
  writeFileSync(
    join(consumer, "consumer.ts"),
    `import { type SandboxProvider, SandportError, withSandbox } from "@sandport/core";
import { loadConfigFile } from "@sandport/core/node";
import { describeProviderContract } from "@sandport/contract";
import { defaultConfig, defaultRegistry } from "@sandport/cli";
import { createLocalProvider } from "@sandport/local";
import { createCloudflareIsolateProvider } from "@sandport/cloudflare";

const registry = defaultRegistry();
const { config } = loadConfigFile({ registry, fallback: defaultConfig, cwd: "/nonexistent" });
const provider: SandboxProvider = createLocalProvider();
const stdout: string = await withSandbox(provider, {}, async (sandbox) => (await sandbox.exec(["echo", "packed"])).stdout);
// The isolate provider runs its bridge Worker from the worker/ folder shipped in the tarball.
const isolate = createCloudflareIsolateProvider();
const value: unknown = await withSandbox(isolate, {}, async (sandbox) => (await sandbox.runCode?.("return 6 * 7", { language: "typescript" }))?.value);
console.log(JSON.stringify({
  stdout: stdout.trim(),
  value,
  providers: Object.keys(config.providers),
  brand: SandportError.isInstance(new Error("x")),
  contract: typeof describeProviderContract,
}));
`,
  );
}, 60_000);

afterAll(() => rmSync(consumer, { recursive: true, force: true }));

describe("packed packages in a separate project", () => {
  it("import and run from the tarballs", () => {
    const output = execFileSync(process.execPath, ["consumer.ts"], { cwd: consumer, encoding: "utf8" });
    expect(JSON.parse(output)).toEqual({
      stdout: "packed",
      value: 42,
      providers: ["edge", "local"],
      brand: false,
      contract: "function",
    });
  });

  it("load every module each package exports, from the tarballs", () => {
    const specifiers = readWorkspacePackages()
      .filter(({ manifest }) => manifest.private !== true)
      .flatMap(({ manifest }) => exportedModuleSpecifiers(manifest.name, manifest.exports));
    expect(specifiers).toContain("@sandport/core");
    writeFileSync(
      join(consumer, "load-all.mjs"),
      `const failures = [];
for (const specifier of ${JSON.stringify(specifiers)}) {
  try {
    const module = await import(specifier);
    if (Object.keys(module).length === 0) failures.push(specifier + ": exports nothing");
  } catch (error) {
    failures.push(specifier + ": " + error.message);
  }
}
console.log(JSON.stringify(failures));
`,
    );
    const output = execFileSync(process.execPath, ["load-all.mjs"], { cwd: consumer, encoding: "utf8" });
    expect(JSON.parse(output)).toEqual([]);
  });

  it("type-check against the published declarations", () => {
    const tsc = join(repositoryModules, "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: consumer,
      encoding: "utf8",
    });
    // The diagnostics are the failure message, so a broken declaration names itself.
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });
});
