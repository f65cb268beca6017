import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { diagnoseIsolateEngine } from "@sandport/cloudflare";
import type { ConfiguredProvider } from "@sandport/core";
import { diagnoseLocal, type IsolationReport } from "@sandport/local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CliContext } from "../cli-context.ts";
import { defaultRegistry } from "../default-registry.ts";
import { executeDoctorCommand } from "./doctor-command.ts";

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "sandport-doctor-"));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function context(config?: unknown) {
  if (config !== undefined) writeFileSync(join(directory, "sandport.json"), JSON.stringify(config));
  let stdout = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stdout += chunk.toString();
      callback();
    },
  });
  const value: CliContext = {
    environment: {
      stdout: stream,
      stderr: stream,
      readStdin: async () => "",
      env: {},
      cwd: directory,
      onInterrupt: () => () => {},
    },
    registry: defaultRegistry(),
    globalOptions: () => ({}),
    setExitCode() {},
    redact: (text) => text,
  };
  return { context: value, output: () => stdout };
}

const brokenMachine: IsolationReport = {
  selected: undefined,
  tools: [
    {
      name: "supervisor",
      path: "/pkg/sandport-supervisor",
      usable: false,
      reason: "cannot create namespaces: Operation not permitted",
    },
  ],
  runningAsRoot: false,
  sandboxUid: 1000,
  runtimes: { shell: "/bin/sh" },
  limits: { scope: "process", reason: "cgroup v2 is not delegated to this user", fix: "run as root" },
  problem: "no usable namespace isolation. Fix: allow unprivileged user namespaces.",
};

const workingMachine: IsolationReport = {
  ...brokenMachine,
  selected: "supervisor",
  tools: [{ name: "supervisor", path: "/pkg/sandport-supervisor", usable: true }],
  limits: { scope: "sandbox", cgroupVersion: 1 },
  problem: undefined,
};

/** A doctor whose local probe sees `machine`; other types check for real. */
function localProbe(machine: IsolationReport) {
  return (entry: ConfiguredProvider, settings: object) =>
    entry.factory.type === "local"
      ? diagnoseLocal(settings, async () => machine)
      : (entry.factory.diagnose?.(settings, { providerId: entry.name }) ??
        Promise.reject(new Error("no diagnose")));
}

describe("sandport doctor", () => {
  it("prints the local problem and its fix, and exits 1, when no isolation is usable", async () => {
    const { context: doctorContext, output } = context({ providers: { box: { type: "local" } } });
    const exitCode = await executeDoctorCommand({}, doctorContext, localProbe(brokenMachine));
    expect(exitCode).toBe(1);
    const text = output();
    expect(text).toContain('provider "box" (local): NOT usable');
    expect(text).toContain(
      "isolation:  supervisor not usable: cannot create namespaces: Operation not permitted (/pkg/sandport-supervisor)",
    );
    expect(text).toContain("selected:   nothing (no isolation is usable)");
    expect(text).toContain("limits:     per process only (rlimits): cgroup v2 is not delegated to this user");
    expect(text).toContain("to limit each sandbox as a whole: run as root");
    expect(text).toContain("running as: an unprivileged user; sandboxes run as uid 1000");
    expect(text).toContain("python (not found)");
    expect(text).toContain(
      "problem:    no usable namespace isolation. Fix: allow unprivileged user namespaces.",
    );
  });

  it("checks the provider named with --provider, with its own settings", async () => {
    const { context: doctorContext, output } = context({
      providers: { edge: { type: "local", sandboxUid: 4242 }, box: { type: "local" } },
    });
    const seen: Array<{ name: string; settings: object }> = [];
    const exitCode = await executeDoctorCommand(
      { json: true, provider: "edge" },
      doctorContext,
      async (entry, settings) => {
        seen.push({ name: entry.name, settings });
        return diagnoseLocal(settings, async () => workingMachine);
      },
    );
    expect(exitCode).toBe(0);
    expect(seen).toEqual([{ name: "edge", settings: { sandboxUid: 4242 } }]);
    expect(JSON.parse(output())).toMatchObject({
      providers: [{ provider: "edge", type: "local", usable: true, details: { selected: "supervisor" } }],
    });
  });

  it("refuses a --provider that is not configured, naming the configured ones", async () => {
    const { context: doctorContext } = context({ providers: { box: { type: "local" } } });
    await expect(executeDoctorCommand({ provider: "nope" }, doctorContext)).rejects.toMatchObject({
      code: "invalid_request",
      message: 'unknown provider "nope"; configured providers: box',
    });
  });

  it("checks the local isolate engine of the embedded default and says when it cannot start", async () => {
    const { context: doctorContext, output } = context();
    const exitCode = await executeDoctorCommand({}, doctorContext, (entry, settings) =>
      entry.factory.type === "cloudflare-isolate"
        ? diagnoseIsolateEngine("local", async () => ({
            usable: false,
            workerdVersion: "1.20260730.1",
            startMs: undefined,
            boundToHost: false,
            problem: "workerd did not start: GLIBC_2.35 not found",
          }))
        : localProbe(workingMachine)(entry, settings),
    );
    expect(exitCode).toBe(1);
    expect(output()).toContain('provider "edge" (cloudflare-isolate): NOT usable');
    expect(output()).toContain("problem:    workerd did not start: GLIBC_2.35 not found");
    expect(output()).toContain("would outlive a host that is killed");
    expect(output()).toContain('provider "local" (local): usable');
  });

  it("runs a real test isolate when the engine works", async () => {
    const { context: doctorContext, output } = context();
    const exitCode = await executeDoctorCommand({ json: true }, doctorContext, localProbe(workingMachine));
    expect(exitCode).toBe(0);
    const report = JSON.parse(output()) as { providers: Array<{ provider: string; details?: unknown }> };
    expect(report.providers.find((finding) => finding.provider === "edge")).toMatchObject({
      usable: true,
      details: { usable: true, workerdVersion: expect.any(String) },
    });
  });

  it("starts nothing for an isolate provider in remote mode, and nothing for a container", async () => {
    const { context: doctorContext, output } = context({
      providers: {
        edge: { type: "cloudflare-isolate", mode: "remote" },
        box: { type: "cloudflare-container", url: "https://bridge.example.test", token: "t" },
      },
    });
    expect(await executeDoctorCommand({ json: true }, doctorContext)).toBe(0);
    expect(JSON.parse(output())).toEqual({
      providers: [
        {
          provider: "edge",
          type: "cloudflare-isolate",
          usable: true,
          lines: ["mode remote: isolates run on the deployed isolate Worker, nothing runs here"],
        },
      ],
    });
  });
});
