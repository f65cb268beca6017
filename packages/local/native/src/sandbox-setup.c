/*
 * The sandbox's root filesystem and privileges. Runs once, as PID 1 of the new user, mount, pid,
 * ipc, uts, cgroup (and net) namespaces, before any request is served.
 */
#define _GNU_SOURCE
#include "sandbox-setup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp-filter.h"

#define KEYCTL_JOIN_SESSION_KEYRING 1

static const char *const device_files[] = { "null", "zero", "full", "random", "urandom" };

static char path_buffer[4096];

/* Joins the new root's path and a path inside it, into a static buffer. */
static const char *under_root(const struct sandbox_config *config, const char *inside)
{
	int written = snprintf(path_buffer, sizeof path_buffer, "%s%s", config->root, inside);
	if (written < 0 || (size_t)written >= sizeof path_buffer)
		return NULL;
	return path_buffer;
}

/* Mount flags that a remount inside a user namespace must keep (the kernel locks them). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs status;
	if (statvfs(path, &status) != 0)
		return 0;
	unsigned long flags = 0;
	if (status.f_flag & ST_NOSUID)
		flags |= MS_NOSUID;
	if (status.f_flag & ST_NODEV)
		flags |= MS_NODEV;
	if (status.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	if (status.f_flag & ST_NOATIME)
		flags |= MS_NOATIME;
	if (status.f_flag & ST_NODIRATIME)
		flags |= MS_NODIRATIME;
	if (status.f_flag & ST_RELATIME)
		flags |= MS_RELATIME;
	return flags;
}

static int bind_mount(const char *source, const char *target, unsigned long extra_flags, int read_only)
{
	if (target == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0)
		return -1;
	unsigned long flags = MS_REMOUNT | MS_BIND | extra_flags | locked_flags(target) | (read_only ? MS_RDONLY : 0);
	return mount(NULL, target, NULL, flags, NULL);
}

static int mount_tmpfs(const char *target, uint64_t bytes)
{
	if (target == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char options[64];
	snprintf(options, sizeof options, "size=%llu,mode=1777", (unsigned long long)bytes);
	return mount("sandport", target, "tmpfs", MS_NOSUID | MS_NODEV, options);
}

/* A host path in the state directory, into a second static buffer. */
static char state_path_buffer[4096];
static const char *in_state(const struct sandbox_config *config, const char *relative, const char *suffix)
{
	int written = snprintf(state_path_buffer, sizeof state_path_buffer, "%s/%s%s", config->state, relative, suffix);
	if (written < 0 || (size_t)written >= sizeof state_path_buffer)
		return NULL;
	return state_path_buffer;
}

/*
 * Mounts an overlay given layers relative to the state directory (our working directory during
 * setup). Overlay options show in the sandbox's mountinfo as they were passed, and the mount's
 * root is the overlay's own, so no host path is visible inside; a bind mount would show it.
 */
static int mount_overlay(const char *target, const char *format, const char *first, const char *second,
	const char *third)
{
	if (target == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char options[1024];
	int written = snprintf(options, sizeof options, format, first, second, third);
	if (written < 0 || (size_t)written >= sizeof options) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, options);
}

static int build_root(const struct sandbox_config *config, const char **failed_step)
{
	*failed_step = "make mounts private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	*failed_step = "enter the state directory";
	if (chdir(config->state) != 0)
		return -1;
	/* Overlays where the kernel allows them in a user namespace (5.11+), bind mounts otherwise. */
	int root_is_overlay =
		mount_overlay(config->root, "lowerdir=./%s:./%s", config->skeleton, config->empty, "") == 0;
	*failed_step = "mount the root skeleton";
	if (!root_is_overlay && mount(in_state(config, config->skeleton, ""), config->root, NULL, MS_BIND | MS_REC, NULL) != 0)
		return -1;
	*failed_step = "bind /usr";
	if (bind_mount("/usr", under_root(config, "/usr"), MS_NOSUID | MS_NODEV, 1) != 0)
		return -1;
	*failed_step = "bind a system directory";
	for (int index = 0; index < config->system_directory_count; index++) {
		if (bind_mount(config->system_directories[index], under_root(config, config->system_directories[index]),
			    MS_NOSUID | MS_NODEV, 1) != 0)
			return -1;
	}
	*failed_step = "bind a device file";
	for (size_t index = 0; index < sizeof device_files / sizeof device_files[0]; index++) {
		char source[64];
		char inside[64];
		snprintf(source, sizeof source, "/dev/%s", device_files[index]);
		snprintf(inside, sizeof inside, "/dev/%s", device_files[index]);
		if (bind_mount(source, under_root(config, inside), MS_NOSUID | MS_NOEXEC, 0) != 0)
			return -1;
	}
	*failed_step = "mount /tmp";
	if (mount_tmpfs(under_root(config, "/tmp"), config->tmp_bytes) != 0)
		return -1;
	*failed_step = "mount /dev/shm";
	if (mount_tmpfs(under_root(config, "/dev/shm"), config->tmp_bytes) != 0)
		return -1;
	*failed_step = "mount the workspace";
	if (mount_overlay(under_root(config, "/workspace"), "userxattr,lowerdir=./%s,upperdir=./%s/workspace,workdir=./%s/overlay-work",
		    config->empty, config->sandbox, config->sandbox) != 0 &&
		bind_mount(in_state(config, config->sandbox, "/workspace"), under_root(config, "/workspace"),
			MS_NOSUID | MS_NODEV, 0) != 0)
		return -1;
	*failed_step = "mount the node binary";
	if (mount_overlay(under_root(config, "/sandport/bin"), "lowerdir=./%s:./%s", config->node_directory,
		    config->empty, "") != 0 &&
		bind_mount(in_state(config, config->node_directory, ""), under_root(config, "/sandport/bin"),
			MS_NOSUID | MS_NODEV, 1) != 0)
		return -1;
	*failed_step = "mount /proc";
	const char *proc = under_root(config, "/proc");
	if (proc == NULL || mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return -1;
	*failed_step = "make the root read-only";
	if (!root_is_overlay && mount(NULL, config->root, NULL,
		    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_flags(config->root), NULL) != 0)
		return -1;
	*failed_step = "pivot_root";
	if (chdir(config->root) != 0 || syscall(SYS_pivot_root, ".", "oldroot") != 0)
		return -1;
	*failed_step = "detach the host root";
	if (umount2("/oldroot", MNT_DETACH) != 0 || chdir("/") != 0)
		return -1;
	return 0;
}

/* A new network namespace starts with loopback down; ports inside need it up. */
static int bring_loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq request;
	memset(&request, 0, sizeof request);
	strcpy(request.ifr_name, "lo");
	int result = ioctl(fd, SIOCGIFFLAGS, &request);
	if (result == 0) {
		request.ifr_flags |= IFF_UP | IFF_RUNNING;
		result = ioctl(fd, SIOCSIFFLAGS, &request);
	}
	close(fd);
	return result;
}

static int set_limit(int resource, uint64_t value)
{
	if (value == 0)
		return 0;
	struct rlimit limit = { .rlim_cur = value, .rlim_max = value };
	return setrlimit(resource, &limit);
}

static int apply_limits(const struct sandbox_config *config)
{
	struct rlimit no_core = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &no_core) != 0 || set_limit(RLIMIT_NPROC, config->processes) != 0 ||
		set_limit(RLIMIT_DATA, config->data_bytes) != 0 || set_limit(RLIMIT_FSIZE, config->file_bytes) != 0 ||
		set_limit(RLIMIT_NOFILE, config->open_files) != 0 || set_limit(RLIMIT_CPU, config->cpu_seconds) != 0)
		return -1;
	if (config->cpus > 0) {
		cpu_set_t allowed;
		if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
			return -1;
		cpu_set_t pinned;
		CPU_ZERO(&pinned);
		unsigned taken = 0;
		for (int cpu = 0; cpu < CPU_SETSIZE && taken < config->cpus; cpu++) {
			if (CPU_ISSET(cpu, &allowed)) {
				CPU_SET(cpu, &pinned);
				taken++;
			}
		}
		if (sched_setaffinity(0, sizeof pinned, &pinned) != 0)
			return -1;
	}
	return 0;
}

/* No capability survives: not now, not after execve (uid 0 inside gets nothing from the kernel). */
static int drop_capabilities(void)
{
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) != 0)
		return -1;
	for (int capability = 0; capability <= 63; capability++) {
		if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EINVAL)
			return -1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -1;
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	return (int)syscall(SYS_capset, &header, data);
}

int set_up_sandbox(const struct sandbox_config *config, const char **failed_step)
{
	if (build_root(config, failed_step) != 0)
		return -1;
	*failed_step = "set the host name";
	if (sethostname("sandbox", 7) != 0)
		return -1;
	if (!config->keep_network) {
		*failed_step = "bring up loopback";
		if (bring_loopback_up() != 0)
			return -1;
	}
	*failed_step = "apply resource limits";
	if (apply_limits(config) != 0)
		return -1;
	/* A fresh anonymous session keyring: nothing of the host's keyring is reachable. */
	*failed_step = "join a new session keyring";
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
		return -1;
	*failed_step = "drop capabilities";
	if (drop_capabilities() != 0)
		return -1;
	*failed_step = "set no-new-privileges";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	/* Sandboxed processes share our uid: non-dumpable keeps them from ptracing or reading us. */
	*failed_step = "make the supervisor non-dumpable";
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	*failed_step = "install the seccomp filter";
	int result = sandport_install_seccomp_filter();
	if (result != 0) {
		errno = -result;
		return -1;
	}
	return 0;
}
