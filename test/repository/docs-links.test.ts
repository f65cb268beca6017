/**
 * The READMEs and docs stay inside the repository: no http(s) URL, no link or path that leaves the
 * repository, no link to a file that does not exist, and every `@sandport/<name>` they mention is
 * a workspace package. A package's README and CHANGELOG ship on their own in its tarball, so every
 * Markdown file of a package (its README and CHANGELOG, and any other, such as `worker/README.md`)
 * keeps its links inside the package.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { readWorkspacePackages, repositoryRoot } from "./workspace-packages.ts";

/** `@sandport/...` strings that are not package names: the export condition development uses. */
const nonPackageNames: ReadonlySet<string> = new Set(["@sandport/source"]);

/** What {@link documentProblems} checks a document against. */
export interface DocumentRules {
  /** Absolute path of the document; relative links resolve against its folder. */
  file: string;
  /** Links must resolve inside this folder: the repository, or the package that ships the file. */
  boundary: string;
  /** The `@sandport/*` package names that exist. */
  packageNames: ReadonlySet<string>;
  /** Whether a link target exists. Default: the file system. */
  exists?: (path: string) => boolean;
}

const urlPattern = /\bhttps?:\/\/[^\s)>\]`'"]*/gi;
const inlineLinkPattern = /!?\[[^\]\n]*\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g;
const referenceDefinitionPattern = /^ {0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)>?/gm;
const autolinkPattern = /<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi;
const schemePattern = /^[a-z][a-z0-9+.-]*:/i;
/** A relative path that climbs (`../x/y.md`), in prose, code spans or code blocks alike. */
const parentPathPattern = /(?:\.\.\/)+[\w.-]*[A-Za-z][\w.-]*(?:\/[\w.-]+)*/g;
const packageNamePattern = /@sandport\/[a-z0-9][a-z0-9._-]*/g;
const codeFencePattern = /^ {0,3}(`{3,}|~{3,})[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm;

/** 1-based line of `index` in `text`. */
function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** Whether `path` is `folder` or inside it. */
function isInside(folder: string, path: string): boolean {
  const fromFolder = relative(folder, path);
  return fromFolder === "" || (!fromFolder.startsWith("..") && !isAbsolute(fromFolder));
}

/** Everything in `text` that breaks the rules above, as readable messages; empty when all is well. */
export function documentProblems(text: string, rules: DocumentRules): string[] {
  const problems: string[] = [];
  const exists = rules.exists ?? existsSync;
  const folder = dirname(rules.file);

  for (const match of text.matchAll(urlPattern)) {
    problems.push(`line ${lineOf(text, match.index)}: URL ${match[0]} leaves the repository`);
  }

  // Link syntax inside code blocks is code, not a link; blank it out, keeping the line numbers.
  const prose = text.replace(codeFencePattern, (block) => block.replace(/[^\n]/g, " "));
  const links = [inlineLinkPattern, referenceDefinitionPattern, autolinkPattern].flatMap((pattern) =>
    [...prose.matchAll(pattern)].map((match) => ({ target: match[1] as string, index: match.index })),
  );
  links.sort((left, right) => left.index - right.index);
  for (const { target, index } of links) {
    const where = `line ${lineOf(text, index)}: link ${target}`;
    if (target === "" || target.startsWith("#")) continue;
    if (schemePattern.test(target)) {
      // http(s) URLs are reported above already.
      if (!/^https?:/i.test(target)) problems.push(`${where} leaves the repository`);
      continue;
    }
    if (target.startsWith("/")) {
      problems.push(`${where} is absolute; use a path relative to the document`);
      continue;
    }
    const path = resolve(folder, decodeURIComponent(target.replace(/[#?].*$/, "")));
    if (!isInside(rules.boundary, path)) {
      problems.push(`${where} leaves ${relative(repositoryRoot, rules.boundary) || "the repository"}`);
    } else if (!exists(path)) {
      problems.push(`${where} points to a file that does not exist`);
    }
  }

  for (const match of text.matchAll(parentPathPattern)) {
    if (!isInside(repositoryRoot, resolve(folder, match[0]))) {
      problems.push(`line ${lineOf(text, match.index)}: path ${match[0]} is outside the repository`);
    }
  }

  for (const match of text.matchAll(packageNamePattern)) {
    const name = match[0].replace(/[._-]+$/, "");
    if (!rules.packageNames.has(name) && !nonPackageNames.has(name)) {
      problems.push(`line ${lineOf(text, match.index)}: ${name} is not a workspace package`);
    }
  }
  return problems;
}

/** Folders that hold no documents of ours: dependencies, build output, tool caches. */
const skippedFolders: ReadonlySet<string> = new Set(["node_modules", "dist"]);

/**
 * Markdown files under `folder`, recursively (none when it does not exist), leaving out
 * {@link skippedFolders} and hidden folders.
 */
export function markdownFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!skippedFolders.has(entry.name) && !entry.name.startsWith(".")) found.push(...markdownFiles(path));
    } else if (entry.isFile() && entry.name.endsWith(".md")) {
      found.push(path);
    }
  }
  return found.sort();
}

/** The documents checked, each with the folder its links must stay in. */
function documents(): { file: string; boundary: string }[] {
  const inRepository = [
    join(repositoryRoot, "README.md"),
    join(repositoryRoot, "CONTRIBUTING.md"),
    ...markdownFiles(join(repositoryRoot, "docs")),
    ...markdownFiles(join(repositoryRoot, ".changeset")),
  ].map((file) => ({ file, boundary: repositoryRoot }));
  const inPackages = readWorkspacePackages().flatMap(({ directory }) => {
    // README and CHANGELOG are listed even when missing, so the test reports them as missing.
    const required = ["README.md", "CHANGELOG.md"].map((name) => join(directory, name));
    const files = [...new Set([...required, ...markdownFiles(directory)])];
    return files.map((file) => ({ file, boundary: directory }));
  });
  return [...inRepository, ...inPackages];
}

describe("READMEs and docs", () => {
  const packageNames = new Set(readWorkspacePackages().map(({ manifest }) => manifest.name));

  for (const { file, boundary } of documents()) {
    const name = relative(repositoryRoot, file);
    it(`${name} exists, links only inside ${relative(repositoryRoot, boundary) || "the repository"} and names only workspace packages`, () => {
      expect(existsSync(file), `${name} is missing`).toBe(true);
      expect(documentProblems(readFileSync(file, "utf8"), { file, boundary, packageNames })).toEqual([]);
    });
  }

  it("cover every Markdown file under packages/, nested ones such as worker/README.md included", () => {
    const checked = documents().map(({ file }) => relative(repositoryRoot, file));
    expect(checked).toContain(join("packages", "cloudflare", "worker", "README.md"));
    expect(checked.filter((file) => file.split(sep).includes("node_modules"))).toEqual([]);
  });

  it("include docs/architecture.md, which the README points to", () => {
    const readme = readFileSync(join(repositoryRoot, "README.md"), "utf8");
    expect(readme).toContain("](docs/architecture.md)");
    expect(existsSync(join(repositoryRoot, "docs", "architecture.md"))).toBe(true);
  });
});

describe("markdownFiles", () => {
  it("finds nested Markdown files but none under node_modules, dist or hidden folders", () => {
    const folder = mkdtempSync(join(tmpdir(), "sandport-docs-links-"));
    try {
      for (const path of [
        "README.md",
        "worker/README.md",
        "worker/src/notes.md",
        "worker/src/index.ts",
        "node_modules/dependency/README.md",
        "dist/README.md",
        ".turbo/log.md",
      ]) {
        mkdirSync(dirname(join(folder, path)), { recursive: true });
        writeFileSync(join(folder, path), "text\n");
      }
      expect(markdownFiles(folder).map((file) => relative(folder, file))).toEqual(
        ["README.md", join("worker", "README.md"), join("worker", "src", "notes.md")].sort(),
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("documentProblems", () => {
  const root = repositoryRoot;
  const packageDirectory = join(root, "packages", "acme");
  const existing = new Set([
    join(root, "docs", "architecture.md"),
    join(packageDirectory, "worker", "README.md"),
  ]);
  const rules = (file: string, boundary = root): DocumentRules => ({
    file,
    boundary,
    packageNames: new Set(["@sandport/core", "@sandport/acme"]),
    exists: (path) => existing.has(path),
  });
  const readme = join(root, "README.md");
  const packageReadme = join(packageDirectory, "README.md");

  it("accepts relative links to files that exist, anchors, and known package names", () => {
    const text = [
      "See [the architecture](docs/architecture.md#layers) and [below](#install).",
      "Install `@sandport/core` and `@sandport/acme/testing`; tests use the `@sandport/source` condition.",
      "[ref]: docs/architecture.md",
      "```ts",
      'const first = handlers[0]("x"); // not a link',
      "```",
    ].join("\n");
    expect(documentProblems(text, rules(readme))).toEqual([]);
  });

  it("flags http and https URLs anywhere, code blocks included", () => {
    const text = [
      "[docs](https://example.com/docs)",
      "```json",
      '{ "url": "http://bridge.example" }',
      "```",
    ].join("\n");
    expect(documentProblems(text, rules(readme))).toEqual([
      "line 1: URL https://example.com/docs leaves the repository",
      "line 3: URL http://bridge.example leaves the repository",
    ]);
  });

  it("flags links and paths that leave the repository, and other schemes", () => {
    const text = [
      "See [design](../shared/docs/DESIGN.md).",
      "Also `../shared/docs/DESIGN.md` and <mailto:team@example.com>.",
      "[abs](/etc/passwd)",
    ].join("\n");
    expect(documentProblems(text, rules(readme))).toEqual([
      "line 1: link ../shared/docs/DESIGN.md leaves the repository",
      "line 2: link mailto:team@example.com leaves the repository",
      "line 3: link /etc/passwd is absolute; use a path relative to the document",
      "line 1: path ../shared/docs/DESIGN.md is outside the repository",
      "line 2: path ../shared/docs/DESIGN.md is outside the repository",
    ]);
  });

  it("keeps a package's links inside the package, which ships without the rest", () => {
    const text = "[deploy](worker/README.md), [architecture](../../docs/architecture.md)";
    expect(documentProblems(text, rules(packageReadme, packageDirectory))).toEqual([
      "line 1: link ../../docs/architecture.md leaves packages/acme",
    ]);
  });

  it("flags links to missing files", () => {
    expect(documentProblems("[gone](docs/missing.md)", rules(readme))).toEqual([
      "line 1: link docs/missing.md points to a file that does not exist",
    ]);
  });

  it("flags package names that are not workspace packages", () => {
    expect(documentProblems("Use `@sandport/router`, or @sandport/tunnel.", rules(readme))).toEqual([
      "line 1: @sandport/router is not a workspace package",
      "line 1: @sandport/tunnel is not a workspace package",
    ]);
  });
});
