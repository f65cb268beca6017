/*
 * Listing, describing, making, removing and renaming, inside the sandbox as its uid. Paths go
 * through sandbox-paths.c (no link is followed on the way); entries are described without
 * following a final link. A recursive removal is not done here: the host runs `rm -rf` as an
 * ordinary command, which copes with any depth.
 */
#define _GNU_SOURCE
#include "directory-operations.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "protocol.h"
#include "sandbox-paths.h"

#define ENTRY_BATCH_BYTES 65536u
#define MAX_DIRECTORY_QUEUE 65536

/* Entries are sent in batches, so a long listing is a few frames rather than one per entry. */
static uint8_t batch[ENTRY_BATCH_BYTES + FILE_ENTRY_HEADER_BYTES + PATH_BUFFER_BYTES];
static size_t batch_used;

static void write_u64(uint8_t *bytes, uint64_t value)
{
	write_u32(bytes, (uint32_t)value);
	write_u32(bytes + 4, (uint32_t)(value >> 32));
}

static uint8_t entry_type(mode_t mode)
{
	if (S_ISREG(mode))
		return 1;
	if (S_ISDIR(mode))
		return 2;
	if (S_ISLNK(mode))
		return 3;
	return 4;
}

static void flush_batch(uint32_t id)
{
	if (batch_used > 0)
		channel_send(SUPERVISOR_FILE_DATA, id, batch, batch_used);
	batch_used = 0;
}

static void add_entry(uint32_t id, const char *path, const struct stat *status)
{
	size_t path_length = strlen(path);
	uint8_t *entry = batch + batch_used;
	entry[0] = entry_type(status->st_mode);
	write_u64(entry + 1, (uint64_t)status->st_size);
	uint64_t modified_ms = (uint64_t)status->st_mtim.tv_sec * 1000u + (uint64_t)status->st_mtim.tv_nsec / 1000000u;
	write_u64(entry + 9, modified_ms);
	write_u32(entry + 17, (uint32_t)path_length);
	memcpy(entry + FILE_ENTRY_HEADER_BYTES, path, path_length);
	batch_used += FILE_ENTRY_HEADER_BYTES + path_length;
	if (batch_used >= ENTRY_BATCH_BYTES)
		flush_batch(id);
}

/* Resolves the payload's path to its parent directory and last component. */
struct resolved {
	char buffer[PATH_BUFFER_BYTES];
	char *parts[MAX_PATH_PARTS];
	int count;
	int parent; /* O_PATH directory fd, or -1 */
};

static int resolve(uint32_t id, const uint8_t *path, uint32_t length, int create_parents, struct resolved *out)
{
	out->parent = -1;
	out->count = split_path(path, length, out->buffer, out->parts);
	if (out->count < 0) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return -1;
	}
	if (out->count == 0)
		return 0; /* "/" itself */
	out->parent = open_parent(out->parts, out->count, create_parents);
	if (out->parent < 0) {
		channel_send_error(id, (uint32_t)error_kind_for(errno), errno);
		return -1;
	}
	return 0;
}

static void release(struct resolved *resolved)
{
	if (resolved->parent >= 0)
		close(resolved->parent);
}

/* The last component's directory fd, or "/" for the root. */
static int open_final_directory(const struct resolved *resolved)
{
	if (resolved->count == 0)
		return open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return openat(resolved->parent, resolved->parts[resolved->count - 1],
		O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Lists one directory into the batch; queues subdirectories when `queue` is not NULL. */
static int list_one(uint32_t id, int directory_fd, const char *directory_path, uint32_t max_entries,
	uint32_t *listed, char ***queue, size_t *queued)
{
	DIR *directory = fdopendir(directory_fd);
	if (directory == NULL) {
		close(directory_fd);
		return -1;
	}
	char path[PATH_BUFFER_BYTES];
	int result = 0;
	for (struct dirent *entry = readdir(directory); entry != NULL; entry = readdir(directory)) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		struct stat status;
		if (fstatat(dirfd(directory), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* removed meanwhile */
		int written = snprintf(path, sizeof path, "%s%s%s", directory_path,
			strcmp(directory_path, "/") == 0 ? "" : "/", entry->d_name);
		if (written < 0 || (size_t)written >= sizeof path) {
			errno = ENAMETOOLONG;
			result = -1;
			break;
		}
		if (*listed == max_entries) {
			errno = E2BIG;
			result = -1;
			break;
		}
		(*listed)++;
		add_entry(id, path, &status);
		if (queue != NULL && S_ISDIR(status.st_mode)) {
			if (*queued == MAX_DIRECTORY_QUEUE) {
				errno = E2BIG;
				result = -1;
				break;
			}
			char *copy = strdup(path);
			char **grown = copy == NULL ? NULL : realloc(*queue, (*queued + 1) * sizeof **queue);
			if (grown == NULL) {
				free(copy);
				errno = ENOMEM;
				result = -1;
				break;
			}
			*queue = grown;
			(*queue)[(*queued)++] = copy;
		}
	}
	closedir(directory);
	return result;
}

/* HOST_LIST_FILES: u32 flags | u32 max entries | path. */
void list_files(uint32_t id, const uint8_t *payload, uint32_t length)
{
	if (length < 8) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	int recursive = (read_u32(payload) & 1) != 0;
	uint32_t max_entries = read_u32(payload + 4);
	struct resolved resolved;
	if (resolve(id, payload + 8, length - 8, 0, &resolved) != 0)
		return;
	int directory = open_final_directory(&resolved);
	int saved = errno;
	char root_path[PATH_BUFFER_BYTES];
	join_path(resolved.parts, resolved.count, root_path, sizeof root_path);
	release(&resolved);
	if (directory < 0) {
		channel_send_error(id, saved == ENOTDIR ? ERROR_NOT_DIRECTORY : (uint32_t)error_kind_for(saved), saved);
		return;
	}
	char **queue = NULL;
	size_t queued = 0;
	size_t next = 0;
	uint32_t listed = 0;
	batch_used = 0;
	int result = list_one(id, directory, root_path, max_entries, &listed, recursive ? &queue : NULL, &queued);
	/* Breadth first, reopening each subdirectory from / without following links. */
	while (result == 0 && next < queued) {
		char *sub_path = queue[next++];
		struct resolved child;
		child.count = split_path((const uint8_t *)sub_path, (uint32_t)strlen(sub_path), child.buffer, child.parts);
		child.parent = child.count > 0 ? open_parent(child.parts, child.count, 0) : -1;
		int sub_directory = child.parent < 0 ? -1 : open_final_directory(&child);
		release(&child);
		if (sub_directory >= 0)
			result = list_one(id, sub_directory, sub_path, max_entries, &listed, &queue, &queued);
	}
	saved = errno;
	for (size_t index = 0; index < queued; index++)
		free(queue[index]);
	free(queue);
	if (result != 0) {
		batch_used = 0;
		channel_send_error(id, saved == E2BIG ? ERROR_TOO_LARGE : (uint32_t)error_kind_for(saved), saved);
		return;
	}
	flush_batch(id);
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}

/* HOST_STAT_FILE: path. */
void stat_file(uint32_t id, const uint8_t *payload, uint32_t length)
{
	struct resolved resolved;
	if (resolve(id, payload, length, 0, &resolved) != 0)
		return;
	struct stat status;
	int result = resolved.count == 0 ? stat("/", &status)
					 : fstatat(resolved.parent, resolved.parts[resolved.count - 1], &status,
						   AT_SYMLINK_NOFOLLOW);
	int saved = errno;
	char path[PATH_BUFFER_BYTES];
	join_path(resolved.parts, resolved.count, path, sizeof path);
	release(&resolved);
	if (result != 0) {
		channel_send_error(id, (uint32_t)error_kind_for(saved), saved);
		return;
	}
	batch_used = 0;
	add_entry(id, path, &status);
	flush_batch(id);
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}

/* HOST_MAKE_DIRECTORY: u32 flags | path. */
void make_directory(uint32_t id, const uint8_t *payload, uint32_t length)
{
	if (length < 4) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	int recursive = (read_u32(payload) & 1) != 0;
	struct resolved resolved;
	if (resolve(id, payload + 4, length - 4, recursive, &resolved) != 0)
		return;
	if (resolved.count == 0) {
		/* "/" exists: fine for a recursive make, an existing entry otherwise. */
		if (recursive)
			channel_send(SUPERVISOR_OK, id, NULL, 0);
		else
			channel_send_error(id, ERROR_EXISTS, EEXIST);
		return;
	}
	const char *name = resolved.parts[resolved.count - 1];
	int result = mkdirat(resolved.parent, name, 0755);
	int saved = errno;
	if (result != 0 && saved == EEXIST && recursive) {
		struct stat status;
		/* An existing directory is what was asked for; a file or link in the way is not. */
		if (fstatat(resolved.parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(status.st_mode))
			result = 0;
	}
	release(&resolved);
	if (result != 0) {
		channel_send_error(id, (uint32_t)error_kind_for(saved), saved);
		return;
	}
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}

/* HOST_REMOVE_FILE: path (a file, a link itself, or an empty directory). */
void remove_file(uint32_t id, const uint8_t *payload, uint32_t length)
{
	struct resolved resolved;
	if (resolve(id, payload, length, 0, &resolved) != 0)
		return;
	if (resolved.count == 0) {
		channel_send_error(id, ERROR_BAD_REQUEST, EBUSY);
		return;
	}
	const char *name = resolved.parts[resolved.count - 1];
	struct stat status;
	int result = fstatat(resolved.parent, name, &status, AT_SYMLINK_NOFOLLOW);
	if (result == 0)
		result = unlinkat(resolved.parent, name, S_ISDIR(status.st_mode) ? AT_REMOVEDIR : 0);
	int saved = errno;
	release(&resolved);
	if (result != 0) {
		/* EEXIST is what some file systems say for a directory that is not empty. */
		channel_send_error(id, saved == EEXIST ? ERROR_NOT_EMPTY : (uint32_t)error_kind_for(saved), saved);
		return;
	}
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}

/* HOST_RENAME_FILE: u32 length of from | from | to. */
void rename_file(uint32_t id, const uint8_t *payload, uint32_t length)
{
	if (length < 4 || read_u32(payload) > length - 4) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	uint32_t from_length = read_u32(payload);
	struct resolved from;
	struct resolved to;
	if (resolve(id, payload + 4, from_length, 0, &from) != 0)
		return;
	if (resolve(id, payload + 4 + from_length, length - 4 - from_length, 0, &to) != 0) {
		release(&from);
		return;
	}
	int result = -1;
	int saved = EBUSY;
	if (from.count > 0 && to.count > 0) {
		result = renameat(from.parent, from.parts[from.count - 1], to.parent, to.parts[to.count - 1]);
		saved = errno;
	}
	release(&from);
	release(&to);
	if (result != 0) {
		channel_send_error(id, saved == EBUSY ? ERROR_BAD_REQUEST : (uint32_t)error_kind_for(saved), saved);
		return;
	}
	channel_send(SUPERVISOR_OK, id, NULL, 0);
}
