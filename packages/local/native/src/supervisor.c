/*
 * sandport-supervisor: one per sandbox. Started by the host (never as root: as root the host
 * starts it as the sandbox uid) with an empty environment and the channel on fd 3.
 *
 * The first process reads the sandbox's setup, clones PID 1 of new namespaces, maps the sandbox
 * uid to 0 inside, and then only waits: it dies with the host (parent-death signal) and takes
 * PID 1 with it. PID 1 builds the root, drops every privilege, installs the seccomp filter and
 * serves the host's requests until the channel closes; when PID 1 exits, the kernel kills every
 * process of the sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "directory-operations.h"
#include "port-connections.h"
#include "file-operations.h"
#include "process-table.h"
#include "protocol.h"
#include "sandbox-config.h"
#include "sandbox-setup.h"

#define SUPERVISOR_VERSION "1"
#define MAX_POLLED 4096

static void report_setup_failure(const char *step, int error_number)
{
	uint8_t code[4];
	write_u32(code, (uint32_t)error_number);
	channel_send2(SUPERVISOR_SETUP_FAILED, 0, code, sizeof code, step, strlen(step));
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t written = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return written == (ssize_t)strlen(text) ? 0 : -1;
}

/* Maps the sandbox uid and gid (ours) to 0 inside the child's user namespace. */
static int map_identity(pid_t child)
{
	char path[64];
	char mapping[64];
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)child);
	if (write_text(path, "deny") != 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)child);
	snprintf(mapping, sizeof mapping, "0 %u 1\n", (unsigned)getuid());
	if (write_text(path, mapping) != 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)child);
	snprintf(mapping, sizeof mapping, "0 %u 1\n", (unsigned)getgid());
	return write_text(path, mapping);
}

static void dispatch(const struct frame *frame)
{
	switch (frame->type) {
	case HOST_EXEC:
		start_process(frame->id, frame->payload, frame->length);
		break;
	case HOST_STDIN:
		write_process_stdin(frame->id, frame->payload, frame->length);
		break;
	case HOST_SIGNAL:
		signal_process(frame->id, frame->payload, frame->length);
		break;
	case HOST_CLOSE_OUTPUT:
		close_process_output(frame->id, frame->payload, frame->length);
		break;
	case HOST_READ_FILE:
		read_file(frame->id, frame->payload, frame->length);
		break;
	case HOST_WRITE_OPEN:
		open_file_for_writing(frame->id, frame->payload, frame->length);
		break;
	case HOST_WRITE_DATA:
		write_file_data(frame->id, frame->payload, frame->length);
		break;
	case HOST_WRITE_CLOSE:
		close_written_file(frame->id);
		break;
	case HOST_CONNECT:
		open_connection(frame->id, frame->payload, frame->length);
		break;
	case HOST_CONNECTION_DATA:
		write_connection(frame->id, frame->payload, frame->length);
		break;
	case HOST_CONNECTION_CLOSE:
		close_connection(frame->id);
		break;
	case HOST_LIST_FILES:
		list_files(frame->id, frame->payload, frame->length);
		break;
	case HOST_STAT_FILE:
		stat_file(frame->id, frame->payload, frame->length);
		break;
	case HOST_MAKE_DIRECTORY:
		make_directory(frame->id, frame->payload, frame->length);
		break;
	case HOST_REMOVE_FILE:
		remove_file(frame->id, frame->payload, frame->length);
		break;
	case HOST_RENAME_FILE:
		rename_file(frame->id, frame->payload, frame->length);
		break;
	default:
		channel_send_error(frame->id, ERROR_BAD_REQUEST, ENOSYS);
	}
}

static void reap_children(void)
{
	for (;;) {
		int status = 0;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		process_exited(pid, status);
	}
}

static int serve(int signal_fd)
{
	static struct pollfd fds[MAX_POLLED];
	for (;;) {
		fds[0] = (struct pollfd){ .fd = CHANNEL_FD, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		int count = add_process_fds(fds + 2, MAX_POLLED - 2);
		int connection_count = add_connection_fds(fds + 2 + count, MAX_POLLED - 2 - count);
		int ready = poll(fds, (nfds_t)(count + connection_count) + 2, next_process_deadline());
		if (ready < 0 && errno != EINTR)
			return 1;
		if (ready > 0 && fds[1].revents != 0) {
			struct signalfd_siginfo information;
			while (read(signal_fd, &information, sizeof information) == (ssize_t)sizeof information) {
			}
			reap_children();
		}
		if (ready > 0) {
			handle_process_fds(fds + 2, count);
			handle_connection_fds(fds + 2 + count, connection_count);
		}
		finish_overdue_processes();
		if (ready > 0 && fds[0].revents != 0) {
			if (channel_receive() < 0)
				return 0; /* the host is gone */
			struct frame frame;
			while (channel_next_frame(&frame))
				dispatch(&frame);
		}
	}
}

static int run_pid_one(const struct sandbox_config *config, int start_pipe)
{
	char go = 0;
	ssize_t got;
	do
		got = read(start_pipe, &go, 1);
	while (got < 0 && errno == EINTR);
	close(start_pipe);
	if (got != 1)
		return 1;
	/* Our parent (the first process) dies with the host; we die with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/*
	 * Only SIGCHLD is taken (through a signalfd). Every other signal keeps its default action, which
	 * the kernel never applies to PID 1 on behalf of a process inside the namespace: sandboxed code
	 * cannot stop its supervisor with `kill 1`. The host stops it by closing the channel.
	 */
	sigset_t handled;
	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	signal(SIGPIPE, SIG_IGN);
	int signal_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
	const char *failed_step = "watch for signals";
	if (signal_fd < 0 || set_up_sandbox(config, &failed_step) != 0) {
		report_setup_failure(failed_step, errno);
		return 1;
	}
	fcntl(CHANNEL_FD, F_SETFL, O_NONBLOCK);
	channel_send(SUPERVISOR_READY, 0, SUPERVISOR_VERSION, strlen(SUPERVISOR_VERSION));
	return serve(signal_fd);
}

/* `--probe`: can this machine give us the namespaces? Prints "ok" or what failed, for doctor. */
static int probe(void)
{
	int start_pipe[2];
	if (pipe2(start_pipe, O_CLOEXEC) != 0)
		return 1;
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
		CLONE_NEWNET;
	pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child == 0) {
		char go = 0;
		close(start_pipe[1]);
		if (read(start_pipe[0], &go, 1) != 1)
			_exit(3);
		_exit(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ? 0 : 4);
	}
	close(start_pipe[0]);
	if (child < 0) {
		printf("cannot create namespaces (user, mount, pid, net, ipc, uts, cgroup): %s\n", strerror(errno));
		return 1;
	}
	int mapped = map_identity(child);
	int saved = errno;
	ssize_t ignored = write(start_pipe[1], "g", 1);
	(void)ignored;
	close(start_pipe[1]);
	int status = 0;
	waitpid(child, &status, 0);
	if (mapped != 0) {
		printf("cannot map the sandbox user into its user namespace: %s\n", strerror(saved));
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("cannot mount inside the new namespaces\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("sandport-supervisor %s\n", SUPERVISOR_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--probe") == 0)
		return probe();
	if (argc != 1 || fcntl(CHANNEL_FD, F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "sandport-supervisor is started by @sandport/local, with its channel on fd 3\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1; /* the host died before we got here */
	struct frame frame;
	struct sandbox_config config;
	if (channel_read_frame(&frame) != 0)
		return 1;
	if (frame.type != HOST_CONFIG || parse_sandbox_config(frame.payload, frame.length, &config) != 0) {
		report_setup_failure("read the sandbox configuration", EINVAL);
		return 1;
	}
	int start_pipe[2];
	if (pipe2(start_pipe, O_CLOEXEC) != 0) {
		report_setup_failure("create the start pipe", errno);
		return 1;
	}
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
		(config.keep_network ? 0 : CLONE_NEWNET);
	pid_t child = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child == 0) {
		close(start_pipe[1]);
		_exit(run_pid_one(&config, start_pipe[0]));
	}
	close(start_pipe[0]);
	if (child < 0) {
		report_setup_failure("create the namespaces", errno);
		return 1;
	}
	if (map_identity(child) != 0) {
		report_setup_failure("map the sandbox user", errno);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return 1;
	}
	ssize_t ignored = write(start_pipe[1], "g", 1);
	(void)ignored;
	close(start_pipe[1]);
	/* Only PID 1 speaks to the host from here on; our copy of the channel must not keep it open. */
	close(CHANNEL_FD);
	/* Other processes of the sandbox uid on the host must not ptrace the process that waits here. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int status = 0;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
