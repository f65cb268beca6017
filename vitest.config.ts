import { defineConfig } from "vitest/config";

// Tests run the TypeScript sources of every workspace package (the "@sandport/source" export
// condition), so `npm test` needs no build step except where a test spawns a built binary.
const sourceCondition = ["@sandport/source"];

export default defineConfig({
  resolve: { conditions: sourceCondition },
  ssr: { resolve: { conditions: sourceCondition } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "core",
          include: ["packages/core/src/**/*.test.ts"],
          typecheck: {
            enabled: true,
            include: ["packages/core/src/**/*.test-d.ts"],
            tsconfig: "./packages/core/tsconfig.test.json",
          },
        },
      },
      { extends: true, test: { name: "contract", include: ["packages/contract/src/**/*.test.ts"] } },
      { extends: true, test: { name: "local", include: ["packages/local/src/**/*.test.ts"] } },
      { extends: true, test: { name: "cloudflare", include: ["packages/cloudflare/src/**/*.test.ts"] } },
      { extends: true, test: { name: "daytona", include: ["packages/daytona/src/**/*.test.ts"] } },
      { extends: true, test: { name: "modal", include: ["packages/modal/src/**/*.test.ts"] } },
      { extends: true, test: { name: "vercel", include: ["packages/vercel/src/**/*.test.ts"] } },
      { extends: true, test: { name: "router", include: ["packages/router/src/**/*.test.ts"] } },
      { extends: true, test: { name: "sandport", include: ["packages/sandport/src/**/*.test.ts"] } },
      { extends: true, test: { name: "tunnel", include: ["packages/tunnel/src/**/*.test.ts"] } },
      { extends: true, test: { name: "cli", include: ["packages/cli/src/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "repository", include: ["test/**/*.test.ts"], exclude: ["test/bench/**"] },
      },
    ],
  },
});
