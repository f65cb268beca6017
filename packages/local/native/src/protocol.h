/*
 * The private channel between the host (Node) and the sandbox supervisor: a stream socket
 * inherited as fd 3. Every message is one frame:
 *
 *   u32 payload length (little endian) | u8 type | u32 request id | payload
 *
 * The host is trusted to send well-formed frames; the supervisor runs as the sandbox uid, so the
 * host treats everything coming back as hostile and validates it.
 */
#ifndef SANDPORT_PROTOCOL_H
#define SANDPORT_PROTOCOL_H

#include <stdint.h>

#define FRAME_HEADER_BYTES 9u
/* A frame's payload is at most this large; bigger data travels in several frames. */
#define FRAME_MAX_PAYLOAD (1024u * 1024u + 4096u)
#define CHANNEL_FD 3

enum host_message {
	/* The sandbox's setup, first and once: NUL-terminated "key\0value\0" pairs. */
	HOST_CONFIG = 1,
	/* Start a process: see process-table.c for the payload. */
	HOST_EXEC = 2,
	/* Bytes for a process's stdin; an empty payload closes it. */
	HOST_STDIN = 3,
	/* u32 signal number for a process's whole process group. */
	HOST_SIGNAL = 4,
	/* u64 max bytes | path: read a regular file. */
	HOST_READ_FILE = 5,
	/* u32 mode | path: open a regular file for writing (created, parents created, truncated). */
	HOST_WRITE_OPEN = 6,
	/* Bytes appended to the file opened by WRITE_OPEN with the same id. */
	HOST_WRITE_DATA = 7,
	/* Close the written file; answered with OK or ERROR. */
	HOST_WRITE_CLOSE = 8,
	/* u16 port: open a TCP connection to 127.0.0.1:port inside the sandbox. */
	HOST_CONNECT = 9,
	/* Bytes for an open connection; an empty payload half-closes it. */
	HOST_CONNECTION_DATA = 10,
	/* Close a connection. */
	HOST_CONNECTION_CLOSE = 11,
	/* u32 stream (1 stdout, 2 stderr): stop reading it, so a writer gets SIGPIPE as with `head`. */
	HOST_CLOSE_OUTPUT = 12,
	/* u32 flags (bit 0: recursive) | u32 max entries | path: FILE_DATA frames of entries, then OK. */
	HOST_LIST_FILES = 13,
	/* path: one FILE_DATA entry (the final component is not followed), then OK. */
	HOST_STAT_FILE = 14,
	/* u32 flags (bit 0: recursive) | path. */
	HOST_MAKE_DIRECTORY = 15,
	/* path: a file, link or empty directory. */
	HOST_REMOVE_FILE = 16,
	/* u32 length of from | from | to. */
	HOST_RENAME_FILE = 17,
};

/*
 * A file entry in FILE_DATA frames of LIST_FILES and STAT_FILE: u8 type (1 file, 2 directory,
 * 3 symlink, 4 other) | u64 size | u64 modification time, ms since the epoch | u32 path length |
 * absolute path.
 */
#define FILE_ENTRY_HEADER_BYTES 21u

enum supervisor_message {
	/* Setup is done; the sandbox serves requests. */
	SUPERVISOR_READY = 1,
	/* Setup failed: u32 errno | text naming the step. The supervisor then exits. */
	SUPERVISOR_SETUP_FAILED = 2,
	/* The process of this id runs. */
	SUPERVISOR_STARTED = 3,
	SUPERVISOR_STDOUT = 4,
	SUPERVISOR_STDERR = 5,
	/* i32 exit code: the process's status, or 128 + the signal that ended it. */
	SUPERVISOR_EXIT = 6,
	/* u32 error kind | u32 errno: a request failed (see enum request_error). */
	SUPERVISOR_ERROR = 7,
	/* A chunk of a file being read. */
	SUPERVISOR_FILE_DATA = 8,
	/* A request finished without data to return (file read complete, write closed, connected). */
	SUPERVISOR_OK = 9,
	/* Bytes from a connection; an empty payload means the sandbox side closed it. */
	SUPERVISOR_CONNECTION_DATA = 10,
};

enum request_error {
	ERROR_SYSTEM = 1,          /* any other errno */
	ERROR_NOT_FOUND = 2,       /* a path component or the file does not exist */
	ERROR_NOT_REGULAR = 3,     /* a directory, FIFO, socket or device */
	ERROR_LINK = 4,            /* the path goes through a symbolic link, or the file has hard links */
	ERROR_TOO_LARGE = 5,       /* larger than the caller's cap */
	ERROR_BAD_DIRECTORY = 6,   /* the working directory does not exist or is not a directory */
	ERROR_EXEC_FAILED = 7,     /* execve failed (errno says why: ENOENT, EACCES, ...) */
	ERROR_BAD_REQUEST = 8,     /* a malformed frame */
	ERROR_REFUSED = 9,         /* nothing listens on the port */
	ERROR_EXISTS = 10,         /* the entry to create already exists */
	ERROR_NOT_EMPTY = 11,      /* a directory to remove holds entries */
	ERROR_NOT_DIRECTORY = 12,  /* a directory was expected */
};

#endif
