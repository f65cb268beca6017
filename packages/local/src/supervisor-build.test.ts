/**
 * The committed supervisor binaries are what `native/build.sh` makes from `native/src`: rebuilt
 * here and compared byte for byte, when the same toolchain is installed (see native/toolchain.txt).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const nativeDirectory = fileURLToPath(new URL("../native/", import.meta.url));
const recorded = readFileSync(join(nativeDirectory, "toolchain.txt"), "utf8").trim().split("\n");

/** The first line of `compiler --version`, or undefined when it is not installed. */
function compilerVersion(compiler: string): string | undefined {
  const result = spawnSync(compiler, ["--version"], { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 ? result.stdout.split("\n")[0] : undefined;
}

const installed = [compilerVersion("x86_64-linux-gnu-gcc"), compilerVersion("aarch64-linux-gnu-gcc")];
const sameToolchain = installed.every(
  (version, index) => version !== undefined && version === recorded[index],
);

describe("the committed supervisor binaries", () => {
  const output = mkdtempSync(join(tmpdir(), "sandport-native-"));
  afterAll(() => rmSync(output, { recursive: true, force: true }));

  it.skipIf(!sameToolchain)(
    `are rebuilt byte for byte from native/src (needs ${recorded.join(" and ")}; found ${installed.map((version) => version ?? "none").join(" and ")})`,
    () => {
      execFileSync(join(nativeDirectory, "build.sh"), [], {
        env: { ...process.env, SANDPORT_NATIVE_OUT: output },
        timeout: 120_000,
        stdio: "pipe",
      });
      for (const platform of ["linux-x64", "linux-arm64"]) {
        const rebuilt = readFileSync(join(output, platform, "sandport-supervisor"));
        const committed = readFileSync(join(nativeDirectory, "bin", platform, "sandport-supervisor"));
        expect(rebuilt.equals(committed), `${platform}: run native/build.sh and commit the result`).toBe(
          true,
        );
      }
    },
  );

  it("start on this machine and report their version", () => {
    const platform = process.arch === "arm64" ? "linux-arm64" : "linux-x64";
    const result = spawnSync(join(nativeDirectory, "bin", platform, "sandport-supervisor"), ["--version"], {
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(result.stdout).toMatch(/^sandport-supervisor \d+\n$/);
  });
});
