/**
 * The root entry of @sandport/core loads in any JavaScript runtime (workerd included): no module it
 * reaches through relative imports may import a Node builtin. Node-only code sits behind `./node`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { repositoryRoot } from "./workspace-packages.ts";

/** A Node builtin imported by a module reachable from the entry. */
interface NodeImport {
  /** Importing file, relative to the repository root. */
  file: string;
  specifier: string;
}

const staticImportPattern = /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*["']([^"']+)["']/g;
const sideEffectImportPattern = /\bimport\s*["']([^"']+)["']/g;
const dynamicImportPattern = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

const nodeBuiltins = new Set(builtinModules.filter((name) => !name.startsWith("_")));

/** Every module specifier a source file imports or re-exports. */
function importedSpecifiers(source: string): string[] {
  return [staticImportPattern, sideEffectImportPattern, dynamicImportPattern].flatMap((pattern) =>
    [...source.matchAll(pattern)].map((match) => match[1] as string),
  );
}

function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith("node:")) return true;
  return nodeBuiltins.has(specifier) || nodeBuiltins.has(specifier.split("/")[0] as string);
}

/** Resolves a relative specifier to a file, allowing `.js` for a `.ts` source. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const target = resolve(dirname(fromFile), specifier);
  const candidates = [target, target.replace(/\.js$/, ".ts"), `${target}.ts`, join(target, "index.ts")];
  return candidates.find((candidate) => existsSync(candidate) && candidate.endsWith(".ts"));
}

/**
 * Follows relative imports transitively from `entry` and returns every Node builtin import found,
 * plus relative imports that do not resolve (so a typo cannot hide a module from the check).
 */
function nodeImportsReachableFrom(entry: string): {
  nodeImports: NodeImport[];
  unresolved: NodeImport[];
  visited: string[];
} {
  const nodeImports: NodeImport[] = [];
  const unresolved: NodeImport[] = [];
  const visited = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (visited.has(file)) continue;
    visited.add(file);
    const name = relative(repositoryRoot, file);
    for (const specifier of importedSpecifiers(readFileSync(file, "utf8"))) {
      if (specifier.startsWith(".")) {
        const target = resolveRelative(file, specifier);
        if (target === undefined) unresolved.push({ file: name, specifier });
        else pending.push(target);
      } else if (isNodeBuiltin(specifier)) {
        nodeImports.push({ file: name, specifier });
      }
    }
  }
  return {
    nodeImports,
    unresolved,
    visited: [...visited].map((file) => relative(repositoryRoot, file)).sort(),
  };
}

const coreSource = join(repositoryRoot, "packages/core/src");

describe("runtime-neutral root entries", () => {
  it("reaches no Node builtin from the root entry of @sandport/core", () => {
    const result = nodeImportsReachableFrom(join(coreSource, "index.ts"));
    // Guard against a checker that silently follows nothing.
    expect(result.visited).toContain("packages/core/src/errors.ts");
    expect(result.visited).toContain("packages/core/src/config.ts");
    expect(result.visited.some((file) => file.startsWith("packages/core/src/node/"))).toBe(false);
    expect(result.unresolved).toEqual([]);
    expect(result.nodeImports).toEqual([]);
  });

  it("flags the ./node entry of @sandport/core, which may use Node builtins", () => {
    const result = nodeImportsReachableFrom(join(coreSource, "node/index.ts"));
    expect(result.unresolved).toEqual([]);
    expect(result.nodeImports).toContainEqual({
      file: "packages/core/src/node/config-file.ts",
      specifier: "node:fs",
    });
    expect(result.nodeImports).toContainEqual({
      file: "packages/core/src/node/config-file.ts",
      specifier: "node:path",
    });
  });

  // CONVENTIONS.md: "core and router import no node:* module from their root entry".
  const routerEntry = join(repositoryRoot, "packages/router/src/index.ts");
  it.runIf(existsSync(routerEntry))("reaches no Node builtin from the root entry of @sandport/router", () => {
    const result = nodeImportsReachableFrom(routerEntry);
    expect(result.unresolved).toEqual([]);
    expect(result.nodeImports).toEqual([]);
  });
});

describe("nodeImportsReachableFrom", () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "sandport-neutral-"));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  function write(name: string, content: string): string {
    const path = join(directory, name);
    writeFileSync(path, content);
    return path;
  }

  it("finds builtins through multi-line imports, re-exports, side-effect and dynamic imports", () => {
    const entry = write(
      "entry.ts",
      [
        'import { a } from "./a.ts";',
        'export * from "./b.js";',
        "import {",
        "  type Thing,",
        "  other,",
        '} from "./c.ts";',
        'import "./d.ts";',
        "export const load = () => import('./e.ts');",
        'import { z } from "zod";',
      ].join("\n"),
    );
    write("a.ts", 'import { readFileSync } from "fs";\nexport const a = 1;');
    write("b.ts", 'export { spawn } from "node:child_process";');
    write("c.ts", 'import type { Readable } from "stream";\nexport const other = 1;');
    write("d.ts", 'import "node:process";');
    write("e.ts", 'const fs = await import("fs/promises");');
    const specifiers = nodeImportsReachableFrom(entry).nodeImports.map((found) => found.specifier);
    expect(specifiers.sort()).toEqual(["fs", "fs/promises", "node:child_process", "node:process", "stream"]);
  });

  it("reports relative imports that do not resolve", () => {
    const entry = write("entry.ts", 'export { x } from "./missing.ts";');
    expect(nodeImportsReachableFrom(entry).unresolved.map((found) => found.specifier)).toEqual([
      "./missing.ts",
    ]);
  });

  it("does not flag packages whose names merely resemble builtins", () => {
    const entry = write(
      "entry.ts",
      'import { z } from "zod";\nimport x from "fs-extra";\nimport y from "path-browserify";',
    );
    expect(nodeImportsReachableFrom(entry).nodeImports).toEqual([]);
  });

  it("visits a module imported twice only once and survives cycles", () => {
    const entry = write("entry.ts", 'import "./a.ts";\nimport "./b.ts";');
    write("a.ts", 'import "./b.ts";\nimport "./entry.ts";');
    write("b.ts", 'import "./a.ts";\nimport "os";');
    expect(nodeImportsReachableFrom(entry).nodeImports).toHaveLength(1);
  });
});
