/**
 * What `npm publish` would ship: every file the exports map promises (types and default) is in the
 * tarball, with the package's README, LICENSE and CHANGELOG, and no test file is. Needs the built
 * `dist/` (`npm run build`; `npm test` builds first).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readWorkspacePackages } from "./workspace-packages.ts";

/** Conditions whose targets must be published; "@sandport/source" points at sources used in development. */
const publishedConditions = new Set(["types", "default"]);
const developmentCondition = "@sandport/source";

/** Paths (without "./") that the exports map points to under a published condition. */
function publishedExportTargets(exportsMap: unknown): string[] {
  const targets = new Set<string>();
  const visit = (value: unknown, condition: string | undefined): void => {
    if (typeof value === "string") {
      if (condition !== undefined && publishedConditions.has(condition))
        targets.add(value.replace(/^\.\//, ""));
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, condition);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      if (key === developmentCondition) continue;
      // Subpath keys ("." or "./x") keep looking for conditions; condition keys name the condition.
      visit(item, key.startsWith(".") ? undefined : key);
    }
  };
  visit(exportsMap, undefined);
  return [...targets].sort();
}

const packedFileLists = new Map<string, string[]>();

/** The file list `npm pack` would put in the tarball (packed once per package). */
function packedFiles(directory: string): string[] {
  const known = packedFileLists.get(directory);
  if (known !== undefined) return known;
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: directory,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  const [result] = JSON.parse(output) as { files: { path: string }[] }[];
  if (result === undefined) throw new Error(`npm pack printed no result in ${directory}`);
  const files = result.files.map((file) => file.path);
  packedFileLists.set(directory, files);
  return files;
}

/** Files every tarball carries at its root: npm adds README and LICENSE itself, CHANGELOG.md needs "files". */
const documentFiles = ["README.md", "LICENSE", "CHANGELOG.md"];

const testFilePattern = /\.test(?:-d)?\.[cm]?[jt]sx?(?:\.map)?$|\.test(?:-d)?\.d\.[cm]?ts(?:\.map)?$/;

describe("published packages", () => {
  const publishable = readWorkspacePackages().filter(({ manifest }) => manifest.private !== true);

  it("includes at least @sandport/core", () => {
    expect(publishable.map(({ manifest }) => manifest.name)).toContain("@sandport/core");
  });

  for (const { directory, directoryName, manifest } of publishable) {
    describe(manifest.name, () => {
      it("ships every file its exports map points to, and no tests", { timeout: 30_000 }, () => {
        const targets = publishedExportTargets(manifest.exports);
        expect(targets.length, "the exports map names no types/default target").toBeGreaterThan(0);
        const unbuilt = targets.filter((target) => !existsSync(join(directory, target)));
        expect(
          unbuilt,
          `packages/${directoryName} is not built (missing ${unbuilt.join(", ")}): run \`npm run build\` first`,
        ).toEqual([]);

        const files = packedFiles(directory);
        const missing = targets.filter((target) => !files.includes(target));
        expect(
          missing,
          `exported but not packed; check "files" in packages/${directoryName}/package.json`,
        ).toEqual([]);
        expect(files.filter((file) => testFilePattern.test(file))).toEqual([]);
      });

      it("ships its README, LICENSE and CHANGELOG", { timeout: 30_000 }, () => {
        const files = packedFiles(directory);
        expect(
          documentFiles.filter((file) => !files.includes(file)),
          `not packed; add the file to packages/${directoryName} (and CHANGELOG.md to "files")`,
        ).toEqual([]);
      });
    });
  }
});

describe("publishedExportTargets", () => {
  it("collects types and default targets of every subpath, ignoring the source condition", () => {
    expect(
      publishedExportTargets({
        ".": { "@sandport/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./node": {
          "@sandport/source": "./src/node/index.ts",
          types: "./dist/node/index.d.ts",
          default: "./dist/node/index.js",
        },
        "./package.json": "./package.json",
      }),
    ).toEqual(["dist/index.d.ts", "dist/index.js", "dist/node/index.d.ts", "dist/node/index.js"]);
  });

  it("finds targets nested under other conditions", () => {
    expect(
      publishedExportTargets({
        ".": { import: { types: "./dist/a.d.ts", default: "./dist/a.js" }, require: "./x.cjs" },
      }),
    ).toEqual(["dist/a.d.ts", "dist/a.js"]);
  });

  it("recognizes test files of any flavour", () => {
    for (const file of [
      "src/a.test.ts",
      "dist/a.test.js",
      "dist/a.test.d.ts",
      "src/b.test-d.ts",
      "dist/a.test.js.map",
    ]) {
      expect(testFilePattern.test(file), file).toBe(true);
    }
    for (const file of ["dist/index.js", "dist/contest.js", "dist/testing/index.js"]) {
      expect(testFilePattern.test(file), file).toBe(false);
    }
  });
});
