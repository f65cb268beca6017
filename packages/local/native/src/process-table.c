/*
 * Processes started for the host. Each runs in its own process group (so a signal reaches
 * everything it started), with pipes for stdin, stdout and stderr. Its EXIT is sent once it has
 * ended and its output is drained, or shortly after it ended when something it left running in the
 * background still holds the pipes (that process keeps running; only its output is cut off).
 */
#define _GNU_SOURCE
#include "process-table.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "byte-queue.h"
#include "channel.h"
#include "protocol.h"

#define OUTPUT_GRACE_MS 100
#define OUTPUT_CHUNK 65536

struct process {
	struct process *next;
	uint32_t id;
	pid_t pid;
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	struct byte_queue stdin_queue;
	int stdin_close_requested;
	int exited;
	int exit_code;
	int64_t exited_at_ms;
};

static struct process *processes;
/* Which process and stream each polled fd belongs to, in the order add_process_fds added them. */
static struct process *polled_process[4096];
static uint8_t polled_stream[4096];

static int64_t now_ms(void)
{
	struct timespec time;
	clock_gettime(CLOCK_MONOTONIC, &time);
	return (int64_t)time.tv_sec * 1000 + time.tv_nsec / 1000000;
}

static struct process *find_process(uint32_t id)
{
	for (struct process *process = processes; process != NULL; process = process->next) {
		if (process->id == id)
			return process;
	}
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void remove_process(struct process *process)
{
	close_fd(&process->stdin_fd);
	close_fd(&process->stdout_fd);
	close_fd(&process->stderr_fd);
	byte_queue_clear(&process->stdin_queue);
	for (struct process **link = &processes; *link != NULL; link = &(*link)->next) {
		if (*link == process) {
			*link = process->next;
			break;
		}
	}
	free(process);
}

static void finish_process(struct process *process)
{
	uint8_t payload[4];
	write_u32(payload, (uint32_t)process->exit_code);
	channel_send(SUPERVISOR_EXIT, process->id, payload, sizeof payload);
	remove_process(process);
}

static void finish_if_done(struct process *process)
{
	if (process->exited && process->stdout_fd < 0 && process->stderr_fd < 0)
		finish_process(process);
}

/* The child side, after fork: never returns. Reports a failed chdir or execve on `error_fd`. */
static void run_child(char *const *argv, char **environment, const char *cwd, int stdin_fd, int stdout_fd,
	int stderr_fd, int error_fd)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0)
		_exit(127);
	int report[2] = { 0, 0 };
	if (chdir(cwd) != 0) {
		report[0] = ERROR_BAD_DIRECTORY;
		report[1] = errno;
	} else {
		/* execvp searches the request's own PATH: it names paths inside the sandbox only. */
		environ = environment;
		execvp(argv[0], argv);
		report[0] = ERROR_EXEC_FAILED;
		report[1] = errno;
	}
	ssize_t ignored = write(error_fd, report, sizeof report);
	(void)ignored;
	_exit(127);
}

/* Splits `count` NUL-terminated strings off `*cursor`; returns a NULL-terminated array or NULL. */
static char **take_strings(const char **cursor, const char *end, uint32_t count)
{
	if (count > 1u << 20)
		return NULL;
	char **strings = calloc((size_t)count + 1, sizeof *strings);
	if (strings == NULL)
		return NULL;
	for (uint32_t index = 0; index < count; index++) {
		const char *terminator = memchr(*cursor, '\0', (size_t)(end - *cursor));
		if (terminator == NULL) {
			free(strings);
			return NULL;
		}
		strings[index] = (char *)*cursor;
		*cursor = terminator + 1;
	}
	return strings;
}

/*
 * HOST_EXEC payload: u32 flags (bit 0: stdin stays open for HOST_STDIN) | u32 argc | u32 envc |
 * cwd\0 | argv\0 ... | env\0 ... ("NAME=value").
 */
void start_process(uint32_t id, const uint8_t *payload, uint32_t length)
{
	if (length < 13 || find_process(id) != NULL) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	uint32_t flags = read_u32(payload);
	uint32_t argc = read_u32(payload + 4);
	uint32_t envc = read_u32(payload + 8);
	const char *cursor = (const char *)payload + 12;
	const char *end = (const char *)payload + length;
	char **cwd = take_strings(&cursor, end, 1);
	char **argv = argc == 0 ? NULL : take_strings(&cursor, end, argc);
	char **environment = take_strings(&cursor, end, envc);
	if (cwd == NULL || argv == NULL || environment == NULL) {
		free(cwd);
		free(argv);
		free(environment);
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	int stdin_pipe[2] = { -1, -1 };
	int stdout_pipe[2] = { -1, -1 };
	int stderr_pipe[2] = { -1, -1 };
	int error_pipe[2] = { -1, -1 };
	int failed = pipe2(stdout_pipe, O_CLOEXEC) != 0 || pipe2(stderr_pipe, O_CLOEXEC) != 0 ||
		pipe2(error_pipe, O_CLOEXEC) != 0;
	if (!failed) {
		if (flags & 1)
			failed = pipe2(stdin_pipe, O_CLOEXEC) != 0;
		else
			stdin_pipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		failed = failed || stdin_pipe[0] < 0;
	}
	pid_t pid = failed ? -1 : fork();
	int saved_errno = errno;
	if (pid == 0)
		run_child(argv, environment, cwd[0], stdin_pipe[0], stdout_pipe[1], stderr_pipe[1], error_pipe[1]);
	free(cwd);
	free(argv);
	free(environment);
	close_fd(&stdin_pipe[0]);
	close_fd(&stdout_pipe[1]);
	close_fd(&stderr_pipe[1]);
	close_fd(&error_pipe[1]);
	int report[2] = { 0, 0 };
	ssize_t reported = 0;
	if (pid > 0) {
		do
			reported = read(error_pipe[0], report, sizeof report);
		while (reported < 0 && errno == EINTR);
	}
	close_fd(&error_pipe[0]);
	if (pid < 0 || reported == (ssize_t)sizeof report) {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		close_fd(&stdin_pipe[1]);
		close_fd(&stdout_pipe[0]);
		close_fd(&stderr_pipe[0]);
		if (pid < 0)
			channel_send_error(id, ERROR_SYSTEM, saved_errno);
		else
			channel_send_error(id, (uint32_t)report[0], report[1]);
		return;
	}
	struct process *process = calloc(1, sizeof *process);
	if (process == NULL) {
		kill(-pid, SIGKILL);
		close_fd(&stdin_pipe[1]);
		close_fd(&stdout_pipe[0]);
		close_fd(&stderr_pipe[0]);
		channel_send_error(id, ERROR_SYSTEM, ENOMEM);
		return;
	}
	process->id = id;
	process->pid = pid;
	process->stdin_fd = stdin_pipe[1];
	process->stdout_fd = stdout_pipe[0];
	process->stderr_fd = stderr_pipe[0];
	fcntl(process->stdout_fd, F_SETFL, O_NONBLOCK);
	fcntl(process->stderr_fd, F_SETFL, O_NONBLOCK);
	if (process->stdin_fd >= 0)
		fcntl(process->stdin_fd, F_SETFL, O_NONBLOCK);
	process->next = processes;
	processes = process;
	channel_send(SUPERVISOR_STARTED, id, NULL, 0);
}

static void flush_stdin(struct process *process)
{
	if (process->stdin_fd < 0)
		return;
	int flushed = byte_queue_flush(&process->stdin_queue, process->stdin_fd);
	if (flushed < 0) {
		/* The reader is gone (EPIPE): what it did not read is dropped, as with a shell pipe. */
		byte_queue_clear(&process->stdin_queue);
		close_fd(&process->stdin_fd);
		return;
	}
	if (flushed == 1 && process->stdin_close_requested)
		close_fd(&process->stdin_fd);
}

void write_process_stdin(uint32_t id, const uint8_t *data, uint32_t length)
{
	struct process *process = find_process(id);
	if (process == NULL || process->stdin_fd < 0)
		return;
	if (length == 0)
		process->stdin_close_requested = 1;
	else if (byte_queue_push(&process->stdin_queue, data, length) != 0)
		return;
	flush_stdin(process);
}

void signal_process(uint32_t id, const uint8_t *payload, uint32_t length)
{
	struct process *process = find_process(id);
	if (process == NULL || length != 4)
		return;
	int signal_number = (int)read_u32(payload);
	if (signal_number <= 0 || signal_number >= 65)
		return;
	/* The group first: a process that ended may have left children running in it. */
	if (kill(-process->pid, signal_number) != 0 && !process->exited)
		kill(process->pid, signal_number);
}

void close_process_output(uint32_t id, const uint8_t *payload, uint32_t length)
{
	struct process *process = find_process(id);
	if (process == NULL || length != 4)
		return;
	uint32_t stream = read_u32(payload);
	if (stream == 1)
		close_fd(&process->stdout_fd);
	else if (stream == 2)
		close_fd(&process->stderr_fd);
	finish_if_done(process);
}

void process_exited(pid_t pid, int status)
{
	for (struct process *process = processes; process != NULL; process = process->next) {
		if (process->pid == pid && !process->exited) {
			process->exited = 1;
			process->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			process->exited_at_ms = now_ms();
			close_fd(&process->stdin_fd);
			byte_queue_clear(&process->stdin_queue);
			finish_if_done(process);
			return;
		}
	}
}

int add_process_fds(struct pollfd *fds, int capacity)
{
	int count = 0;
	for (struct process *process = processes; process != NULL; process = process->next) {
		int streams[3] = { process->stdout_fd, process->stderr_fd,
			!byte_queue_empty(&process->stdin_queue) ? process->stdin_fd : -1 };
		for (int stream = 0; stream < 3; stream++) {
			if (streams[stream] < 0 || count == capacity || count == (int)(sizeof polled_stream))
				continue;
			fds[count].fd = streams[stream];
			fds[count].events = stream == 2 ? POLLOUT : POLLIN;
			fds[count].revents = 0;
			polled_process[count] = process;
			polled_stream[count] = (uint8_t)stream;
			count++;
		}
	}
	return count;
}

static void read_output(struct process *process, int stream)
{
	static uint8_t buffer[OUTPUT_CHUNK];
	int *fd = stream == 0 ? &process->stdout_fd : &process->stderr_fd;
	for (int reads = 0; reads < 16 && *fd >= 0; reads++) {
		ssize_t count = read(*fd, buffer, sizeof buffer);
		if (count > 0) {
			channel_send(stream == 0 ? SUPERVISOR_STDOUT : SUPERVISOR_STDERR, process->id, buffer, (size_t)count);
			continue;
		}
		if (count < 0 && (errno == EINTR))
			continue;
		if (count < 0 && errno == EAGAIN)
			return;
		close_fd(fd);
	}
}

void handle_process_fds(const struct pollfd *fds, int count)
{
	/* A process may be finished (and freed) while its other fds are still in the list. */
	for (int index = 0; index < count; index++) {
		if (fds[index].revents == 0)
			continue;
		struct process *process = polled_process[index];
		int still_listed = 0;
		for (struct process *entry = processes; entry != NULL; entry = entry->next)
			still_listed |= entry == process;
		if (!still_listed)
			continue;
		if (polled_stream[index] == 2) {
			if (fds[index].fd == process->stdin_fd)
				flush_stdin(process);
			continue;
		}
		read_output(process, polled_stream[index]);
		finish_if_done(process);
	}
}

int next_process_deadline(void)
{
	int64_t now = now_ms();
	int64_t nearest = -1;
	for (struct process *process = processes; process != NULL; process = process->next) {
		if (!process->exited)
			continue;
		int64_t remaining = process->exited_at_ms + OUTPUT_GRACE_MS - now;
		if (remaining < 0)
			remaining = 0;
		if (nearest < 0 || remaining < nearest)
			nearest = remaining;
	}
	return (int)nearest;
}

void finish_overdue_processes(void)
{
	int64_t now = now_ms();
	struct process *process = processes;
	while (process != NULL) {
		struct process *next = process->next;
		if (process->exited && now >= process->exited_at_ms + OUTPUT_GRACE_MS) {
			/* Drain what is already buffered before cutting the pipes off. */
			if (process->stdout_fd >= 0)
				read_output(process, 0);
			if (process->stderr_fd >= 0)
				read_output(process, 1);
			process->stdout_fd >= 0 ? close_fd(&process->stdout_fd) : (void)0;
			process->stderr_fd >= 0 ? close_fd(&process->stderr_fd) : (void)0;
			finish_process(process);
		}
		process = next;
	}
}
