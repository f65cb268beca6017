/**
 * What a release needs besides built files: internal dependency ranges that publish correctly and
 * still link locally, a LICENSE, README and CHANGELOG in every package, a changesets setup that
 * versions every package, and adapter READMEs whose settings tables list every setting.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  dependencyFields,
  isAdapterPackage,
  type PackageManifest,
  readWorkspacePackages,
  repositoryRoot,
} from "./workspace-packages.ts";

const versionPattern = /^(\d+)\.(\d+)\.(\d+)$/;

/** Whether the caret range `^a.b.c` includes `version` (plain `x.y.z` versions only). */
export function caretRangeIncludes(range: string, version: string): boolean {
  const low = versionPattern.exec(range.slice(1));
  const candidate = versionPattern.exec(version);
  if (!range.startsWith("^") || low === null || candidate === null) return false;
  const [major, minor, patch] = low.slice(1).map(Number) as [number, number, number];
  const [candidateMajor, candidateMinor, candidatePatch] = candidate.slice(1).map(Number) as [
    number,
    number,
    number,
  ];
  if (candidateMajor !== major) return false;
  // Below 1.0 the caret keeps the minor (and below 0.1 the patch) fixed.
  if (major === 0 && candidateMinor !== minor) return false;
  if (major === 0 && minor === 0) return candidatePatch === patch;
  if (candidateMinor !== minor) return candidateMinor > minor;
  return candidatePatch >= patch;
}

/**
 * Every internal dependency whose range would not publish correctly or would not link the
 * workspace copy, as readable messages. `versions` maps each workspace package to its version.
 */
export function internalRangeProblems(
  manifest: PackageManifest,
  versions: ReadonlyMap<string, string>,
): string[] {
  const problems: string[] = [];
  for (const field of dependencyFields) {
    for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
      const version = versions.get(dependency);
      if (version === undefined) continue;
      const where = `${manifest.name} ${field}["${dependency}"] is "${range}"`;
      if (range === "*" || range === "" || range === "latest") {
        problems.push(`${where}, which publishes as "any version": use "^${version}"`);
      } else if (!range.startsWith("^") || !versionPattern.test(range.slice(1))) {
        problems.push(`${where}: use a caret range of the workspace version, "^${version}"`);
      } else if (!caretRangeIncludes(range, version)) {
        problems.push(
          `${where}, which excludes the workspace version ${version}, so npm would install a published copy instead of linking packages/: use "^${version}"`,
        );
      }
    }
  }
  return problems;
}

/** The `## <version>` headings of a changesets CHANGELOG, newest first. */
function changelogVersions(text: string): string[] {
  return [...text.matchAll(/^## (\S+)\s*$/gm)].map((match) => match[1] as string);
}

/** Bumps named in a changeset file's front matter, e.g. `{ "@sandport/core": "minor" }`. */
function changesetReleases(text: string): Record<string, string> {
  const frontMatter = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? "";
  return Object.fromEntries(
    [...frontMatter.matchAll(/^\s*["']?([^"':\s]+)["']?\s*:\s*(\S+)\s*$/gm)].map((match) => [
      match[1] as string,
      match[2] as string,
    ]),
  );
}

interface ProviderFactoryShape {
  type: string;
  settingsSchema: { shape: Record<string, unknown> };
}

function isProviderFactory(value: unknown): value is ProviderFactoryShape {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { type?: unknown; settingsSchema?: { shape?: unknown } };
  return (
    typeof candidate.type === "string" &&
    typeof candidate.settingsSchema?.shape === "object" &&
    candidate.settingsSchema.shape !== null
  );
}

/** Settings a README's tables have a row for: the first cell's code spans (`` | `memoryMb` | ``). */
function documentedSettings(readme: string): Set<string> {
  const names = new Set<string>();
  for (const match of readme.matchAll(/^\|([^|\n]*)\|/gm)) {
    for (const code of (match[1] as string).matchAll(/`([^`]+)`/g)) names.add(code[1] as string);
  }
  return names;
}

const rootManifest = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8")) as {
  license?: string;
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const workspace = readWorkspacePackages();
const publishable = workspace.filter(({ manifest }) => manifest.private !== true);
const versions = new Map(
  workspace.flatMap(({ manifest }) =>
    manifest.version === undefined ? [] : [[manifest.name, manifest.version] as const],
  ),
);

describe("internal dependency ranges", () => {
  it("are caret ranges that include each workspace package's current version", () => {
    expect(publishable.length).toBeGreaterThan(0);
    expect(workspace.flatMap(({ manifest }) => internalRangeProblems(manifest, versions))).toEqual([]);
  });

  it("are checked in every package that names another (not vacuous)", () => {
    const withInternal = workspace.filter(({ manifest }) =>
      dependencyFields.some((field) => Object.keys(manifest[field] ?? {}).some((name) => versions.has(name))),
    );
    expect(withInternal.map(({ manifest }) => manifest.name)).toContain("@sandport/cli");
  });
});

describe("the license", () => {
  const license = readFileSync(join(repositoryRoot, "LICENSE"), "utf8");

  it("is Apache-2.0, held by the sandport authors, at the root and in package.json", () => {
    expect(license.split("\n")[0]).toBe("Copyright the sandport authors");
    expect(license).toContain("Apache License");
    expect(license).toContain("Version 2.0, January 2004");
    expect(rootManifest.license).toBe("Apache-2.0");
  });

  for (const { directoryName, directory, manifest } of publishable) {
    it(`is copied unchanged into packages/${directoryName}, which declares it`, () => {
      expect(manifest.license).toBe("Apache-2.0");
      const copy = join(directory, "LICENSE");
      expect(existsSync(copy), `packages/${directoryName}/LICENSE is missing: copy the root LICENSE`).toBe(
        true,
      );
      expect(
        readFileSync(copy, "utf8") === license,
        `packages/${directoryName}/LICENSE differs from LICENSE`,
      ).toBe(true);
    });
  }
});

describe("package README and CHANGELOG", () => {
  for (const { directoryName, directory, manifest } of publishable) {
    it(`packages/${directoryName}/README.md names the package and how to install it`, () => {
      const readmePath = join(directory, "README.md");
      expect(existsSync(readmePath), `packages/${directoryName}/README.md is missing`).toBe(true);
      const readme = readFileSync(readmePath, "utf8");
      expect(readme.split("\n")[0]).toBe(`# ${manifest.name}`);
      expect(readme).toMatch(new RegExp(`npm install (?:[^\\n]* )?${manifest.name.replace("/", "\\/")}\\b`));
      expect(readme, "a README shows an example in a code block").toMatch(/```(?:ts|sh)\n/);
    });

    it(`packages/${directoryName}/CHANGELOG.md is a changesets changelog whose latest entry is ${manifest.version}`, () => {
      const changelogPath = join(directory, "CHANGELOG.md");
      expect(existsSync(changelogPath), `packages/${directoryName}/CHANGELOG.md is missing`).toBe(true);
      const changelog = readFileSync(changelogPath, "utf8");
      expect(changelog.split("\n")[0]).toBe(`# ${manifest.name}`);
      expect(changelogVersions(changelog)[0]).toBe(manifest.version);
    });
  }
});

describe("changesets", () => {
  const configPath = join(repositoryRoot, ".changeset", "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8")) as {
    access?: string;
    baseBranch?: string;
    fixed?: string[][];
    linked?: string[][];
    ignore?: string[];
  };

  it("publish publicly from main", () => {
    expect(config.access).toBe("public");
    expect(config.baseBranch).toBe("main");
  });

  it("version every publishable package together in one fixed group", () => {
    // A new package must join the group, or it would be versioned on its own.
    expect(config.fixed).toHaveLength(1);
    expect([...(config.fixed?.[0] ?? [])].sort()).toEqual(
      publishable.map(({ manifest }) => manifest.name).sort(),
    );
    expect(config.linked ?? []).toEqual([]);
    expect(config.ignore ?? []).toEqual([]);
  });

  it("name only publishable packages with a valid bump in pending changesets", () => {
    const names = new Set(publishable.map(({ manifest }) => manifest.name));
    const directory = join(repositoryRoot, ".changeset");
    const problems: string[] = [];
    for (const file of readdirSync(directory).filter(
      (name) => name.endsWith(".md") && name !== "README.md",
    )) {
      const releases = changesetReleases(readFileSync(join(directory, file), "utf8"));
      if (Object.keys(releases).length === 0) problems.push(`${file}: no package in its front matter`);
      for (const [name, bump] of Object.entries(releases)) {
        if (!names.has(name)) problems.push(`${file}: ${name} is not a publishable workspace package`);
        if (!["patch", "minor", "major"].includes(bump)) problems.push(`${file}: ${name} has bump "${bump}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("run through root scripts with a pinned @changesets/cli", () => {
    expect(rootManifest.devDependencies?.["@changesets/cli"]).toMatch(versionPattern);
    expect(rootManifest.scripts?.changeset).toBe("changeset");
    expect(rootManifest.scripts?.["version-packages"]).toMatch(/^changeset version\b/);
    // Publishing ships dist/, so the build runs first.
    expect(rootManifest.scripts?.release).toMatch(/^npm run build && changeset publish\b/);
  });
});

describe("adapter READMEs", () => {
  const adapters = publishable.filter(({ directory, directoryName }) =>
    isAdapterPackage(directory, directoryName),
  );

  it("exist for at least the local adapter (not vacuous)", () => {
    expect(adapters.map(({ directoryName }) => directoryName)).toContain("local");
  });

  for (const { directoryName, directory } of adapters) {
    it(`packages/${directoryName}/README.md has a settings table row for every setting of its provider types`, async () => {
      const index = (await import(pathToFileURL(join(directory, "src", "index.ts")).href)) as Record<
        string,
        unknown
      >;
      const factories = Object.values(index).filter(isProviderFactory);
      expect(
        factories.length,
        `packages/${directoryName}/src/index.ts exports no ProviderFactory`,
      ).toBeGreaterThan(0);
      const documented = documentedSettings(readFileSync(join(directory, "README.md"), "utf8"));
      const missing = factories.flatMap((factory) =>
        Object.keys(factory.settingsSchema.shape)
          .filter((setting) => !documented.has(setting))
          .map((setting) => `${factory.type}.${setting}`),
      );
      expect(missing, "settings without a row in a README table").toEqual([]);
    });
  }
});

describe("caretRangeIncludes", () => {
  it("follows npm's caret semantics below and above 1.0", () => {
    expect(caretRangeIncludes("^0.1.0", "0.1.0")).toBe(true);
    expect(caretRangeIncludes("^0.1.0", "0.1.7")).toBe(true);
    expect(caretRangeIncludes("^0.1.0", "0.2.0")).toBe(false);
    expect(caretRangeIncludes("^0.1.2", "0.1.1")).toBe(false);
    expect(caretRangeIncludes("^0.0.3", "0.0.3")).toBe(true);
    expect(caretRangeIncludes("^0.0.3", "0.0.4")).toBe(false);
    expect(caretRangeIncludes("^1.2.0", "1.9.0")).toBe(true);
    expect(caretRangeIncludes("^1.2.3", "1.2.2")).toBe(false);
    expect(caretRangeIncludes("^1.2.0", "2.0.0")).toBe(false);
    expect(caretRangeIncludes("~1.2.0", "1.2.0")).toBe(false);
  });
});

describe("internalRangeProblems", () => {
  const workspaceVersions = new Map([
    ["@sandport/core", "0.2.0"],
    ["@sandport/local", "0.2.0"],
  ]);
  const manifest = (fields: Partial<PackageManifest>): PackageManifest => ({
    name: "@sandport/acme",
    ...fields,
  });

  it("accepts caret ranges of the current versions and ignores outside packages", () => {
    expect(
      internalRangeProblems(
        manifest({
          dependencies: { "@sandport/core": "^0.2.0", zod: "*" },
          peerDependencies: { "@sandport/local": "^0.2.0" },
        }),
        workspaceVersions,
      ),
    ).toEqual([]);
  });

  it('flags "*", other range forms and ranges that miss the workspace version, in every field', () => {
    const problems = internalRangeProblems(
      manifest({
        dependencies: { "@sandport/core": "*" },
        devDependencies: { "@sandport/local": ">=0.1.0" },
        peerDependencies: { "@sandport/local": "^0.1.0" },
      }),
      workspaceVersions,
    );
    expect(problems).toEqual([
      expect.stringContaining('dependencies["@sandport/core"] is "*", which publishes as "any version"'),
      expect.stringContaining('devDependencies["@sandport/local"] is ">=0.1.0": use a caret range'),
      expect.stringContaining(
        'peerDependencies["@sandport/local"] is "^0.1.0", which excludes the workspace version',
      ),
    ]);
  });
});

describe("changesetReleases", () => {
  it("reads the packages and bumps of a changeset's front matter", () => {
    expect(
      changesetReleases("---\n\"@sandport/core\": minor\n'@sandport/cli': patch\n---\n\nSummary: text.\n"),
    ).toEqual({ "@sandport/core": "minor", "@sandport/cli": "patch" });
  });
});
