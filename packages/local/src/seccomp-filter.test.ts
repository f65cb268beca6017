/**
 * The sandbox's seccomp filter, call by call. native/test/seccomp-probe.c makes every call the
 * table (native/src/seccomp-table.h) rules on, in namespaces of its own where privileged calls
 * would succeed, once under the filter and once without it; this test reads the table and holds
 * each answer to it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findExecutable } from "./system-tools.ts";

const nativeDirectory = fileURLToPath(new URL("../native/", import.meta.url));
const tablePath = join(nativeDirectory, "src", "seccomp-table.h");
const compiler = findExecutable("cc");
const needsCompiler = "(needs cc on PATH to build the probe)";

/** What one table rule makes the probe print: the check's name and the answer the filter gives. */
interface TableRule {
  check: string;
  /** The syscall the rule names; undefined for the rule on numbers past the reviewed ones. */
  syscall: string | undefined;
  expected: string;
}

/** One line of the probe's output (see the comment at the top of seccomp-probe.c). */
interface ProbeLine {
  result: string;
  expected: string;
  kind: string;
}

interface ProbeRun {
  setup: Map<string, string>;
  checks: Map<string, ProbeLine>;
  output: string;
}

/** The rules of seccomp-table.h, in order, from the lines that expand its X-macros. */
function parseTable(text: string): TableRule[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "");
  const rules: TableRule[] = [];
  for (const match of code.matchAll(/^\s*SECCOMP_(\w+)\(([^)]*)\)\s*$/gm)) {
    const [, rule, argumentList] = match;
    const parts = (argumentList ?? "").split(",").map((part) => part.trim());
    const [name = "", second = "", value = "", fourth = ""] = parts;
    if (rule === "DENY_ABOVE" && parts.length === 2) {
      rules.push({ check: `above(${name})`, syscall: undefined, expected: second });
    } else if (rule === "DENY" && parts.length === 2) {
      rules.push({ check: name, syscall: name, expected: second });
    } else if ((rule === "DENY_IF_FLAG" || rule === "DENY_IF_EQUAL") && parts.length === 4) {
      rules.push({ check: `${name}(${value})`, syscall: name, expected: fourth });
    } else if (rule === "ALLOW_IF_EQUAL" && parts.length === 3) {
      rules.push({ check: `${name}(${value})`, syscall: name, expected: "ok" });
    } else {
      throw new Error(`seccomp-table.h: cannot read the rule "${match[0].trim()}"`);
    }
  }
  return rules;
}

/** Syscall names this compiler's headers (plus the table's own fallbacks) define for its target. */
function definedSyscalls(cc: string): Set<string> {
  const result = spawnSync(cc, ["-dM", "-E", "-x", "c", tablePath], { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) {
    throw new Error(`cc -dM -E seccomp-table.h failed: ${result.stderr || result.error?.message}`);
  }
  return new Set(Array.from(result.stdout.matchAll(/^#define __NR_(\w+) /gm), (match) => match[1] ?? ""));
}

function parseProbeOutput(output: string): ProbeRun {
  const setup = new Map<string, string>();
  const checks = new Map<string, ProbeLine>();
  for (const line of output.split("\n")) {
    const [name = "", result = "", expected = "", kind = ""] = line.split(" ");
    if (name === "setup") setup.set(result, expected);
    else if (name !== "summary" && name !== "") checks.set(name, { result, expected, kind });
  }
  return { setup, checks, output };
}

describe("the sandbox seccomp filter", () => {
  const buildDirectory = mkdtempSync(join(tmpdir(), "sandport-seccomp-"));
  afterAll(() => rmSync(buildDirectory, { recursive: true, force: true }));
  const rules = parseTable(readFileSync(tablePath, "utf8"));

  // Built and run once, by whichever test needs it first.
  let probePath: string | undefined;
  const runs = new Map<string, ProbeRun>();

  function builtProbe(): string {
    if (probePath !== undefined) return probePath;
    const output = join(buildDirectory, "seccomp-probe");
    const sources = [
      join(nativeDirectory, "test", "seccomp-probe.c"),
      join(nativeDirectory, "src", "seccomp-filter.c"),
    ];
    const flags = ["-static", "-O2", "-Wall", "-Wextra", "-Werror"];
    const result = spawnSync(compiler ?? "cc", [...flags, "-o", output, ...sources], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (result.status !== 0) {
      throw new Error(
        `cc ${flags.join(" ")} seccomp-probe.c failed: ${result.stderr || result.error?.message}`,
      );
    }
    probePath = output;
    return output;
  }

  function probeRun(mode: "--install" | "--baseline"): ProbeRun {
    const cached = runs.get(mode);
    if (cached !== undefined) return cached;
    const result = spawnSync(builtProbe(), [mode], { encoding: "utf8", timeout: 60_000 });
    if (result.error !== undefined || result.signal !== null) {
      throw new Error(
        `seccomp-probe ${mode} did not finish: ${result.error?.message ?? result.signal}\n${result.stdout}`,
      );
    }
    const run = parseProbeOutput(result.stdout);
    runs.set(mode, run);
    return run;
  }

  /** `check: answer` for every probe line whose answer is not the expected one. */
  function unexpectedAnswers(run: ProbeRun, expectations: Iterable<[string, string]>): string[] {
    const failures: string[] = [];
    for (const [check, expected] of expectations) {
      const line = run.checks.get(check);
      if (line === undefined) failures.push(`${check}: no line in the probe's output`);
      else if (line.result !== expected)
        failures.push(`${check}: answered ${line.result}, expected ${expected}`);
    }
    return failures;
  }

  it("denies at least what Docker's default profile denies a container without capabilities", () => {
    // Written out here, not read from the table: dropping a rule must fail a test.
    const floor = [
      ...["unshare", "setns", "chroot", "pivot_root", "mount", "umount", "umount2", "mount_setattr"],
      ...["move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick"],
      ...["keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd"],
      ...["io_uring_setup", "io_uring_enter", "io_uring_register"],
      ...["init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms"],
      ...["kexec_load", "kexec_file_load", "reboot", "sethostname", "setdomainname"],
      ...["settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "adjtimex"],
      ...["acct", "swapon", "swapoff", "quotactl", "quotactl_fd", "syslog", "vhangup", "iopl", "ioperm"],
      ...["open_by_handle_at", "name_to_handle_at", "process_vm_readv", "process_vm_writev"],
      ...["process_madvise", "kcmp", "pidfd_getfd", "fanotify_init", "lookup_dcookie", "nfsservctl"],
      ...["get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind", "migrate_pages"],
      ...["move_pages", "sysfs", "_sysctl", "uselib", "ustat", "vm86", "vm86old"],
      ...["afs_syscall", "tuxcall", "security"],
    ];
    const denied = new Set(rules.filter((rule) => rule.check === rule.syscall).map((rule) => rule.check));
    expect(floor.filter((name) => !denied.has(name))).toEqual([]);
  });

  it.skipIf(compiler === undefined)(`installs itself in the probe ${needsCompiler}`, () => {
    const run = probeRun("--install");
    expect(run.setup.get("filter"), run.output).toBe("ok");
  });

  it.skipIf(compiler === undefined)(
    `answers every call the table rules on as the table says ${needsCompiler}`,
    () => {
      const available = definedSyscalls(compiler ?? "cc");
      // A rule on a syscall this architecture lacks is compiled out of the filter and the probe alike.
      const present = rules.filter((rule) => rule.syscall === undefined || available.has(rule.syscall));
      expect(present.length).toBeGreaterThan(80);
      const run = probeRun("--install");
      const expectations = present.map((rule): [string, string] => [rule.check, rule.expected]);
      expect(unexpectedAnswers(run, expectations)).toEqual([]);
      // The probe's own reading of the table (its expected column) agrees with this one.
      const disagreements = present
        .filter((rule) => run.checks.get(rule.check)?.expected !== rule.expected)
        .map((rule) => `${rule.check}: the probe expects ${run.checks.get(rule.check)?.expected}`);
      expect(disagreements).toEqual([]);
    },
  );

  it.skipIf(compiler === undefined)(
    `refuses new namespaces, terminal injection, ASLR opt-outs and the other ABIs ${needsCompiler}`,
    () => {
      // Written out here, not read from the table: dropping one of these rules must fail a test.
      // The 32-bit and x32 entries exist on x86_64 only.
      const otherAbis: [string, string][] =
        process.arch === "x64"
          ? [
              ["abi(x32)", "SIGSYS"],
              ["abi(i386)", "SIGSYS"],
            ]
          : [];
      const expectations: [string, string][] = [
        ["unshare", "EPERM"],
        ["unshare(CLONE_NEWUSER)", "EPERM"],
        ["setns", "EPERM"],
        ["clone(CLONE_NEWUSER)", "EPERM"],
        ["clone(CLONE_NEWNS)", "EPERM"],
        ["clone(CLONE_NEWPID)", "EPERM"],
        ["clone(CLONE_NEWNET)", "EPERM"],
        ["clone3", "ENOSYS"],
        ["mount", "EPERM"],
        ["keyctl", "EPERM"],
        ["bpf", "EPERM"],
        ["io_uring_setup", "EPERM"],
        ["ioctl(TIOCSTI)", "EPERM"],
        ["personality", "EPERM"],
        ["personality(ADDR_NO_RANDOMIZE)", "EPERM"],
        ["socket(AF_VSOCK)", "EPERM"],
        ...otherAbis,
      ];
      expect(unexpectedAnswers(probeRun("--install"), expectations)).toEqual([]);
    },
  );

  it.skipIf(compiler === undefined)(
    `keeps fork, threads, exec and terminals working ${needsCompiler}`,
    () => {
      const run = probeRun("--install");
      const mustWork = [...run.checks].filter(([, line]) => line.kind === "works").map(([check]) => check);
      expect(mustWork).toEqual(
        expect.arrayContaining([
          "works(fork)",
          "works(pthread)",
          "works(clone)",
          "works(exec)",
          "works(personality)",
          "works(ioctl(TCGETS))",
          "personality(0xffffffff)",
        ]),
      );
      expect(
        unexpectedAnswers(
          run,
          mustWork.map((check): [string, string] => [check, "ok"]),
        ),
      ).toEqual([]);
    },
  );

  it.skipIf(compiler === undefined)(
    `gives every check, table rule or not, the answer the probe expects ${needsCompiler}`,
    () => {
      // Also catches a rule the probe has no harmless call for: it prints that check "untested".
      const run = probeRun("--install");
      const failures = [...run.checks]
        .filter(([, line]) => line.result !== line.expected || line.kind === "untested")
        .map(
          ([check, line]) => `${check}: answered ${line.result}, expected ${line.expected} (${line.kind})`,
        );
      expect(failures, run.output).toEqual([]);
    },
  );

  it.skipIf(compiler === undefined)(
    `is what refuses them: without it, each call gets another answer ${needsCompiler}`,
    (context) => {
      const baseline = probeRun("--baseline");
      if (baseline.setup.get("namespaces") !== "ok") {
        context.skip(`the probe cannot make namespaces of its own here: ${baseline.setup.get("namespaces")}`);
      }
      const filtered = probeRun("--install");
      const indistinguishable: string[] = [];
      for (const [check, line] of baseline.checks) {
        // "same": the kernel itself refuses those the same way here (see seccomp-probe.c).
        if (line.kind !== "succeeds" && line.kind !== "differs") continue;
        const expected = filtered.checks.get(check)?.expected;
        // A kernel without the call answers ENOSYS, and the filter's ENOSYS changes nothing.
        if (line.result === expected && expected !== "ENOSYS") {
          indistinguishable.push(`${check}: without the filter the kernel also answers ${line.result}`);
        }
      }
      expect(indistinguishable).toEqual([]);
    },
  );
});
