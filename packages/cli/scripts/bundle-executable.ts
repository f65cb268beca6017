/**
 * Bundles the `sandport` executable (dist/main.js and what it loads on every command) into
 * dist/executable/, so a command loads a few files instead of hundreds of modules: the start-up
 * of the CLI is mostly module loading (zod alone is about 180 modules). `bin/sandport.js` runs the
 * bundle; the library entry (`@sandport/cli`, dist/index.js) stays unbundled.
 *
 * What stays outside the bundle, loaded from node_modules when a command needs it:
 * - the vendor adapters' runtime (`@sandport/cloudflare`, `@sandport/daytona`, `@sandport/vercel`,
 *   `@sandport/modal`: they find files of their own package next to their modules); their light
 *   `./settings` entries are bundled;
 * - `@sandport/tunnel` and the MCP SDK (they share one zod with the SDK's own schema handling);
 * - every other third-party package except zod, commander, cockatiel and the spinner.
 */
import { rmSync } from "node:fs";
import { build } from "esbuild";

const bundled = new Set(["zod", "commander", "cockatiel", "yocto-spinner", "yoctocolors"]);
const workspaceBundled = /^(@sandport\/(core|local|router|cli)|sandport)(\/|$)/;
const settingsEntry = /^@sandport\/(cloudflare|daytona|vercel|modal)\/settings$/;

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

const outdir = new URL("../dist/executable/", import.meta.url).pathname;
// Chunk names change with their contents: start empty, so no stale chunk is shipped.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [new URL("../dist/main.js", import.meta.url).pathname],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  logLevel: "warning",
  // Reproducible output: no absolute paths or dates end up in the files.
  legalComments: "none",
  plugins: [
    {
      name: "sandport-externals",
      setup(builder) {
        builder.onResolve({ filter: /^[^./]/ }, (args) => {
          if (args.path.startsWith("node:")) return { path: args.path, external: true };
          if (settingsEntry.test(args.path) || workspaceBundled.test(args.path)) return undefined;
          if (bundled.has(packageName(args.path))) return undefined;
          return { path: args.path, external: true };
        });
      },
    },
    {
      // Two bundled modules find files of their own package from `import.meta.url`: in the bundle
      // they ask Node where their package is instead.
      name: "sandport-package-files",
      setup(builder) {
        const rewrites: [RegExp, string][] = [
          [
            /packages\/local\/dist\/supervisor-binary\.js$/,
            'new URL("./dist/supervisor-binary.js", import.meta.resolve("@sandport/local/package.json"))',
          ],
          [
            /packages\/cli\/dist\/package-version\.js$/,
            'new URL("./dist/package-version.js", import.meta.resolve("@sandport/cli/package.json"))',
          ],
        ];
        builder.onLoad({ filter: /\/dist\/(supervisor-binary|package-version)\.js$/ }, async (args) => {
          const rewrite = rewrites.find(([pattern]) => pattern.test(args.path));
          if (rewrite === undefined) return undefined;
          const { readFile } = await import("node:fs/promises");
          const source = await readFile(args.path, "utf8");
          if (!source.includes("import.meta.url"))
            throw new Error(`${args.path} no longer uses import.meta.url`);
          return { contents: source.replaceAll("import.meta.url", rewrite[1]), loader: "js" };
        });
      },
    },
  ],
});
