/*
 * File calls for the host, performed by the supervisor inside the sandbox's own mount namespace
 * and as its uid, so the kernel enforces the boundary. Paths are walked one component at a time
 * with O_NOFOLLOW: a symbolic link anywhere in the path is refused (no check-then-use race, since
 * every step is an open file descriptor), and only regular files with a single link are read or
 * written. Opening with O_NONBLOCK means a FIFO never blocks the supervisor.
 */
#define _GNU_SOURCE
#include "file-operations.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "protocol.h"
#include "sandbox-paths.h"

#define MAX_WRITERS 64
#define READ_CHUNK (256u * 1024u)

struct writer {
	uint32_t id;
	int fd;
	int error_kind;
	int error_number;
};

static struct writer writers[MAX_WRITERS];
static int writer_count;

/* Checks that an open file is a regular file with one link; returns 0 or an error kind. */
static int check_regular(int fd, struct stat *status)
{
	if (fstat(fd, status) != 0)
		return ERROR_SYSTEM;
	if (!S_ISREG(status->st_mode))
		return ERROR_NOT_REGULAR;
	if (status->st_nlink > 1)
		return ERROR_LINK;
	return 0;
}

/* HOST_READ_FILE payload: u64 max bytes | path. Answers FILE_DATA frames then OK, or ERROR. */
void read_file(uint32_t id, const uint8_t *payload, uint32_t length)
{
	char buffer[PATH_BUFFER_BYTES];
	char *parts[MAX_PATH_PARTS];
	if (length < 8) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	uint64_t max_bytes = read_u64(payload);
	int count = split_path(payload + 8, length - 8, buffer, parts);
	if (count <= 0) {
		channel_send_error(id, count == 0 ? ERROR_NOT_REGULAR : ERROR_BAD_REQUEST, count == 0 ? EISDIR : EINVAL);
		return;
	}
	int directory = open_parent(parts, count, 0);
	if (directory < 0) {
		channel_send_error(id, (uint32_t)error_kind_for(errno), errno);
		return;
	}
	int fd = openat(directory, parts[count - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int saved = errno;
	close(directory);
	if (fd < 0) {
		channel_send_error(id, (uint32_t)error_kind_for(saved), saved);
		return;
	}
	struct stat status;
	int kind = check_regular(fd, &status);
	if (kind == 0 && (uint64_t)status.st_size > max_bytes)
		kind = ERROR_TOO_LARGE;
	if (kind != 0) {
		close(fd);
		channel_send_error(id, (uint32_t)kind, kind == ERROR_NOT_REGULAR ? EINVAL : 0);
		return;
	}
	static uint8_t chunk[READ_CHUNK];
	uint64_t total = 0;
	for (;;) {
		ssize_t read_count = read(fd, chunk, sizeof chunk);
		if (read_count < 0 && errno == EINTR)
			continue;
		if (read_count < 0) {
			saved = errno;
			close(fd);
			channel_send_error(id, ERROR_SYSTEM, saved);
			return;
		}
		if (read_count == 0)
			break;
		total += (uint64_t)read_count;
		if (total > max_bytes) {
			/* It grew while being read. */
			close(fd);
			channel_send_error(id, ERROR_TOO_LARGE, 0);
			return;
		}
		channel_send(SUPERVISOR_FILE_DATA, id, chunk, (size_t)read_count);
	}
	close(fd);
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}

static struct writer *find_writer(uint32_t id)
{
	for (int index = 0; index < writer_count; index++) {
		if (writers[index].id == id)
			return &writers[index];
	}
	return NULL;
}

/* HOST_WRITE_OPEN payload: u32 mode | path. Errors are kept and reported at close. */
void open_file_for_writing(uint32_t id, const uint8_t *payload, uint32_t length)
{
	if (writer_count == MAX_WRITERS || find_writer(id) != NULL) {
		channel_send_error(id, ERROR_BAD_REQUEST, EBUSY);
		return;
	}
	struct writer *writer = &writers[writer_count++];
	writer->id = id;
	writer->fd = -1;
	writer->error_kind = 0;
	writer->error_number = 0;
	char buffer[PATH_BUFFER_BYTES];
	char *parts[MAX_PATH_PARTS];
	int count = length < 4 ? -1 : split_path(payload + 4, length - 4, buffer, parts);
	if (count <= 0) {
		writer->error_kind = count == 0 ? ERROR_NOT_REGULAR : ERROR_BAD_REQUEST;
		writer->error_number = EINVAL;
		return;
	}
	mode_t mode = (mode_t)(read_u32(payload) & 0777);
	int directory = open_parent(parts, count, 1);
	if (directory < 0) {
		writer->error_kind = error_kind_for(errno);
		writer->error_number = errno;
		return;
	}
	/* No O_TRUNC yet: the file is checked first, then truncated through the same descriptor. */
	int fd = openat(directory, parts[count - 1], O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		mode);
	int saved = errno;
	close(directory);
	if (fd < 0) {
		writer->error_kind = error_kind_for(saved);
		writer->error_number = saved;
		return;
	}
	struct stat status;
	int kind = check_regular(fd, &status);
	if (kind == 0 && ftruncate(fd, 0) != 0) {
		kind = ERROR_SYSTEM;
		saved = errno;
	}
	if (kind != 0) {
		close(fd);
		writer->error_kind = kind;
		writer->error_number = kind == ERROR_SYSTEM ? saved : EINVAL;
		return;
	}
	fcntl(fd, F_SETFL, 0);
	writer->fd = fd;
}

void write_file_data(uint32_t id, const uint8_t *data, uint32_t length)
{
	struct writer *writer = find_writer(id);
	if (writer == NULL || writer->fd < 0)
		return;
	while (length > 0) {
		ssize_t written = write(writer->fd, data, length);
		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0) {
			/* EFBIG (file size limit) or ENOSPC: reported at close, the rest is dropped. */
			writer->error_kind = ERROR_SYSTEM;
			writer->error_number = errno;
			close(writer->fd);
			writer->fd = -1;
			return;
		}
		data += written;
		length -= (uint32_t)written;
	}
}

void close_written_file(uint32_t id)
{
	struct writer *writer = find_writer(id);
	if (writer == NULL) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	if (writer->fd >= 0 && close(writer->fd) != 0 && writer->error_kind == 0) {
		writer->error_kind = ERROR_SYSTEM;
		writer->error_number = errno;
	}
	if (writer->error_kind != 0)
		channel_send_error(id, (uint32_t)writer->error_kind, writer->error_number);
	else
		channel_send(SUPERVISOR_OK, id, NULL, 0);
	*writer = writers[--writer_count];
}
