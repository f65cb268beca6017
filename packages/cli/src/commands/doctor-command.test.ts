import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { IsolationReport, LocalProviderSettings } from "@sandport/local";
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

describe("sandport doctor", () => {
  it("prints the problem and exits 1 when no isolation tool is usable", async () => {
    const { context: doctorContext, output } = context();
    const exitCode = await executeDoctorCommand({}, doctorContext, async () => brokenMachine);
    expect(exitCode).toBe(1);
    const text = output();
    expect(text).toContain(
      "supervisor  not usable  cannot create namespaces: Operation not permitted (/pkg/sandport-supervisor)",
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

  it("checks the configured local provider's settings", async () => {
    const { context: doctorContext, output } = context({
      providers: { edge: { type: "local", sandboxUid: 4242 }, box: { type: "local" } },
    });
    let received: LocalProviderSettings | undefined;
    const exitCode = await executeDoctorCommand({ json: true }, doctorContext, async (settings) => {
      received = settings;
      return {
        ...brokenMachine,
        selected: "supervisor",
        tools: [{ name: "supervisor", path: "/pkg/sandport-supervisor", usable: true }],
        limits: { scope: "sandbox", cgroupVersion: 1 },
        problem: undefined,
      };
    });
    expect(exitCode).toBe(0);
    expect(received).toEqual({ providerId: "edge", sandboxUid: 4242 });
    expect(JSON.parse(output())).toMatchObject({
      provider: "edge",
      selected: "supervisor",
      selectionReason: "the packaged sandbox supervisor builds each sandbox's namespaces itself",
      limits: { scope: "sandbox" },
    });
  });

  it("refuses a --provider that is not a local provider, naming the configured ones", async () => {
    const { context: doctorContext } = context({ providers: { box: { type: "local" } } });
    await expect(executeDoctorCommand({ provider: "nope" }, doctorContext)).rejects.toMatchObject({
      code: "invalid_request",
      message: 'unknown provider "nope"; configured providers: box',
    });
  });

  const workingMachine: IsolationReport = {
    ...brokenMachine,
    selected: "supervisor",
    tools: [{ name: "supervisor", path: "/pkg/sandport-supervisor", usable: true }],
    problem: undefined,
  };

  it("checks the local isolate engine of the embedded default and says when it cannot start", async () => {
    const { context: doctorContext, output } = context();
    const exitCode = await executeDoctorCommand(
      {},
      doctorContext,
      async () => workingMachine,
      async () => ({
        usable: false,
        workerdVersion: "1.20260730.1",
        startMs: undefined,
        boundToHost: false,
        problem: "workerd did not start: GLIBC_2.35 not found",
      }),
    );
    expect(exitCode).toBe(1);
    expect(output()).toContain('isolate engine, provider "edge" (cloudflare-isolate, local):');
    expect(output()).toContain("  not usable: workerd did not start: GLIBC_2.35 not found");
    expect(output()).toContain("would outlive a host that is killed");
  });

  it("runs a real test isolate when the engine works", async () => {
    const { context: doctorContext, output } = context();
    const exitCode = await executeDoctorCommand({ json: true }, doctorContext, async () => workingMachine);
    expect(exitCode).toBe(0);
    expect(JSON.parse(output())).toMatchObject({
      isolateEngine: { provider: "edge", usable: true, workerdVersion: expect.any(String) },
    });
  });

  it("skips the isolate engine when no provider runs isolates locally", async () => {
    const { context: doctorContext, output } = context({
      providers: { box: { type: "local" }, edge: { type: "cloudflare-isolate", mode: "remote" } },
    });
    await executeDoctorCommand({ json: true }, doctorContext, async () => workingMachine);
    expect(JSON.parse(output())).toMatchObject({ isolateEngine: null });
  });
});
