/**
 * The CLI loads only what a command uses: `--help`, `providers` and a run on `local` never load
 * the isolate engine's dependencies (miniflare, workerd, the TypeScript stripper). Checked on the
 * module graph, with a resolve hook that records every module the process loads, not by timing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const cliEntry = resolve("packages/cli/bin/sandport.js");
const directory = mkdtempSync(join(tmpdir(), "sandport-module-graph-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A preload that appends every resolved module URL to the file named by SANDPORT_MODULE_LOG. */
const hook = join(directory, "record-modules.mjs");
writeFileSync(
  hook,
  `import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    appendFileSync(process.env.SANDPORT_MODULE_LOG, resolved.url + "\\n");
    return resolved;
  },
});
`,
);

/** Runs the CLI with `argv` and returns the modules it loaded. */
function modulesLoadedBy(argv: string[], name: string): string[] {
  const log = join(directory, `${name}.log`);
  writeFileSync(log, "");
  const result = spawnSync(process.execPath, ["--import", pathToFileURL(hook).href, cliEntry, ...argv], {
    cwd: directory,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, SANDPORT_MODULE_LOG: log, SANDPORT_CONFIG: "" },
  });
  expect(result.status, `sandport ${argv.join(" ")} failed: ${result.stderr}`).toBe(0);
  return readFileSync(log, "utf8").trim().split("\n");
}

const engineModules = /\/node_modules\/(miniflare|workerd|amaro)\//;
const adapterModules = /\/packages\/(cloudflare|daytona|vercel|modal)\/dist\/[a-z-]+-provider\.js$/;
const vendorSdks = /\/node_modules\/(@daytonaio|@vercel\/sandbox|modal)\//;

describe("the CLI's module graph", () => {
  it("loads no isolate engine for --help", () => {
    const loaded = modulesLoadedBy(["--help"], "help");
    expect(loaded.filter((url) => engineModules.test(url))).toEqual([]);
  });

  it("loads no isolate engine, no adapter and no vendor SDK for providers", () => {
    const loaded = modulesLoadedBy(["providers"], "providers");
    expect(loaded.filter((url) => engineModules.test(url))).toEqual([]);
    // Capabilities come from each type's light description, next to its settings schema.
    expect(loaded.filter((url) => adapterModules.test(url) || vendorSdks.test(url))).toEqual([]);
  });

  it("loads no vendor adapter or SDK for a run the router sends to local", () => {
    const loaded = modulesLoadedBy(["run", "--lang", "python", "-e", "print(1)"], "routed");
    expect(loaded.some((url) => url.includes("/packages/cli/dist/executable/"))).toBe(true);
    expect(
      loaded.filter((url) => engineModules.test(url) || adapterModules.test(url) || vendorSdks.test(url)),
    ).toEqual([]);
  });

  it("loads no isolate engine for a run on local", () => {
    const loaded = modulesLoadedBy(["exec", "--provider", "local", "--", "/bin/true"], "local");
    expect(loaded.some((url) => url.includes("/packages/local/"))).toBe(true);
    expect(loaded.filter((url) => engineModules.test(url))).toEqual([]);
  });

  it("runs from the bundled executable: a run on local loads a few dozen modules, not hundreds", () => {
    const loaded = modulesLoadedBy(["exec", "--provider", "local", "--", "/bin/true"], "bundle");
    const files = loaded.filter((url) => url.startsWith("file:"));
    // The bundle, a few third-party modules kept outside it, and two package.json files.
    expect(files.filter((url) => url.includes("/packages/cli/dist/executable/")).length).toBeGreaterThan(0);
    expect(files.filter((url) => /\/node_modules\/zod\//.test(url))).toEqual([]);
    expect(files.length, files.join("\n")).toBeLessThan(40);
  });

  it("does load the engine when a run needs an isolate (the check can see it)", () => {
    const loaded = modulesLoadedBy(["run", "--lang", "js", "-e", "console.log(1)"], "isolate");
    expect(loaded.some((url) => /\/node_modules\/miniflare\//.test(url))).toBe(true);
  });
});
