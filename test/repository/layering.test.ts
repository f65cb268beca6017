/**
 * Dependencies between workspace packages point down the layers only:
 * core < contract, adapters < router < sandport (the front door) < tunnel < cli. A new package
 * must be given a layer here.
 */
import { describe, expect, it } from "vitest";
import {
  dependencyFields,
  isAdapterPackage,
  type PackageManifest,
  readWorkspacePackages,
} from "./workspace-packages.ts";

type Layer = "core" | "contract" | "adapter" | "router" | "front-door" | "cli" | "tunnel";

/** Lower ranks sit below higher ones; a package may only depend on strictly lower ranks. */
const layerRank: Record<Layer, number> = {
  core: 0,
  contract: 1,
  adapter: 1,
  router: 2,
  "front-door": 2.5,
  tunnel: 2.75,
  cli: 3,
};

/** The layer of every package, by package name. Unknown packages fail the test until added. */
const layerOfPackage: Readonly<Record<string, Layer>> = {
  "@sandport/core": "core",
  "@sandport/contract": "contract",
  "@sandport/local": "adapter",
  "@sandport/cloudflare": "adapter",
  "@sandport/daytona": "adapter",
  "@sandport/modal": "adapter",
  "@sandport/vercel": "adapter",
  "@sandport/router": "router",
  sandport: "front-door",
  "@sandport/cli": "cli",
  "@sandport/tunnel": "tunnel",
};

const layerOrder = "core < contract, adapters < router < sandport < tunnel < cli";

/**
 * The one adapter another adapter may name: an adapter's `./testing` fake may run its commands in
 * `@sandport/local` sandboxes by default, so `@sandport/local` may appear as a devDependency (its
 * tests) and a peerDependency (marked optional, for users of the fake), never in `dependencies`.
 */
const fakeExecutorAdapter = "@sandport/local";
const fakeExecutorFields: ReadonlySet<string> = new Set(["devDependencies", "peerDependencies"]);

/** A manifest with the peer metadata the `@sandport/local` exception reads. */
type LayeringManifest = PackageManifest & {
  peerDependenciesMeta?: Record<string, { optional?: boolean } | undefined>;
};

/** What the checker needs to know about one package. */
interface PackageFacts {
  name: string;
  /** Folder under packages/, for messages. */
  directoryName: string;
  /** Has `src/<folder>-provider.ts`. */
  isAdapter: boolean;
  manifest: LayeringManifest;
}

/** Every layering rule the packages break, as readable messages; empty when all is well. */
function layeringViolations(
  packages: readonly PackageFacts[],
  layers: Readonly<Record<string, Layer>> = layerOfPackage,
): string[] {
  const violations: string[] = [];
  for (const facts of packages) {
    const where = `${facts.name} (packages/${facts.directoryName})`;
    const layer = layers[facts.name];
    if (layer === undefined) {
      violations.push(
        `${where} has no layer: add it to layerOfPackage in test/repository/layering.test.ts (${layerOrder})`,
      );
      continue;
    }
    if (facts.isAdapter && layer !== "adapter") {
      violations.push(
        `${where} has src/${facts.directoryName}-provider.ts but its layer is "${layer}", not adapter`,
      );
    }
    if (!facts.isAdapter && layer === "adapter") {
      violations.push(`${where} is listed as an adapter but has no src/${facts.directoryName}-provider.ts`);
    }
    for (const field of dependencyFields) {
      for (const dependency of Object.keys(facts.manifest[field] ?? {})) {
        if (!dependency.startsWith("@sandport/") || dependency === facts.name) continue;
        const dependencyLayer = layers[dependency];
        if (dependencyLayer === undefined) {
          violations.push(`${where} ${field} names ${dependency}, which has no layer in layerOfPackage`);
          continue;
        }
        // Adapters run the conformance suite in their own tests.
        if (layer === "adapter" && dependencyLayer === "contract" && field === "devDependencies") continue;
        if (
          layer === "adapter" &&
          dependency === fakeExecutorAdapter &&
          fakeExecutorFields.has(field) &&
          isOptionalPeer(facts.manifest, dependency)
        ) {
          continue;
        }
        if (layerRank[dependencyLayer] < layerRank[layer]) continue;
        const reason =
          layer === "adapter" && dependency === fakeExecutorAdapter && fakeExecutorFields.has(field)
            ? `an adapter may name ${fakeExecutorAdapter} (its fake's default executor) only as a devDependency and an optional peerDependency`
            : layer === "adapter" && dependencyLayer === "adapter"
              ? "an adapter never depends on another adapter"
              : layer === "adapter" && dependencyLayer === "contract"
                ? "an adapter may use @sandport/contract only in devDependencies"
                : `dependencies point down only (${layerOrder})`;
        violations.push(`${where} [${layer}] ${field} names ${dependency} [${dependencyLayer}]: ${reason}`);
      }
    }
  }
  return violations;
}

/**
 * Whether naming `dependency` as a peer stays optional: a peerDependency must be marked optional in
 * `peerDependenciesMeta` (a devDependency alone is fine: it is never installed for users).
 */
function isOptionalPeer(manifest: LayeringManifest, dependency: string): boolean {
  if (manifest.peerDependencies?.[dependency] === undefined) return true;
  return manifest.peerDependenciesMeta?.[dependency]?.optional === true;
}

function workspaceFacts(): PackageFacts[] {
  return readWorkspacePackages().map(({ directory, directoryName, manifest }) => ({
    name: manifest.name,
    directoryName,
    isAdapter: isAdapterPackage(directory, directoryName),
    manifest,
  }));
}

function facts(name: string, manifest: Partial<LayeringManifest> = {}, isAdapter = false): PackageFacts {
  return { name, directoryName: name.replace("@sandport/", ""), isAdapter, manifest: { name, ...manifest } };
}

describe("package layering", () => {
  it("keeps every dependency between workspace packages pointing down the layers", () => {
    const packages = workspaceFacts();
    expect(packages.map((item) => item.name)).toContain("@sandport/core");
    expect(layeringViolations(packages)).toEqual([]);
  });

  it("keeps @sandport/core free of any other @sandport package", () => {
    const core = workspaceFacts().find((item) => item.name === "@sandport/core");
    expect(core).toBeDefined();
    const internal = dependencyFields.flatMap((field) =>
      Object.keys(core?.manifest[field] ?? {}).filter((name) => name.startsWith("@sandport/")),
    );
    expect(internal).toEqual([]);
  });

  it("gives a layer to every adapter the workspace has", () => {
    for (const item of workspaceFacts().filter((candidate) => candidate.isAdapter)) {
      expect(layerOfPackage[item.name], item.name).toBe("adapter");
    }
  });
});

describe("layeringViolations", () => {
  it("accepts the intended graph", () => {
    const graph = [
      facts("@sandport/core", { dependencies: { zod: "4" } }),
      facts("@sandport/contract", { dependencies: { "@sandport/core": "*" } }),
      facts(
        "@sandport/local",
        { dependencies: { "@sandport/core": "*" }, devDependencies: { "@sandport/contract": "*" } },
        true,
      ),
      facts("@sandport/router", {
        dependencies: { "@sandport/core": "*" },
        devDependencies: { "@sandport/local": "*", "@sandport/contract": "*" },
      }),
      facts("@sandport/cli", { dependencies: { "@sandport/router": "*", "@sandport/local": "*" } }),
      facts("@sandport/tunnel", { dependencies: { "@sandport/router": "*", "@sandport/core": "*" } }),
    ];
    expect(layeringViolations(graph)).toEqual([]);
  });

  it("flags core depending on any @sandport package", () => {
    const [violation, ...rest] = layeringViolations([
      facts("@sandport/core", { devDependencies: { "@sandport/contract": "*" } }),
    ]);
    expect(rest).toEqual([]);
    expect(violation).toContain("@sandport/core");
    expect(violation).toContain("devDependencies names @sandport/contract");
  });

  it("flags contract depending on anything but core", () => {
    const violations = layeringViolations([
      facts("@sandport/contract", { dependencies: { "@sandport/core": "*", "@sandport/local": "*" } }),
    ]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("@sandport/local");
  });

  it.each(["@sandport/router", "@sandport/cli", "@sandport/tunnel"])(
    "flags an adapter depending on %s",
    (upper) => {
      const violations = layeringViolations([
        facts("@sandport/daytona", { dependencies: { [upper]: "*" } }, true),
      ]);
      expect(violations).toHaveLength(1);
      expect(violations[0]).toContain(upper);
      expect(violations[0]).toContain("point down only");
    },
  );

  it("flags an adapter depending on another adapter, saying why", () => {
    const violations = layeringViolations([
      facts("@sandport/modal", { peerDependencies: { "@sandport/daytona": "*" } }, true),
      facts("@sandport/vercel", { devDependencies: { "@sandport/cloudflare": "*" } }, true),
    ]);
    expect(violations).toEqual([
      expect.stringContaining(
        "@sandport/modal (packages/modal) [adapter] peerDependencies names @sandport/daytona",
      ),
      expect.stringContaining(
        "@sandport/vercel (packages/vercel) [adapter] devDependencies names @sandport/cloudflare",
      ),
    ]);
    for (const violation of violations) expect(violation).toContain("never depends on another adapter");
  });

  it("lets an adapter name @sandport/local as a devDependency and an optional peer, for its fake", () => {
    const fakeUser = facts(
      "@sandport/cloudflare",
      {
        dependencies: { "@sandport/core": "*" },
        devDependencies: { "@sandport/contract": "*", "@sandport/local": "*" },
        peerDependencies: { "@sandport/local": "*" },
        peerDependenciesMeta: { "@sandport/local": { optional: true } },
      },
      true,
    );
    expect(layeringViolations([fakeUser])).toEqual([]);
    expect(
      layeringViolations([facts("@sandport/daytona", { devDependencies: { "@sandport/local": "*" } }, true)]),
    ).toEqual([]);
  });

  it("flags @sandport/local as a runtime dependency or a required peer of an adapter", () => {
    const violations = layeringViolations([
      facts("@sandport/modal", { dependencies: { "@sandport/local": "*" } }, true),
      facts("@sandport/vercel", { peerDependencies: { "@sandport/local": "*" } }, true),
    ]);
    expect(violations).toEqual([
      expect.stringContaining(
        "@sandport/modal (packages/modal) [adapter] dependencies names @sandport/local",
      ),
      expect.stringContaining(
        "@sandport/vercel (packages/vercel) [adapter] peerDependencies names @sandport/local",
      ),
    ]);
    expect(violations[0]).toContain("never depends on another adapter");
    expect(violations[1]).toContain("only as a devDependency and an optional peerDependency");
  });

  it("does not extend the exception to packages outside the adapter layer", () => {
    const violations = layeringViolations([
      facts("@sandport/contract", { devDependencies: { "@sandport/local": "*" } }),
    ]);
    expect(violations).toEqual([expect.stringContaining("point down only")]);
  });

  it("flags an adapter shipping the conformance suite as a runtime dependency", () => {
    const violations = layeringViolations([
      facts("@sandport/local", { dependencies: { "@sandport/contract": "*" } }, true),
    ]);
    expect(violations).toEqual([expect.stringContaining("only in devDependencies")]);
  });

  it("lets the cli use the tunnel, and flags the tunnel depending on the cli", () => {
    expect(
      layeringViolations([facts("@sandport/cli", { dependencies: { "@sandport/tunnel": "*" } })]),
    ).toEqual([]);
    expect(
      layeringViolations([facts("@sandport/tunnel", { dependencies: { "@sandport/cli": "*" } })]),
    ).toHaveLength(1);
  });

  it("fails a package that has no layer, telling where to add it", () => {
    const violations = layeringViolations([
      facts("@sandport/sidecar", { dependencies: { "@sandport/core": "*" } }),
    ]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("@sandport/sidecar");
    expect(violations[0]).toContain("layerOfPackage");
    expect(violations[0]).toContain("test/repository/layering.test.ts");
  });

  it("fails a dependency on a @sandport package that has no layer", () => {
    const violations = layeringViolations([
      facts("@sandport/router", { dependencies: { "@sandport/ghost": "*" } }),
    ]);
    expect(violations).toEqual([expect.stringContaining("@sandport/ghost, which has no layer")]);
  });

  it("fails a package with a provider file whose layer is not adapter, and the reverse", () => {
    expect(layeringViolations([facts("@sandport/router", {}, true)])).toEqual([
      expect.stringContaining("router-provider.ts but its layer is"),
    ]);
    expect(layeringViolations([facts("@sandport/vercel", {}, false)])).toEqual([
      expect.stringContaining("listed as an adapter but has no src/vercel-provider.ts"),
    ]);
  });

  it("ignores dependencies outside the @sandport scope", () => {
    expect(
      layeringViolations([facts("@sandport/core", { dependencies: { zod: "4", vitest: "5" } })]),
    ).toEqual([]);
  });
});
