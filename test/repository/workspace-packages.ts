/** Reads the workspace packages under `packages/` for the repository meta-tests. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the repository root. */
export const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

/** The fields of `package.json` the meta-tests read. */
export interface PackageManifest {
  name: string;
  version?: string;
  license?: string;
  private?: boolean;
  exports?: unknown;
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** One package directory with its manifest. */
export interface WorkspacePackage {
  /** Folder name under `packages/`, e.g. `"local"`. */
  directoryName: string;
  /** Absolute path of the folder. */
  directory: string;
  manifest: PackageManifest;
}

/** Dependency fields that can pull in another package. */
export const dependencyFields = [
  "dependencies",
  "devDependencies",
  "peerDependencies",
  "optionalDependencies",
] as const;

/** Reads every `packages/<name>/package.json` (folders without one are not packages yet). */
export function readWorkspacePackages(
  packagesDirectory = join(repositoryRoot, "packages"),
): WorkspacePackage[] {
  return readdirSync(packagesDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(packagesDirectory, entry.name, "package.json")))
    .map((entry) => {
      const directory = join(packagesDirectory, entry.name);
      const manifest = JSON.parse(readFileSync(join(directory, "package.json"), "utf8")) as PackageManifest;
      return { directoryName: entry.name, directory, manifest };
    })
    .sort((left, right) => left.directoryName.localeCompare(right.directoryName));
}

/**
 * The provider ids of an adapter package: `src/<folder name>-provider.ts` gives `<folder name>`,
 * and a package with several providers has `src/<folder name>-<kind>-provider.ts` for each
 * (`cloudflare-isolate`, `cloudflare-container`). Empty for a package that is not an adapter.
 */
export function adapterProviderIds(directory: string, directoryName: string): string[] {
  const sourceDirectory = join(directory, "src");
  if (!existsSync(sourceDirectory)) return [];
  return readdirSync(sourceDirectory)
    .filter(
      (name) => name === `${directoryName}-provider.ts` || /^[a-z0-9]+(-[a-z0-9]+)*-provider\.ts$/.test(name),
    )
    .filter((name) => name === `${directoryName}-provider.ts` || name.startsWith(`${directoryName}-`))
    .map((name) => name.slice(0, -"-provider.ts".length))
    .sort();
}

/** True when the package follows the adapter shape: it has at least one provider file (see above). */
export function isAdapterPackage(directory: string, directoryName: string): boolean {
  return adapterProviderIds(directory, directoryName).length > 0;
}

/** `"cloudflare-isolate"` -> `"CloudflareIsolate"`. */
export function pascalCase(id: string): string {
  return id
    .split(/[-_.]/)
    .filter((part) => part !== "")
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join("");
}
