import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const example = resolve("examples/swap-backend-by-config.ts");

function runExample(cwd: string, args: string[] = []): string {
  return execFileSync(process.execPath, ["--conditions=@sandport/source", example, ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
}

describe("examples/swap-backend-by-config", () => {
  it("runs on the embedded default with no config file", () => {
    const directory = mkdtempSync(join(tmpdir(), "sandport-example-"));
    try {
      // The embedded default's first provider: V8 isolates under workerd.
      expect(JSON.parse(runExample(directory))).toEqual({ provider: "edge", exitCode: 0, stdout: "42" });
      // The same program, another backend, chosen by name.
      expect(JSON.parse(runExample(directory, ["local"]))).toEqual({
        provider: "local",
        exitCode: 0,
        stdout: "42",
      });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("uses the provider the config file names, by name", () => {
    const directory = mkdtempSync(join(tmpdir(), "sandport-example-"));
    try {
      writeFileSync(
        join(directory, "sandport.json"),
        JSON.stringify({ default: "team-box", providers: { "team-box": { type: "local", memoryMb: 2048 } } }),
      );
      expect(JSON.parse(runExample(directory))).toMatchObject({ provider: "team-box", stdout: "42" });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
