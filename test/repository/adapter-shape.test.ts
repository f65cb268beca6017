/**
 * Every adapter has the same shape, so a reader who knows the provider id can guess every file and
 * export name: `src/<id>-provider.ts` exports `create<Pascal>Provider`, `src/index.ts` re-exports by
 * name, `package.json` exports "." with types, and `./testing` exists when `src/testing/` does.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adapterProviderIds,
  isAdapterPackage,
  type PackageManifest,
  pascalCase,
  readWorkspacePackages,
} from "./workspace-packages.ts";

/** Everything wrong with the adapter in `directory` (provider id `id`); empty when it has the shape. */
async function adapterShapeProblems(directory: string, id: string): Promise<string[]> {
  const problems: string[] = [];
  const pascal = pascalCase(id);
  const factoryName = `create${pascal}Provider`;
  const providerFile = join(directory, "src", `${id}-provider.ts`);
  const indexFile = join(directory, "src", "index.ts");

  if (!existsSync(providerFile)) return [`src/${id}-provider.ts is missing`];
  const providerModule = (await import(pathToFileURL(providerFile).href)) as Record<string, unknown>;
  if (typeof providerModule[factoryName] !== "function") {
    problems.push(`src/${id}-provider.ts does not export a function ${factoryName}`);
  }

  if (!existsSync(indexFile)) {
    problems.push("src/index.ts is missing");
  } else {
    const indexSource = readFileSync(indexFile, "utf8");
    if (/\bexport\s*\*/.test(indexSource)) {
      problems.push("src/index.ts uses `export *`; re-export by name instead");
    }
    if (!new RegExp(`\\b${pascal}ProviderSettings\\b`).test(indexSource)) {
      problems.push(`src/index.ts does not re-export the type ${pascal}ProviderSettings`);
    }
    const indexModule = (await import(pathToFileURL(indexFile).href)) as Record<string, unknown>;
    if (typeof indexModule[factoryName] !== "function") {
      problems.push(`src/index.ts does not export a function ${factoryName}`);
    } else if (indexModule[factoryName] !== providerModule[factoryName]) {
      problems.push(`src/index.ts exports a ${factoryName} that is not the one from src/${id}-provider.ts`);
    }
  }

  const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as PackageManifest;
  const exportsMap = manifest.exports;
  if (typeof exportsMap !== "object" || exportsMap === null || Array.isArray(exportsMap)) {
    problems.push("package.json has no exports map");
  } else {
    const entries = exportsMap as Record<string, unknown>;
    const root = entries["."];
    if (
      typeof root !== "object" ||
      root === null ||
      typeof (root as Record<string, unknown>).types !== "string"
    ) {
      problems.push('package.json exports "." has no "types" condition');
    }
    if (existsSync(join(directory, "src", "testing")) && entries["./testing"] === undefined) {
      problems.push('src/testing/ exists but package.json exports no "./testing" subpath');
    }
  }
  return problems;
}

describe("adapter packages", () => {
  const adapters = readWorkspacePackages().filter(({ directory, directoryName }) =>
    isAdapterPackage(directory, directoryName),
  );

  it("have the common adapter shape", async () => {
    const checked: string[] = [];
    const problems: string[] = [];
    for (const { directory, directoryName } of adapters) {
      for (const id of adapterProviderIds(directory, directoryName)) {
        for (const problem of await adapterShapeProblems(directory, id)) {
          problems.push(`packages/${directoryName} (${id}): ${problem}`);
        }
      }
      checked.push(directoryName);
    }
    expect(problems).toEqual([]);
    // Not vacuous: every adapter found was checked (the checker itself is proven below).
    expect(checked).toEqual(adapters.map((adapter) => adapter.directoryName));
  });
});

describe("adapterShapeProblems", () => {
  let root: string;

  function writeFixture(name: string, files: Record<string, string>): string {
    const directory = join(root, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(directory, path, ".."), { recursive: true });
      writeFileSync(join(directory, path), content);
    }
    return directory;
  }

  const goodManifest = JSON.stringify({
    name: "@sandport/acme-cloud",
    type: "module",
    exports: {
      ".": { "@sandport/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./testing": {
        "@sandport/source": "./src/testing/index.ts",
        types: "./dist/testing/index.d.ts",
        default: "./dist/testing/index.js",
      },
    },
  });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "sandport-adapter-shape-"));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("accepts an adapter with the full shape", async () => {
    const directory = writeFixture("acme-cloud", {
      "package.json": goodManifest,
      "src/acme-cloud-provider.ts": [
        "export interface AcmeCloudProviderSettings { apiKey?: string }",
        "export function createAcmeCloudProvider(settings: AcmeCloudProviderSettings = {}) { return settings; }",
      ].join("\n"),
      "src/index.ts":
        'export { type AcmeCloudProviderSettings, createAcmeCloudProvider } from "./acme-cloud-provider.ts";\n',
      "src/testing/index.ts": "export const fakeServer = {};\n",
    });
    expect(await adapterShapeProblems(directory, "acme-cloud")).toEqual([]);
  });

  it("reports every way an adapter can break the shape", async () => {
    const directory = writeFixture("broken", {
      "package.json": JSON.stringify({
        name: "@sandport/broken",
        exports: { ".": "./dist/index.js" },
      }),
      "src/broken-provider.ts":
        "export const createBrokenProvider = 42;\nexport const makeBroken = () => ({});\n",
      "src/index.ts": 'export * from "./broken-provider.ts";\n',
      "src/testing/index.ts": "export const fake = {};\n",
    });
    const problems = await adapterShapeProblems(directory, "broken");
    expect(problems).toEqual([
      "src/broken-provider.ts does not export a function createBrokenProvider",
      "src/index.ts uses `export *`; re-export by name instead",
      "src/index.ts does not re-export the type BrokenProviderSettings",
      "src/index.ts does not export a function createBrokenProvider",
      'package.json exports "." has no "types" condition',
      'src/testing/ exists but package.json exports no "./testing" subpath',
    ]);
  });

  it("reports a package without an exports map", async () => {
    const directory = writeFixture("bare", {
      "package.json": JSON.stringify({ name: "@sandport/bare" }),
      "src/bare-provider.ts":
        "export function createBareProvider() {}\nexport type BareProviderSettings = {};\n",
      "src/index.ts": 'export { type BareProviderSettings, createBareProvider } from "./bare-provider.ts";\n',
    });
    expect(await adapterShapeProblems(directory, "bare")).toEqual(["package.json has no exports map"]);
  });

  it("does not require ./testing when there is no src/testing/", async () => {
    const directory = writeFixture("plain", {
      "package.json": JSON.stringify({
        name: "@sandport/plain",
        exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
      }),
      "src/plain-provider.ts":
        "export function createPlainProvider() {}\nexport type PlainProviderSettings = {};\n",
      "src/index.ts":
        'export { type PlainProviderSettings, createPlainProvider } from "./plain-provider.ts";\n',
    });
    expect(await adapterShapeProblems(directory, "plain")).toEqual([]);
  });

  it("is detected only through src/<folder>-provider.ts or src/<folder>-<kind>-provider.ts", () => {
    const directory = writeFixture("detect", { "src/other-provider.ts": "export {};\n" });
    expect(isAdapterPackage(directory, "detect")).toBe(false);
    expect(isAdapterPackage(directory, "other")).toBe(true);
    const several = writeFixture("acme", {
      "src/acme-cloud-provider.ts": "export {};\n",
      "src/acme-edge-provider.ts": "export {};\n",
      "src/unrelated-provider.ts": "export {};\n",
    });
    expect(adapterProviderIds(several, "acme")).toEqual(["acme-cloud", "acme-edge"]);
  });

  it("derives Pascal case names from provider ids", () => {
    expect(pascalCase("local")).toBe("Local");
    expect(pascalCase("cloudflare-isolate")).toBe("CloudflareIsolate");
  });
});
