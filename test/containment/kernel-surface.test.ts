/**
 * Class 4: the kernel surface a sandboxed command reaches. Nested namespaces, mounts, raw
 * sockets, and syscalls with a history of privilege escalations (bpf, perf_event_open,
 * userfaultfd, io_uring, keyctl, clone3 with CLONE_NEWUSER, setns, ptrace of init) must all
 * be refused; the host's session keyring must be neither visible nor modifiable.
 */
import { createLocalProvider, type LocalSandbox } from "@sandport/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hostTool,
  removePaths,
  runNodeScript,
  temporaryDirectory,
  uniqueName,
  withDeadline,
} from "./containment-support.ts";
import {
  canBuildStatic,
  compileC,
  compiler,
  installIntoSandbox,
  keyringHostSource,
  keyringProbeSource,
  syscallProbeSource,
  syscallProbes,
} from "./native-probes.ts";

const stateDirectory = temporaryDirectory("sandport-kernel-surface");
const buildDirectory = temporaryDirectory("sandport-kernel-build");
const provider = createLocalProvider({ stateDirectory });
const pythonInside = provider.capabilities.runtimes.includes("python");
let sandbox: LocalSandbox | undefined;

beforeAll(async () => {
  sandbox = await withDeadline(provider.create({}), 30_000, "create");
}, 60_000);

afterAll(async () => {
  await sandbox?.destroy().catch(() => {});
  removePaths(stateDirectory, buildDirectory);
});

async function run(script: string) {
  return withDeadline((sandbox as LocalSandbox).exec({ shell: script }), 30_000, script);
}

describe("namespaces and mounts from inside", () => {
  it.each(["-U", "-r", "-Ur", "-n", "-m", "-p -f", "-Um"])(
    "`unshare %s` fails, and grants no capabilities",
    async (flags) => {
      const result = await run(`unshare ${flags} sh -c 'grep CapEff /proc/self/status'`);
      expect(result.stdout, "capabilities in a nested namespace").not.toMatch(/CapEff:\s*0*[1-9a-f]/);
      expect(result.exitCode, `unshare ${flags} succeeded: ${result.stdout}`).not.toBe(0);
    },
    60_000,
  );

  it("cannot mount a tmpfs, and nothing is mounted", async () => {
    const result = await run(
      "mkdir -p /tmp/x && mount -t tmpfs none /tmp/x; echo status=$?; grep -c ' /tmp/x ' /proc/self/mountinfo",
    );
    expect(result.stdout).not.toMatch(/status=0\b/);
    expect(result.stdout.trim().split("\n").at(-1)).toBe("0");
  }, 60_000);

  it.skipIf(!pythonInside)(
    "(needs python in the sandbox) cannot open a raw or packet socket",
    async () => {
      for (const kind of [
        "socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP",
        "socket.AF_PACKET, socket.SOCK_RAW, 3",
      ]) {
        const result = await run(`python3 -c 'import socket; socket.socket(${kind}); print("opened")'`);
        expect(result.stdout, kind).not.toContain("opened");
        expect(result.exitCode, kind).not.toBe(0);
      }
    },
    60_000,
  );

  it.skipIf(hostTool("ping") === undefined)(
    "(needs ping on the host's /usr) cannot ping",
    async () => {
      const result = await run("ping -c1 -W1 127.0.0.1");
      expect(result.exitCode).not.toBe(0);
    },
    60_000,
  );
});

describe("syscall probes", () => {
  let probeInstalled = false;

  beforeAll(async () => {
    if (!canBuildStatic) return;
    const probe = compileC(buildDirectory, "syscall-probe", syscallProbeSource, "static");
    await installIntoSandbox(sandbox as LocalSandbox, probe, "syscall-probe");
    probeInstalled = true;
  }, 60_000);

  it.skipIf(!canBuildStatic).each(syscallProbes)(
    "(needs cc with a static libc) %s is refused",
    async (name) => {
      expect(probeInstalled).toBe(true);
      const result = await withDeadline(
        (sandbox as LocalSandbox).exec(["./syscall-probe", name]),
        30_000,
        `probe ${name}`,
      );
      expect(result.stdout, `${name} was allowed`).not.toContain(`${name} ok`);
      // Refused with an error (exit 1), or the process killed by a seccomp filter (128 + SIGSYS).
      expect(result.exitCode, `${result.stdout}${result.stderr}`).not.toBe(0);
      expect(result.exitCode, `${result.stdout}${result.stderr}`).not.toBe(2);
    },
    60_000,
  );
});

describe("the host's session keyring", () => {
  it.skipIf(compiler === undefined || !canBuildStatic)(
    "(needs cc with a static libc) is neither visible nor modifiable from inside",
    async () => {
      const keyringHost = compileC(buildDirectory, "keyring-host", keyringHostSource, "dynamic");
      const keyringProbe = compileC(buildDirectory, "keyring-probe", keyringProbeSource, "static");
      const description = uniqueName("sandport-test-key");
      const payload = uniqueName("host-key-payload");
      const childState = temporaryDirectory("sandport-keyring-state");
      // The provider runs in a host process whose session keyring holds a key, as a login shell
      // or a systemd service has; sandboxes it starts must not inherit that keyring.
      const script = `
        import { execFileSync } from "node:child_process";
        import { readFileSync } from "node:fs";
        import { createLocalProvider } from "@sandport/local";
        const read = () => execFileSync(${JSON.stringify(keyringHost)}, ["read", ${JSON.stringify(description)}], { encoding: "utf8" });
        const hostControl = read();
        const provider = createLocalProvider({ stateDirectory: ${JSON.stringify(childState)} });
        const sandbox = await provider.create({});
        try {
          await sandbox.writeFile("keyring-probe", new Uint8Array(readFileSync(${JSON.stringify(keyringProbe)})));
          await sandbox.exec(["chmod", "755", "keyring-probe"]);
          const inside = await sandbox.exec({ shell: "cat /proc/keys; echo ---; cat /proc/key-users; echo ---; ./keyring-probe ${description}" });
          console.log(JSON.stringify({ hostControl, inside: inside.stdout + inside.stderr, after: read() }));
        } finally {
          await sandbox.destroy();
        }`;
      try {
        const outcome = await runNodeScript(script, {
          prefix: [keyringHost, "join", description, payload],
          deadlineMs: 60_000,
          label: "keyring attack",
        });
        expect(outcome.code, outcome.stderr).toBe(0);
        const report = JSON.parse(outcome.stdout) as { hostControl: string; inside: string; after: string };
        // The setup is real: the host process holds the key.
        expect(report.hostControl).toBe(payload);
        expect(report.inside, "the host's key is visible inside").not.toContain(description);
        expect(report.inside, "the host's session keyring is the sandbox's").not.toContain(
          "sandport-test-session",
        );
        expect(report.inside).not.toContain("search found");
        expect(report.after, "the sandbox changed the host's key").toBe(payload);
      } finally {
        removePaths(childState);
      }
    },
    90_000,
  );
});
