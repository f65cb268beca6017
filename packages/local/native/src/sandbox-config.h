/* The sandbox's setup as the host sent it in the CONFIG frame. Host data only: never request data. */
#ifndef SANDPORT_SANDBOX_CONFIG_H
#define SANDPORT_SANDBOX_CONFIG_H

#include <stdint.h>

#define MAX_SYSTEM_DIRECTORIES 8

struct sandbox_config {
	const char *root;          /* empty host directory the new root is assembled on (absolute) */
	const char *state;         /* the provider's state directory (absolute); the paths below are in it */
	const char *skeleton;      /* read-only skeleton that becomes / */
	const char *empty;         /* an empty directory (an overlay's second lower layer) */
	const char *sandbox;       /* the sandbox's directory: workspace/ and overlay-work/ */
	const char *node_directory; /* holds the Node binary, mounted read-only at /sandport/bin */
	const char *system_directories[MAX_SYSTEM_DIRECTORIES]; /* /lib64 etc. bound read-only */
	int system_directory_count;
	uint64_t tmp_bytes;        /* size of /tmp and /dev/shm */
	int keep_network;          /* share the host's network namespace (egress "open") */
	uint64_t processes;        /* RLIMIT_NPROC, 0 = unset */
	uint64_t data_bytes;       /* RLIMIT_DATA, 0 = unset */
	uint64_t file_bytes;       /* RLIMIT_FSIZE */
	uint64_t open_files;       /* RLIMIT_NOFILE */
	uint64_t cpu_seconds;      /* RLIMIT_CPU, 0 = unset */
	unsigned cpus;             /* pin to this many cores, 0 = all */
};

/* Parses "key\0value\0" pairs; returns 0, or -1 naming nothing (the host sent garbage). */
int parse_sandbox_config(const uint8_t *payload, uint32_t length, struct sandbox_config *config);

#endif
