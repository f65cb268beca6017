/*
 * seccomp-probe: makes every call the sandbox's seccomp table (src/seccomp-table.h) rules on,
 * with arguments that stay harmless whether or not a filter stops the call, and prints what came
 * back, one line a check:
 *
 *   <check> <result> <expected> <kind>
 *
 * result and expected are "ok", an errno name (EPERM) or the signal that killed the caller
 * (SIGSYS); expected is what the table says the filter answers. kind says what the call would do
 * WITHOUT the filter, inside the probe's own namespaces (see --install):
 *   succeeds  it would succeed (where the kernel has the call and its sysctls allow it): the
 *             strongest evidence that the filter is what refused it
 *   differs   harmless invalid arguments: the kernel would answer another errno than the filter
 *   same      the kernel itself refuses it with the same errno here (a capability of the initial
 *             user namespace, a sysctl, a missing kernel option): the line cannot tell who refused
 *   works     must keep working under the filter
 * --baseline shows the unfiltered answers, so a test can hold every line to its kind.
 *
 * Usage:
 *   seccomp-probe --install   enter fresh user, mount, pid, uts, ipc, net and cgroup namespaces as
 *                             their root (so privileged calls would succeed there), install the
 *                             filter, run the checks; exit 1 when a result is not the expected one
 *   seccomp-probe --baseline  the same namespaces without the filter
 *   seccomp-probe             neither: report what the current environment allows (for example
 *                             inside a real sandbox); exit 1 when it does not enforce the table
 * Outside its own namespaces (no flag, or they could not be made) the probe may be real root on a
 * host, so each call then takes its harmless invalid form and the kind reads "uncontained".
 *
 * Every check runs in a child of its own: what a call changes (a namespace, the personality, a
 * keyring, the root directory) dies with it, and a call that kills its caller is reported.
 *
 * Build: cc -static -O2 -Wall -Wextra -Werror seccomp-probe.c ../src/seccomp-filter.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../src/seccomp-filter.h"
#include "../src/seccomp-table.h"

#if defined(__x86_64__)
#define X32_SYSCALL_BIT 0x40000000L
#endif

/*
 * Outcomes: 0 is success, a positive number an errno, a negative one the signal that killed the
 * caller; these three sit above every errno. A skipped check (its environment lacks what it
 * needs) is not counted as a mismatch.
 */
#define OUTCOME_UNTESTED 1000
#define OUTCOME_PROBE_ERROR 1001
#define OUTCOME_SKIPPED 1002

/* A child that could not set its call up, or had to skip it, exits with these (no errno is this high). */
#define PROBE_ERROR_EXIT 254
#define SKIPPED_EXIT 253

/* A check child that hangs is killed by SIGALRM after this long, and reported as such. */
#define CHECK_TIMEOUT_SECONDS 10

/* Seen from outside its own namespaces (see the header comment). */
static const char missing_path[] = "/nonexistent-sandport-probe";
/* Inside them, where /tmp is the probe's own tmpfs. */
static const char mount_target[] = "/tmp/mount-target";
static const char mounted_fixture[] = "/tmp/mounted";

struct call {
	const char *name;
	const char *kind;
	long number; /* the syscall whose verdict the check observes */
	unsigned long arguments[6];
	bool foreign_abi; /* made through the 32-bit x86 entry, not the native one */
	void (*prepare)(struct call *call); /* in the child, before the call */
	int (*perform)(struct call *call); /* in the child, instead of the plain syscall */
};

#define POINTER(value) ((unsigned long)(uintptr_t)(value))
#define NUMBER(value) ((unsigned long)(long)(value))
#define SET_ARGUMENTS(call, ...) memcpy((call)->arguments, (unsigned long[6]){ __VA_ARGS__ }, sizeof((call)->arguments))

/* A fork into new namespaces, whose child exits at once, is harmless: clone checks use these flags. */
#define NAMESPACE_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | \
			CLONE_NEWTIME)

static bool contained = false;
static int mismatches = 0;

/* ---- What the table says: the filter's rules, evaluated in C the same way, in the same order ---- */

static int expected_outcome(const struct call *call)
{
	if (call->foreign_abi)
		return -SIGSYS;
	uint32_t number = (uint32_t)call->number;
#if defined(__x86_64__)
	if (number >= (uint32_t)X32_SYSCALL_BIT)
		return -SIGSYS;
#endif
#define ARGUMENT(index) ((uint32_t)call->arguments[index])
#define SECCOMP_DENY_ABOVE(newest, error) \
	if (number > (newest)) \
		return (error);
#define SECCOMP_DENY(name, error) \
	if (number == __NR_##name) \
		return (error);
#define SECCOMP_DENY_IF_FLAG(name, argument, flag, error) \
	if (number == __NR_##name && (ARGUMENT(argument) & (flag)) != 0) \
		return (error);
#define SECCOMP_DENY_IF_EQUAL(name, argument, value, error) \
	if (number == __NR_##name && ARGUMENT(argument) == (value)) \
		return (error);
#define SECCOMP_ALLOW_IF_EQUAL(name, argument, value) \
	if (number == __NR_##name && ARGUMENT(argument) == (value)) \
		return 0;
#include "../src/seccomp-table.h"
#undef ARGUMENT
	return 0;
}

/* ---- Fixtures the calls point at (a check child gets its own copy of each) ---- */

/* Its string names the probe's own uts namespace; its whole size is one past __NEW_UTS_LEN. */
static char host_name[65] = "sandport-probe";
static struct timeval invalid_time = { .tv_sec = 0, .tv_usec = -1 };
static struct timespec zero_time;
static struct timex read_only_clock; /* modes 0: only reads the clock */
static struct {
	uint32_t handle_bytes;
	int32_t handle_type;
	unsigned char handle[128];
} file_handle = { .handle_bytes = 128 };
static int mount_id;
static char memory_source[16] = "sandport-probe";
static char memory_target[16];
static struct iovec source_vector = { memory_source, sizeof memory_source };
static struct iovec target_vector = { memory_target, sizeof memory_target };
static struct iovec page_vector;
static struct {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
} nosuid_attributes = { .attr_set = 0x2 /* MOUNT_ATTR_NOSUID */ };
static struct {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
} fork_like_clone = { .exit_signal = SIGCHLD };
static uint64_t io_uring_parameters[16]; /* struct io_uring_params, 120 bytes, all zero */
#ifdef __NR_ustat
static uint64_t ustat_buffer[8];
#endif
static uint32_t quota_format;
static unsigned long first_node = 1; /* a node mask holding node 0, which every machine has */
static char terminal_input = '\n';
static char console_subcode = 6; /* TIOCL_GETSHIFTSTATE: a read */
static struct termios terminal_settings;

/* ---- Preparations, run in the check child ---- */

static void fail_preparation(void)
{
	_exit(PROBE_ERROR_EXIT);
}

static int open_own_pidfd(void)
{
	int pidfd = (int)syscall(__NR_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		fail_preparation();
	return pidfd;
}

static void *map_page(size_t size)
{
	char *page = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		fail_preparation();
	page[0] = 1; /* something for MADV_COLD to act on */
	return page;
}

static void prepare_own_pid(struct call *call)
{
	call->arguments[0] = NUMBER(getpid());
}

static void prepare_own_pid_twice(struct call *call)
{
	call->arguments[0] = NUMBER(getpid());
	call->arguments[1] = NUMBER(getpid());
}

static void prepare_own_pidfd(struct call *call)
{
	call->arguments[0] = NUMBER(open_own_pidfd());
}

static void prepare_own_uts_namespace(struct call *call)
{
	int namespace = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (namespace < 0)
		fail_preparation();
	call->arguments[0] = NUMBER(namespace);
}

static void prepare_page(struct call *call)
{
	size_t size = (size_t)sysconf(_SC_PAGESIZE);
	call->arguments[0] = POINTER(map_page(size));
	call->arguments[1] = size;
}

static void prepare_page_advice(struct call *call)
{
	size_t size = (size_t)sysconf(_SC_PAGESIZE);
	page_vector = (struct iovec){ map_page(size), size };
	call->arguments[0] = NUMBER(open_own_pidfd());
}

/*
 * A session of its own with a new pseudo-terminal as its controlling terminal (TIOCSTI only
 * pushes input into the caller's own terminal, and this one dies with the child), or -1 where
 * there are no pseudo-terminals (a sandbox's /dev, say).
 */
static int open_own_terminal(void)
{
	if (setsid() < 0)
		fail_preparation();
	int controller = posix_openpt(O_RDWR | O_NOCTTY);
	if (controller < 0 || grantpt(controller) != 0 || unlockpt(controller) != 0)
		return -1;
	const char *name = ptsname(controller);
	return name == NULL ? -1 : open(name, O_RDWR); /* no O_NOCTTY: it becomes ours */
}

/* Without a terminal, /dev/null: the filter judges the request, not the descriptor. */
static void prepare_own_terminal(struct call *call)
{
	int terminal = open_own_terminal();
	if (terminal < 0)
		terminal = open("/dev/null", O_RDWR);
	if (terminal < 0)
		fail_preparation();
	call->arguments[0] = NUMBER(terminal);
}

/* A check that something works on a terminal is skipped where there is none. */
static void prepare_own_terminal_or_skip(struct call *call)
{
	int terminal = open_own_terminal();
	if (terminal < 0)
		_exit(SKIPPED_EXIT);
	call->arguments[0] = NUMBER(terminal);
}

/* Without a controlling terminal vhangup has nothing to hang up, even for real root. */
static void prepare_new_session(struct call *call)
{
	(void)call;
	if (setsid() < 0)
		fail_preparation();
}

/* ---- Performing a call, in the check child ---- */

/* How a child ended, as an outcome. */
static int wait_for(pid_t child)
{
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return OUTCOME_PROBE_ERROR;
	}
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	int code = WEXITSTATUS(status);
	return code == PROBE_ERROR_EXIT ? OUTCOME_PROBE_ERROR : code == SKIPPED_EXIT ? OUTCOME_SKIPPED : code;
}

static int perform_syscall(struct call *call)
{
	const unsigned long *argument = call->arguments;
	/* A fork-like clone returns 0 in the new process too, which leaves the same way. */
	long result = syscall(call->number, argument[0], argument[1], argument[2], argument[3], argument[4], argument[5]);
	return result == -1 ? errno : 0;
}

static int perform_fork(struct call *call)
{
	(void)call;
	pid_t child = fork();
	if (child < 0)
		return errno;
	if (child == 0)
		_exit(0);
	return wait_for(child);
}

static void *thread_main(void *argument)
{
	return argument;
}

static int perform_thread(struct call *call)
{
	(void)call;
	pthread_t thread;
	int error = pthread_create(&thread, NULL, thread_main, NULL);
	return error != 0 ? error : pthread_join(thread, NULL);
}

/* Executes the probe itself (with --exit): no dependency on any other program being there. */
static int perform_spawn(struct call *call)
{
	(void)call;
	char *arguments[] = { "seccomp-probe", "--exit", NULL };
	pid_t child;
	int error = posix_spawn(&child, "/proc/self/exe", NULL, NULL, arguments, environ);
	return error != 0 ? error : wait_for(child);
}

static int perform_legacy_aio(struct call *call)
{
	(void)call;
	unsigned long context = 0;
	if (syscall(__NR_io_setup, 1, &context) != 0)
		return errno;
	return syscall(__NR_io_destroy, context) == 0 ? 0 : errno;
}

static int perform_socket(struct call *call)
{
	int descriptor = socket((int)call->arguments[0], SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (descriptor < 0)
		return errno;
	close(descriptor);
	return 0;
}

#if defined(__x86_64__)
/* getpid through the 32-bit entry (int 0x80), which seccomp sees as AUDIT_ARCH_I386. */
static int perform_i386_getpid(struct call *call)
{
	(void)call;
	long result = 20; /* getpid in the i386 table */
	__asm__ volatile("int $0x80" : "+a"(result) : : "memory", "r8", "r9", "r10", "r11");
	return result < 0 ? (int)-result : 0;
}
#endif

/* ---- Running one check ---- */

static void reap_orphans(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

static int run_in_child(struct call *call)
{
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		return OUTCOME_PROBE_ERROR;
	if (child == 0) {
		alarm(CHECK_TIMEOUT_SECONDS);
		if (call->prepare != NULL)
			call->prepare(call);
		_exit(call->perform != NULL ? call->perform(call) : perform_syscall(call));
	}
	int outcome = wait_for(child);
	reap_orphans(); /* grandchildren of fork-like calls, when the probe is its pid namespace's init */
	return outcome;
}

static const char *outcome_name(int outcome, char buffer[32])
{
	if (outcome == 0)
		return "ok";
	if (outcome == OUTCOME_UNTESTED)
		return "untested";
	if (outcome == OUTCOME_PROBE_ERROR)
		return "probe-error";
	if (outcome == OUTCOME_SKIPPED)
		return "skipped";
	if (outcome < 0) {
		const char *signal_name = sigabbrev_np(-outcome);
		snprintf(buffer, 32, "SIG%s", signal_name != NULL ? signal_name : "UNKNOWN");
		return buffer;
	}
	const char *error_name = strerrorname_np(outcome);
	if (error_name != NULL)
		return error_name;
	snprintf(buffer, 32, "E%d", outcome);
	return buffer;
}

static bool must_work(const struct call *call)
{
	return strcmp(call->kind, "works") == 0;
}

static void report(const struct call *call, int result)
{
	int expected = must_work(call) ? 0 : expected_outcome(call);
	const char *kind = must_work(call) || contained ? call->kind : "uncontained";
	char result_buffer[32], expected_buffer[32];
	printf("%s %s %s %s\n", call->name, outcome_name(result, result_buffer), outcome_name(expected, expected_buffer),
			kind);
	if (result != expected && result != OUTCOME_SKIPPED)
		mismatches++;
}

static void run_check(struct call *call)
{
	report(call, run_in_child(call));
}

static void report_untested(const char *name, long number)
{
	struct call call = { .name = name, .kind = "untested", .number = number };
	report(&call, OUTCOME_UNTESTED);
}

/* ---- Arguments for every refused call: harmless, and as strong as the mode allows ---- */

static bool describe_namespace_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_unshare
	case __NR_unshare:
		SET_ARGUMENTS(call, CLONE_NEWUTS);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_setns
	case __NR_setns: /* rejoining its own uts namespace */
		SET_ARGUMENTS(call, 0, CLONE_NEWUTS);
		call->prepare = prepare_own_uts_namespace;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_clone3
	case __NR_clone3: /* a plain fork */
		SET_ARGUMENTS(call, POINTER(&fork_like_clone), sizeof fork_like_clone);
		call->kind = "succeeds";
		return true;
#endif
	default:
		return false;
	}
}

static bool describe_mount_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_mount
	case __NR_mount:
		if (contained)
			SET_ARGUMENTS(call, POINTER("none"), POINTER(mount_target), POINTER("tmpfs"), 0, 0);
		else
			SET_ARGUMENTS(call, POINTER("none"), POINTER(missing_path), POINTER("tmpfs"), 0, 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_umount
	case __NR_umount:
		SET_ARGUMENTS(call, POINTER(missing_path));
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_umount2
	case __NR_umount2:
		if (contained)
			SET_ARGUMENTS(call, POINTER(mounted_fixture), 0);
		else
			SET_ARGUMENTS(call, POINTER("/"), 0x100 /* no such flag */);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_pivot_root
	case __NR_pivot_root:
		SET_ARGUMENTS(call, POINTER(missing_path), POINTER(missing_path));
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_chroot
	case __NR_chroot:
		SET_ARGUMENTS(call, POINTER(contained ? "/" : missing_path));
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_mount_setattr
	case __NR_mount_setattr:
		if (contained)
			SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER("/tmp"), 0, POINTER(&nosuid_attributes), 32);
		else
			SET_ARGUMENTS(call, NUMBER(-1), POINTER(""), AT_EMPTY_PATH, POINTER(&nosuid_attributes), 32);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_move_mount
	case __NR_move_mount:
		SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER(missing_path), NUMBER(AT_FDCWD), POINTER(missing_path), 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_open_tree
	case __NR_open_tree: /* without OPEN_TREE_CLONE: a path descriptor */
		SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER("/"), 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_open_tree_attr
	case __NR_open_tree_attr:
		SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER("/"), 0, 0, 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_fsopen
	case __NR_fsopen: /* a filesystem context, never mounted */
		SET_ARGUMENTS(call, POINTER("tmpfs"), 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_fsconfig
	case __NR_fsconfig:
		SET_ARGUMENTS(call, NUMBER(-1), 0 /* FSCONFIG_SET_FLAG */, POINTER("ro"), 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_fsmount
	case __NR_fsmount:
		SET_ARGUMENTS(call, NUMBER(-1), 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_fspick
	case __NR_fspick: /* a reconfiguration context, never applied */
		SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER(contained ? "/tmp" : missing_path), 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_statmount
	case __NR_statmount:
		SET_ARGUMENTS(call, 0, 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_listmount
	case __NR_listmount:
		SET_ARGUMENTS(call, 0, 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
	default:
		return false;
	}
}

static bool describe_key_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_keyctl
	case __NR_keyctl: /* the thread keyring, which dies with the check child */
		SET_ARGUMENTS(call, KEYCTL_GET_KEYRING_ID, NUMBER(KEY_SPEC_THREAD_KEYRING), 1 /* create it */);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_add_key
	case __NR_add_key:
		SET_ARGUMENTS(call, POINTER("user"), POINTER("sandport-probe"), POINTER("x"), 1,
				NUMBER(KEY_SPEC_THREAD_KEYRING));
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_request_key
	case __NR_request_key: /* a key nobody added, and no upcall to make one */
		SET_ARGUMENTS(call, POINTER("user"), POINTER("sandport-probe-missing"), 0, 0);
		call->kind = "differs";
		return true;
#endif
	default:
		return false;
	}
}

static bool describe_surface_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_bpf
	case __NR_bpf:
		SET_ARGUMENTS(call, 0xffff /* no such command */, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_perf_event_open
	case __NR_perf_event_open:
		SET_ARGUMENTS(call, 0 /* no attributes */, 0, NUMBER(-1), NUMBER(-1), 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_userfaultfd
	case __NR_userfaultfd:
		SET_ARGUMENTS(call, 1 /* UFFD_USER_MODE_ONLY: allowed without privilege */ | O_CLOEXEC);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_io_uring_setup
	case __NR_io_uring_setup:
		SET_ARGUMENTS(call, 1, POINTER(io_uring_parameters));
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_io_uring_enter
	case __NR_io_uring_enter:
		SET_ARGUMENTS(call, NUMBER(-1), 0, 0, 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_io_uring_register
	case __NR_io_uring_register:
		SET_ARGUMENTS(call, NUMBER(-1), 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
	default:
		return false;
	}
}

/* Loading and replacing kernels needs capabilities of the initial user namespace: "same". */
static bool describe_module_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_init_module
	case __NR_init_module: /* an empty image */
		SET_ARGUMENTS(call, 0, 0, POINTER(""));
		call->kind = "same";
		return true;
#endif
#ifdef __NR_finit_module
	case __NR_finit_module:
		SET_ARGUMENTS(call, NUMBER(-1), POINTER(""), 0);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_delete_module
	case __NR_delete_module:
		SET_ARGUMENTS(call, POINTER("sandport_probe_missing"), O_NONBLOCK);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_create_module
	case __NR_create_module: /* removed in Linux 2.6: ENOSYS */
		SET_ARGUMENTS(call, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_query_module
	case __NR_query_module:
		SET_ARGUMENTS(call, 0, 0, 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_get_kernel_syms
	case __NR_get_kernel_syms:
		SET_ARGUMENTS(call, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_kexec_load
	case __NR_kexec_load: /* flags no kernel accepts */
		SET_ARGUMENTS(call, 0, 0, 0, 0xffffffffUL);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_kexec_file_load
	case __NR_kexec_file_load:
		SET_ARGUMENTS(call, NUMBER(-1), NUMBER(-1), 0, 0, 0xffffffffUL);
		call->kind = "same";
		return true;
#endif
	default:
		return false;
	}
}

static bool describe_machine_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_reboot
	case __NR_reboot: /* without the magic numbers; the probe's init owns its pid namespace */
		SET_ARGUMENTS(call, 0, 0, 0, 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_sethostname
	case __NR_sethostname: /* the probe's own uts namespace, or a name too long */
		SET_ARGUMENTS(call, POINTER(host_name), contained ? strlen(host_name) : sizeof host_name);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_setdomainname
	case __NR_setdomainname:
		SET_ARGUMENTS(call, POINTER(host_name), contained ? strlen(host_name) : sizeof host_name);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_settimeofday
	case __NR_settimeofday: /* a negative microsecond count */
		SET_ARGUMENTS(call, POINTER(&invalid_time), 0);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_clock_settime
	case __NR_clock_settime: /* the monotonic clock cannot be set */
		SET_ARGUMENTS(call, CLOCK_MONOTONIC, POINTER(&zero_time));
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_clock_adjtime
	case __NR_clock_adjtime:
		SET_ARGUMENTS(call, CLOCK_REALTIME, POINTER(&read_only_clock));
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_adjtimex
	case __NR_adjtimex:
		SET_ARGUMENTS(call, POINTER(&read_only_clock));
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_acct
	case __NR_acct:
		SET_ARGUMENTS(call, POINTER(missing_path));
		call->kind = "same";
		return true;
#endif
#ifdef __NR_swapon
	case __NR_swapon:
		SET_ARGUMENTS(call, POINTER(missing_path), 0);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_swapoff
	case __NR_swapoff:
		SET_ARGUMENTS(call, POINTER(missing_path));
		call->kind = "same";
		return true;
#endif
#ifdef __NR_quotactl
	case __NR_quotactl:
		SET_ARGUMENTS(call, QCMD(Q_GETFMT, USRQUOTA), POINTER(missing_path), 0, POINTER(&quota_format));
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_quotactl_fd
	case __NR_quotactl_fd:
		SET_ARGUMENTS(call, NUMBER(-1), QCMD(Q_GETFMT, USRQUOTA), 0, POINTER(&quota_format));
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_syslog
	case __NR_syslog: /* SYSLOG_ACTION_SIZE_BUFFER; refused under kernel.dmesg_restrict */
		SET_ARGUMENTS(call, 10, 0, 0);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_vhangup
	case __NR_vhangup:
		call->prepare = prepare_new_session;
		call->kind = "same";
		return true;
#endif
#ifdef __NR_iopl
	case __NR_iopl: /* the current level, 0: a no-op */
		SET_ARGUMENTS(call, 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_ioperm
	case __NR_ioperm: /* turning access off needs no privilege */
		SET_ARGUMENTS(call, 0x80, 1, 0);
		call->kind = "succeeds";
		return true;
#endif
	default:
		return false;
	}
}

/* The probe's own process, memory and descriptors. */
static bool describe_process_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_open_by_handle_at
	case __NR_open_by_handle_at:
		SET_ARGUMENTS(call, NUMBER(-1), POINTER(&file_handle), O_RDONLY);
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_name_to_handle_at
	case __NR_name_to_handle_at:
		SET_ARGUMENTS(call, NUMBER(AT_FDCWD), POINTER("/tmp"), POINTER(&file_handle), POINTER(&mount_id), 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_process_vm_readv
	case __NR_process_vm_readv:
		SET_ARGUMENTS(call, 0, POINTER(&target_vector), 1, POINTER(&source_vector), 1, 0);
		call->prepare = prepare_own_pid;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_process_vm_writev
	case __NR_process_vm_writev:
		SET_ARGUMENTS(call, 0, POINTER(&source_vector), 1, POINTER(&target_vector), 1, 0);
		call->prepare = prepare_own_pid;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_process_madvise
	case __NR_process_madvise:
		SET_ARGUMENTS(call, 0, POINTER(&page_vector), 1, 20 /* MADV_COLD */, 0);
		call->prepare = prepare_page_advice;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_kcmp
	case __NR_kcmp: /* is descriptor 1 descriptor 1 */
		SET_ARGUMENTS(call, 0, 0, 0 /* KCMP_FILE */, 1, 1);
		call->prepare = prepare_own_pid_twice;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_pidfd_getfd
	case __NR_pidfd_getfd:
		SET_ARGUMENTS(call, 0, 1, 0);
		call->prepare = prepare_own_pidfd;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_fanotify_init
	case __NR_fanotify_init: /* the unprivileged form */
		SET_ARGUMENTS(call, FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY);
		call->kind = "succeeds";
		return true;
#endif
	default:
		return false;
	}
}

/* Policies for the probe's own memory only. */
static bool describe_numa_call(struct call *call)
{
	switch (call->number) {
#ifdef __NR_get_mempolicy
	case __NR_get_mempolicy:
		SET_ARGUMENTS(call, 0, 0, 0, 0, 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_set_mempolicy
	case __NR_set_mempolicy:
		SET_ARGUMENTS(call, 0 /* MPOL_DEFAULT */, 0, 0);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_set_mempolicy_home_node
	case __NR_set_mempolicy_home_node: /* a page without a bind policy */
		SET_ARGUMENTS(call, 0, 0, 0, 0);
		call->prepare = prepare_page;
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_mbind
	case __NR_mbind:
		SET_ARGUMENTS(call, 0, 0, 0 /* MPOL_DEFAULT */, 0, 0, 0);
		call->prepare = prepare_page;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_migrate_pages
	case __NR_migrate_pages: /* from node 0 to node 0 */
		SET_ARGUMENTS(call, 0, 2, POINTER(&first_node), POINTER(&first_node));
		call->prepare = prepare_own_pid;
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_move_pages
	case __NR_move_pages: /* no pages */
		SET_ARGUMENTS(call, 0, 0, 0, 0, 0, 0);
		call->prepare = prepare_own_pid;
		call->kind = "succeeds";
		return true;
#endif
	default:
		return false;
	}
}

/* Obsolete and unimplemented calls: the kernel answers ENOSYS or refuses bad arguments. */
static bool describe_obsolete_call(struct call *call)
{
	call->kind = "differs";
	switch (call->number) {
#ifdef __NR_lookup_dcookie
	case __NR_lookup_dcookie: /* needed CAP_SYS_ADMIN until its removal in Linux 6.8 */
		SET_ARGUMENTS(call, 0, 0, 0);
		call->kind = "same";
		return true;
#endif
#ifdef __NR_sysfs
	case __NR_sysfs: /* the number of filesystem types */
		SET_ARGUMENTS(call, 3);
		call->kind = "succeeds";
		return true;
#endif
#ifdef __NR_ustat
	case __NR_ustat: /* no device 0 */
		SET_ARGUMENTS(call, 0, POINTER(ustat_buffer));
		return true;
#endif
#ifdef __NR_uselib
	case __NR_uselib:
		SET_ARGUMENTS(call, POINTER(missing_path));
		return true;
#endif
#ifdef __NR_nfsservctl
	case __NR_nfsservctl:
#endif
#ifdef __NR__sysctl
	case __NR__sysctl:
#endif
#ifdef __NR_afs_syscall
	case __NR_afs_syscall:
#endif
#ifdef __NR_tuxcall
	case __NR_tuxcall:
#endif
#ifdef __NR_security
	case __NR_security:
#endif
#ifdef __NR_getpmsg
	case __NR_getpmsg:
#endif
#ifdef __NR_putpmsg
	case __NR_putpmsg:
#endif
#ifdef __NR_vserver
	case __NR_vserver:
#endif
		SET_ARGUMENTS(call, 0, 0, 0, 0, 0, 0);
		return true;
#ifdef __NR_personality
	case __NR_personality: /* what the table's last personality rule refuses */
		SET_ARGUMENTS(call, READ_IMPLIES_EXEC);
		call->kind = "succeeds";
		return true;
#endif
	default:
		return false;
	}
}

static bool describe_denied_call(struct call *call)
{
	return describe_namespace_call(call) || describe_mount_call(call) || describe_key_call(call) ||
			describe_surface_call(call) || describe_module_call(call) || describe_machine_call(call) ||
			describe_process_call(call) || describe_numa_call(call) || describe_obsolete_call(call);
}

/* An argument rule's value, put where that syscall takes it. */
static bool describe_argument_call(struct call *call, uint32_t value)
{
	switch (call->number) {
#ifdef __NR_clone
	case __NR_clone: /* a fork into a new namespace; the new process exits at once */
		if ((value & NAMESPACE_FLAGS) != value)
			return false; /* other flags (CLONE_VM...) are not harmless without a stack */
		SET_ARGUMENTS(call, value | SIGCHLD, 0, 0, 0, 0);
		call->kind = "succeeds"; /* CLONE_NEWTIME too, read by clone as part of the exit signal */
		return true;
#endif
#ifdef __NR_ioctl
	case __NR_ioctl:
		if (value == TIOCSTI)
			SET_ARGUMENTS(call, 0, TIOCSTI, POINTER(&terminal_input));
		else if (value == TIOCLINUX)
			SET_ARGUMENTS(call, 0, TIOCLINUX, POINTER(&console_subcode));
		else
			return false;
		call->prepare = prepare_own_terminal;
		/*
		 * Pushing input into one's own terminal needs no privilege under dev.tty.legacy_tiocsti;
		 * TIOCLINUX only means something on a virtual console.
		 */
		call->kind = value == TIOCSTI ? "succeeds" : "differs";
		return true;
#endif
#ifdef __NR_socket
	case __NR_socket: /* where the family exists at all */
		SET_ARGUMENTS(call, value);
		call->perform = perform_socket;
		call->kind = "differs";
		return true;
#endif
#ifdef __NR_personality
	case __NR_personality:
		SET_ARGUMENTS(call, value);
		call->kind = "works";
		return true;
#endif
	default:
		return false;
	}
}

/* ---- The checks: one a table rule, then what must keep working ---- */

static void check_denied(const char *name, long number)
{
	struct call call = { .name = name, .number = number };
	if (describe_denied_call(&call))
		run_check(&call);
	else
		report_untested(name, number);
}

static void check_argument_rule(const char *name, long number, uint32_t value)
{
	struct call call = { .name = name, .number = number };
	if (describe_argument_call(&call, value))
		run_check(&call);
	else
		report_untested(name, number);
}

/*
 * The first number past the reviewed ones, which no kernel this was written for has; outside
 * the probe's namespaces, where a future kernel's call could matter, the last number below x32's.
 */
static void check_above(const char *name, long newest)
{
	struct call call = { .name = name, .number = contained ? newest + 1 : 0x3fffffff, .kind = "same" };
	run_check(&call);
}

static void run_table_checks(void)
{
#define SECCOMP_DENY_ABOVE(newest, error) check_above("above(" #newest ")", (newest));
#define SECCOMP_DENY(name, error) check_denied(#name, __NR_##name);
#define SECCOMP_DENY_IF_FLAG(name, argument, flag, error) check_argument_rule(#name "(" #flag ")", __NR_##name, (flag));
#define SECCOMP_DENY_IF_EQUAL(name, argument, value, error) check_argument_rule(#name "(" #value ")", __NR_##name, (value));
#define SECCOMP_ALLOW_IF_EQUAL(name, argument, value) check_argument_rule(#name "(" #value ")", __NR_##name, (value));
#include "../src/seccomp-table.h"
}

static struct call call_of(const char *name, const char *kind, long number, unsigned long first_argument)
{
	struct call call = { .name = name, .kind = kind, .number = number, .arguments = { first_argument } };
	return call;
}

/* Calls the table's rules decide on arguments that are not a rule's own value. */
static void run_argument_checks(void)
{
	struct call new_user_namespace = call_of("unshare(CLONE_NEWUSER)", "succeeds", __NR_unshare, CLONE_NEWUSER);
	run_check(&new_user_namespace);
	struct call no_randomization =
			call_of("personality(ADDR_NO_RANDOMIZE)", "succeeds", __NR_personality, ADDR_NO_RANDOMIZE);
	run_check(&no_randomization);
#if defined(__x86_64__)
	struct call x32 = call_of("abi(x32)", "differs", X32_SYSCALL_BIT | __NR_getpid, 0);
	run_check(&x32);
	struct call i386 = call_of("abi(i386)", "differs", __NR_getpid, 0);
	i386.foreign_abi = true;
	i386.perform = perform_i386_getpid;
	run_check(&i386);
#endif
}

/* `number` names the syscall the check leans on; `perform`, when given, makes the whole check. */
static void check_works(const char *name, long number, unsigned long first_argument, int (*perform)(struct call *))
{
	struct call call = call_of(name, "works", number, first_argument);
	call.perform = perform;
	run_check(&call);
}

static void run_must_work_checks(void)
{
	check_works("works(fork)", __NR_clone, 0, perform_fork);
	check_works("works(pthread)", __NR_clone, 0, perform_thread);
	check_works("works(clone)", __NR_clone, SIGCHLD, NULL);
	check_works("works(exec)", __NR_execve, 0, perform_spawn);
	check_works("works(personality)", __NR_personality, 0xffffffffUL, NULL);
	check_works("works(prctl)", __NR_prctl, PR_GET_NO_NEW_PRIVS, NULL);
	check_works("works(ptrace)", __NR_ptrace, PTRACE_TRACEME, NULL);
	check_works("works(io_setup)", __NR_io_setup, 0, perform_legacy_aio);
	check_works("works(socket(AF_INET))", __NR_socket, AF_INET, perform_socket);
	check_works("works(socket(AF_UNIX))", __NR_socket, AF_UNIX, perform_socket);

	struct call terminal = call_of("works(ioctl(TCGETS))", "works", __NR_ioctl, 0);
	SET_ARGUMENTS(&terminal, 0, TCGETS, POINTER(&terminal_settings));
	terminal.prepare = prepare_own_terminal_or_skip;
	run_check(&terminal);
}

/* ---- Setup: own namespaces, then the filter ---- */

static int write_file(const char *path, const char *text)
{
	int descriptor = open(path, O_WRONLY | O_CLOEXEC);
	if (descriptor < 0)
		return errno;
	ssize_t length = (ssize_t)strlen(text);
	int error = write(descriptor, text, (size_t)length) == length ? 0 : errno;
	close(descriptor);
	return error;
}

static int map_to_root(uid_t user, gid_t group)
{
	char map[64];
	int error = write_file("/proc/self/setgroups", "deny");
	if (error != 0)
		return error;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)user);
	if ((error = write_file("/proc/self/uid_map", map)) != 0)
		return error;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)group);
	return write_file("/proc/self/gid_map", map);
}

/* A private mount tree with the probe's own tmpfs on /tmp: mounts made there stay there. */
static int mount_scratch(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return errno;
	if (mount("sandport-probe", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0)
		return errno;
	if (mkdir(mount_target, 0755) != 0 || mkdir(mounted_fixture, 0755) != 0)
		return errno;
	if (mount("sandport-probe", mounted_fixture, "tmpfs", 0, "size=16k") != 0)
		return errno;
	return 0;
}

/*
 * Returns 0 in the first process of a new pid namespace, root of new user, mount, uts, ipc, net
 * and cgroup namespaces; the original process waits for it and exits with its status. Returns an
 * errno where they could not be made (or used: an AppArmor-restricted user namespace, say).
 */
static int enter_namespaces(void)
{
	uid_t user = getuid();
	gid_t group = getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
			    CLONE_NEWCGROUP) != 0)
		return errno;
	int error = map_to_root(user, group);
	/* The next child is the new pid namespace's init, whatever happens: make it this probe. */
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		return errno;
	if (child > 0) {
		int outcome = wait_for(child);
		exit(outcome < 0 ? 128 - outcome : outcome);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed probe takes its namespaces with it */
	return error != 0 ? error : mount_scratch();
}

static void print_setup(const char *step, int error)
{
	char buffer[32];
	printf("setup %s %s\n", step, error == 0 ? "ok" : outcome_name(error, buffer));
}

static int install_filter(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return errno;
	return -sandport_install_seccomp_filter();
}

int main(int argument_count, char **arguments)
{
	const char *mode = argument_count > 1 ? arguments[1] : "";
	if (strcmp(mode, "--exit") == 0)
		return 0; /* works(exec) runs the probe itself */
	bool install = strcmp(mode, "--install") == 0;
	bool baseline = strcmp(mode, "--baseline") == 0;
	if (!install && !baseline && mode[0] != '\0') {
		fprintf(stderr, "usage: %s [--install | --baseline]\n", arguments[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("setup mode %s\n", install ? "install" : baseline ? "baseline" : "environment");
	if (install || baseline) {
		int error = enter_namespaces();
		contained = error == 0;
		print_setup("namespaces", error);
	}
	if (install)
		print_setup("filter", install_filter());

	run_table_checks();
	run_argument_checks();
	run_must_work_checks();
	printf("summary %d mismatches\n", mismatches);
	return baseline || mismatches == 0 ? 0 : 1;
}
