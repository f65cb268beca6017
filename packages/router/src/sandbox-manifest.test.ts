/** `sandbox.json`: validation with paths, the request and hints it becomes, its JSON Schema, and package installs. */
import { readFileSync } from "node:fs";
import { expectSandportError } from "@sandport/contract";
import { createProcessProvider } from "@sandport/contract/testing";
import type { Command, ExecOptions, Sandbox } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { manifestSchemaFileName, renderManifestSchema } from "./manifest-schema.ts";
import { installManifestPackages } from "./package-install.ts";
import { parseSandboxManifest, requestFromManifest } from "./sandbox-manifest.ts";

describe("sandbox.json", () => {
  it("becomes a create request with the router's hints", () => {
    const manifest = parseSandboxManifest({
      runtime: "python",
      resources: { cpu: 2, memoryMb: 4096, gpu: { type: "A100", count: 1 } },
      packages: { pip: ["numpy==2.1", "pandas"] },
      network: { egress: { allow: ["pypi.org"] } },
      expectedDurationMs: 600_000,
      labels: { tool: "notebook" },
    });
    expect(requestFromManifest(manifest)).toEqual({
      runtime: "python",
      resources: { cpu: 2, memoryMb: 4096, gpu: { type: "A100", count: 1 } },
      network: { egress: { allow: ["pypi.org"] } },
      labels: { tool: "notebook" },
      providerOptions: { router: { expectedDurationMs: 600_000, needs: ["filesystem"] } },
    });
  });

  it("refuses bad input naming the path, and package names that could be options or URLs", async () => {
    for (const [input, path] of [
      [{ runtime: "cobol" }, "runtime"],
      [{ resources: { cpu: -1 } }, "resources.cpu"],
      [{ packages: { pip: ["--index-url=https://evil.example"] } }, "packages.pip.0"],
      [{ packages: { npm: ["git+https://evil.example/x.git"] } }, "packages.npm.0"],
      [{ extra: true }, "extra"],
    ] as const) {
      const error = await expectSandportError(async () => parseSandboxManifest(input), "config_invalid");
      expect(error.message).toContain(path);
    }
  });

  it("has a published JSON Schema that matches the validating schema", () => {
    const published = readFileSync(new URL(`../${manifestSchemaFileName}`, import.meta.url), "utf8");
    expect(published, "sandbox.schema.json is stale: run `npm run schema`").toBe(renderManifestSchema());
  });
});

describe("installManifestPackages", () => {
  function recording(sandbox: Sandbox, exitCode = 0): { sandbox: Sandbox; calls: Command[] } {
    const calls: Command[] = [];
    return {
      calls,
      sandbox: {
        ...sandbox,
        exec: async (command: Command, options?: ExecOptions) => {
          calls.push(command);
          return { ...(await sandbox.exec(["true"], options)), exitCode };
        },
      },
    };
  }

  it("runs pip and npm as argv with -- before the names, and reports the time of each", async () => {
    await using sandbox = await createProcessProvider().create({});
    const { sandbox: recorded, calls } = recording(sandbox);
    const steps = await installManifestPackages(recorded, {
      packages: { pip: ["numpy==2.1"], npm: ["lodash@4"] },
    });
    expect(calls).toEqual([
      ["python3", "-m", "pip", "install", "--no-input", "--quiet", "--", "numpy==2.1"],
      ["npm", "install", "--no-audit", "--no-fund", "--", "lodash@4"],
    ]);
    expect(steps.map((step) => [step.installer, step.packages])).toEqual([
      ["pip", ["numpy==2.1"]],
      ["npm", ["lodash@4"]],
    ]);
    for (const step of steps) expect(step.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("reports a failed install as sandbox_failed", async () => {
    await using sandbox = await createProcessProvider().create({});
    const { sandbox: failing } = recording(sandbox, 1);
    await expectSandportError(
      () => installManifestPackages(failing, { packages: { pip: ["numpy"] } }),
      "sandbox_failed",
    );
  });
});
