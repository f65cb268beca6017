/**
 * Importing `@sandport/daytona` loads no Daytona SDK (the AWS SDK and OpenTelemetry come with it):
 * the SDK is imported when a provider first needs a client. Checked on the module graph of a fresh
 * Node process, with a resolve hook that records every module it loads, not by timing.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const sourceDirectory = dirname(fileURLToPath(import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "sandport-daytona-import-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

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

/** Runs `code` (an ES module) in a fresh Node with the source condition; returns the modules it loaded. */
function modulesLoadedBy(code: string, name: string): string[] {
  const log = join(directory, `${name}.log`);
  const script = join(directory, `${name}.mjs`);
  writeFileSync(log, "");
  writeFileSync(script, code);
  const result = spawnSync(
    process.execPath,
    ["--conditions=@sandport/source", "--import", pathToFileURL(hook).href, script],
    { cwd: directory, encoding: "utf8", timeout: 60_000, env: { ...process.env, SANDPORT_MODULE_LOG: log } },
  );
  expect(result.status, `${name} failed: ${result.stderr}`).toBe(0);
  return readFileSync(log, "utf8").trim().split("\n");
}

const sdkModule = /\/node_modules\/@daytonaio\/sdk\//;
const entry = pathToFileURL(join(sourceDirectory, "index.ts")).href;
const loader = pathToFileURL(join(sourceDirectory, "daytona-sdk.ts")).href;

describe("importing @sandport/daytona", () => {
  it("loads no Daytona SDK, and constructing a provider loads none either", () => {
    const loaded = modulesLoadedBy(
      `const daytona = await import(${JSON.stringify(entry)});
daytona.createDaytonaProvider({ apiKey: "unused", target: "us" });`,
      "entry",
    );
    expect(loaded.some((url) => url.endsWith("/packages/daytona/src/index.ts"))).toBe(true);
    expect(loaded.filter((url) => sdkModule.test(url))).toEqual([]);
  });

  it("loads the SDK once a client is needed (the check can see it)", () => {
    const loaded = modulesLoadedBy(
      `const { loadDaytonaSdk } = await import(${JSON.stringify(loader)});
await loadDaytonaSdk();`,
      "client",
    );
    expect(loaded.some((url) => sdkModule.test(url))).toBe(true);
  });
});
