/*
 * Paths of file calls, resolved inside the sandbox one component at a time with O_NOFOLLOW: a
 * symbolic link anywhere in the path is refused, and every step is an open descriptor, so there
 * is no check-then-use race.
 */
#define _GNU_SOURCE
#include "sandbox-paths.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol.h"

#define WORKSPACE "/workspace"

/* Splits a path (relative paths are under /workspace) into normalized components. */
int split_path(const uint8_t *bytes, uint32_t length, char *buffer, char **parts)
{
	if (length == 0 || memchr(bytes, '\0', length) != NULL)
		return -1;
	size_t prefix = bytes[0] == '/' ? 0 : strlen(WORKSPACE) + 1;
	if (prefix + length + 1 > PATH_BUFFER_BYTES)
		return -1;
	if (prefix > 0) {
		memcpy(buffer, WORKSPACE "/", prefix);
	}
	memcpy(buffer + prefix, bytes, length);
	buffer[prefix + length] = '\0';
	int count = 0;
	for (char *save = NULL, *part = strtok_r(buffer, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			if (count > 0)
				count--;
			continue;
		}
		if (count == MAX_PATH_PARTS)
			return -1;
		parts[count++] = part;
	}
	return count;
}

int error_kind_for(int error_number)
{
	switch (error_number) {
	case ENOENT:
		return ERROR_NOT_FOUND;
	case ELOOP:
	case EMLINK:
		return ERROR_LINK;
	case ENOTDIR:
		return ERROR_LINK; /* a component is a link or a file, never a directory to go through */
	case EISDIR:
	case ENXIO:
		return ERROR_NOT_REGULAR;
	case EEXIST:
		return ERROR_EXISTS;
	case ENOTEMPTY:
		return ERROR_NOT_EMPTY;
	default:
		return ERROR_SYSTEM;
	}
}

/*
 * Opens the directory holding the last component, creating missing directories when `create`.
 * Returns a directory fd, or -1 with errno set.
 */
int open_parent(char **parts, int count, int create)
{
	int directory = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int index = 0; directory >= 0 && index < count - 1; index++) {
		int next = openat(directory, parts[index], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(directory, parts[index], 0755) != 0 && errno != EEXIST) {
				int saved = errno;
				close(directory);
				errno = saved;
				return -1;
			}
			next = openat(directory, parts[index], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int saved = errno;
		close(directory);
		errno = saved;
		directory = next;
	}
	return directory;
}

int join_path(char *const *parts, int count, char *out, size_t capacity)
{
	size_t used = 0;
	if (count == 0) {
		if (capacity < 2)
			return -1;
		strcpy(out, "/");
		return 0;
	}
	for (int index = 0; index < count; index++) {
		size_t part = strlen(parts[index]);
		if (used + 1 + part + 1 > capacity)
			return -1;
		out[used++] = '/';
		memcpy(out + used, parts[index], part);
		used += part;
	}
	out[used] = '\0';
	return 0;
}
