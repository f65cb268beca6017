/* Paths of file calls, resolved inside the sandbox without following links. */
#ifndef SANDPORT_SANDBOX_PATHS_H
#define SANDPORT_SANDBOX_PATHS_H

#include <stddef.h>
#include <stdint.h>

#define PATH_BUFFER_BYTES 4200
#define MAX_PATH_PARTS 512

/*
 * Splits a path (relative paths are under /workspace) into normalized components in `buffer`;
 * `..` never climbs above /. Returns the number of components (0 for /), or -1 when the path is
 * empty, holds a NUL, or is too long.
 */
int split_path(const uint8_t *bytes, uint32_t length, char *buffer, char **parts);
/* The request error kind (see protocol.h) for an errno of a path operation. */
int error_kind_for(int error_number);
/*
 * Opens the directory holding the last component, creating missing directories when `create`.
 * Returns a directory fd (O_PATH), or -1 with errno set.
 */
int open_parent(char **parts, int count, int create);
/* Writes "/a/b/c" for the components into `out`; -1 when it does not fit. */
int join_path(char *const *parts, int count, char *out, size_t capacity);

#endif
