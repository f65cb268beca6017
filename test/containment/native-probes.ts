/**
 * Native programs the attack tests build with the host's C compiler (when there is one): static
 * probes for syscalls no command-line tool makes, a preload library, a host keyring helper.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalSandbox } from "@sandport/local";
import { hostTool } from "./containment-support.ts";

/** The host C compiler, or undefined. */
export const compiler = hostTool("cc") ?? hostTool("gcc");

/**
 * Compiles `source` into `directory/name`; returns the path, or throws with the compiler's
 * message. `kind`: a static executable, a dynamic one, or a shared object.
 */
export function compileC(
  directory: string,
  name: string,
  source: string,
  kind: "static" | "dynamic" | "shared",
): string {
  if (compiler === undefined) throw new Error("no C compiler on this host");
  const sourcePath = join(directory, `${name}.c`);
  const output = join(directory, name);
  writeFileSync(sourcePath, source);
  const flags = kind === "static" ? ["-static"] : kind === "shared" ? ["-shared", "-fPIC"] : [];
  const result = spawnSync(compiler, ["-O1", "-w", ...flags, "-o", output, sourcePath], { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`cannot compile ${name}: ${result.stderr || result.error?.message || result.status}`);
  }
  chmodSync(output, 0o755);
  return output;
}

/** Whether a static executable can be built here (a C compiler plus a static libc). */
export const canBuildStatic =
  compiler !== undefined &&
  spawnSync(compiler, ["-static", "-x", "c", "-o", "/dev/null", "-"], {
    input: "int main(void){return 0;}",
  }).status === 0;

/** Copies a host executable into the sandbox workspace as `name` and makes it executable there. */
export async function installIntoSandbox(
  sandbox: LocalSandbox,
  hostPath: string,
  name: string,
): Promise<void> {
  await sandbox.writeFile(name, new Uint8Array(readFileSync(hostPath)));
  const chmod = await sandbox.exec(["chmod", "755", name]);
  if (chmod.exitCode !== 0) throw new Error(`chmod ${name} in the sandbox failed: ${chmod.stderr}`);
}

/**
 * `syscall-probe NAME`: attempts one kernel operation and prints `NAME ok` (exit 0) when the
 * kernel allowed it, `NAME denied errno=N (text)` (exit 1) when it refused.
 */
export const syscallProbeSource = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEY_SPEC_PROCESS_KEYRING -2

static long attempt(const char *name) {
  if (!strcmp(name, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  }
  if (!strcmp(name, "perf_event_open")) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  }
  if (!strcmp(name, "userfaultfd")) {
    /* UFFD_USER_MODE_ONLY (1): the variant unprivileged processes may use. */
    return syscall(SYS_userfaultfd, O_CLOEXEC | 1);
  }
  if (!strcmp(name, "io_uring_setup")) {
    char params[120];
    memset(params, 0, sizeof params);
    return syscall(SYS_io_uring_setup, 4, params);
  }
  if (!strcmp(name, "keyctl")) {
    return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "sandport-probe");
  }
  if (!strcmp(name, "add_key")) {
    return syscall(SYS_add_key, "user", "sandport-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  }
  if (!strcmp(name, "setns")) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY);
    if (fd < 0) fd = open("/proc/self/ns/mnt", O_RDONLY);
    if (fd < 0) return -1;
    return setns(fd, 0);
  }
  if (!strcmp(name, "clone3_newuser")) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
  }
  if (!strcmp(name, "unshare_user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare_mount")) return unshare(CLONE_NEWNS);
  if (!strcmp(name, "unshare_net")) return unshare(CLONE_NEWNET);
  if (!strcmp(name, "mount_tmpfs")) return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(name, "raw_socket")) return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (!strcmp(name, "packet_socket")) return socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (!strcmp(name, "ptrace_pid1")) {
    long result = ptrace(PTRACE_SEIZE, 1, 0, 0);
    if (result == 0) ptrace(PTRACE_DETACH, 1, 0, 0);
    return result;
  }
  errno = EINVAL;
  fprintf(stderr, "unknown probe %s\n", name);
  return -2;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  errno = 0;
  long result = attempt(argv[1]);
  if (result == -2) return 2;
  if (result >= 0) {
    printf("%s ok\n", argv[1]);
    return 0;
  }
  printf("%s denied errno=%d (%s)\n", argv[1], errno, strerror(errno));
  return 1;
}
`;

/** The kernel operations {@link syscallProbeSource} knows; each must be refused in a sandbox. */
export const syscallProbes = [
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "io_uring_setup",
  "keyctl",
  "add_key",
  "setns",
  "clone3_newuser",
  "unshare_user",
  "unshare_mount",
  "unshare_net",
  "mount_tmpfs",
  "raw_socket",
  "packet_socket",
  "ptrace_pid1",
] as const;

/**
 * A preload library: its constructor appends `uid=… caps=… exe=…` of the process that loaded it
 * to `<markerDirectory>/hits` (a host directory: reachable only from the host) and to
 * `/workspace/preload-hits` (reachable only inside a sandbox).
 */
export function preloadLibrarySource(markerDirectory: string): string {
  return String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void record(const char *path) {
  char exe[512] = "?";
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (length > 0) exe[length] = 0;
  char caps[64] = "?";
  FILE *status = fopen("/proc/self/status", "r");
  if (status) {
    char line[256];
    while (fgets(line, sizeof line, status)) {
      if (!strncmp(line, "CapEff:", 7)) {
        sscanf(line + 7, "%63s", caps);
        break;
      }
    }
    fclose(status);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
  if (fd < 0) return;
  dprintf(fd, "uid=%d caps=%s exe=%s\n", (int)getuid(), caps, exe);
  close(fd);
}

__attribute__((constructor)) static void sandport_preload(void) {
  record(${JSON.stringify(`${markerDirectory}/hits`)});
  record("/workspace/preload-hits");
}
`;
}

/**
 * `keyring-host`: on the host, `keyring-host join DESC PAYLOAD CMD...` starts CMD in a new
 * session keyring holding a user key DESC; `keyring-host read DESC` prints that key's payload
 * (from the caller's session keyring). Built dynamically: it runs on the host only.
 */
export const keyringHostSource = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3

int main(int argc, char **argv) {
  if (argc >= 5 && !strcmp(argv[1], "join")) {
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "sandport-test-session") < 0) { perror("join"); return 3; }
    if (syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]), KEY_SPEC_SESSION_KEYRING) < 0) { perror("add_key"); return 3; }
    execvp(argv[4], argv + 4);
    perror("exec");
    return 3;
  }
  if (argc == 3 && !strcmp(argv[1], "read")) {
    long key = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[2], 0);
    if (key < 0) { perror("search"); return 3; }
    char payload[256];
    long length = syscall(SYS_keyctl, KEYCTL_READ, key, payload, sizeof payload - 1);
    if (length < 0) { perror("read"); return 3; }
    payload[length < (long)sizeof payload - 1 ? length : (long)sizeof payload - 1] = 0;
    printf("%s", payload);
    return 0;
  }
  return 2;
}
`;

/**
 * `keyring-probe DESC`, run inside a sandbox: reports what it can see of the session keyring it
 * inherited, and tries to find, read and overwrite the host's key DESC. One line per attempt.
 */
export const keyringProbeSource = String.raw`
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_UPDATE 2
#define KEYCTL_DESCRIBE 6
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  char text[512];
  long ring = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  long length = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, text, sizeof text - 1);
  if (length > 0) { text[length < (long)sizeof text - 1 ? length : (long)sizeof text - 1] = 0; printf("session ring=%ld describe=%s\n", ring, text); }
  else printf("session ring=%ld describe-errno=%d\n", ring, errno);
  long key = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[1], 0);
  if (key < 0) { printf("search denied errno=%d\n", errno); return 0; }
  printf("search found key=%ld\n", key);
  length = syscall(SYS_keyctl, KEYCTL_READ, key, text, sizeof text - 1);
  if (length >= 0) { text[length < (long)sizeof text - 1 ? length : (long)sizeof text - 1] = 0; printf("read payload=%s\n", text); }
  else printf("read denied errno=%d\n", errno);
  if (syscall(SYS_keyctl, KEYCTL_UPDATE, key, "tampered-by-sandbox", 19) == 0) printf("update ok\n");
  else printf("update denied errno=%d\n", errno);
  return 0;
}
`;

/**
 * `memory-hog MB shared|private`: maps MB MiB (MAP_SHARED anonymous, or private), touches every
 * page, prints `held`, then sleeps until killed.
 */
export const memoryHogSource = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  size_t size = (size_t)atol(argv[1]) << 20;
  int flags = !strcmp(argv[2], "shared") ? MAP_SHARED | MAP_ANONYMOUS : MAP_PRIVATE | MAP_ANONYMOUS;
  char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (memory == MAP_FAILED) { perror("mmap"); return 1; }
  for (size_t offset = 0; offset < size; offset += 4096) memory[offset] = 1;
  printf("held\n");
  fflush(stdout);
  for (;;) pause();
}
`;
