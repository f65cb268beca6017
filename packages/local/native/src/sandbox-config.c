/* Parsing the CONFIG frame. */
#include "sandbox-config.h"

#include <stdlib.h>
#include <string.h>

static int parse_number(const char *text, uint64_t *value)
{
	char *end = NULL;
	unsigned long long parsed = strtoull(text, &end, 10);
	if (end == text || *end != '\0')
		return -1;
	*value = parsed;
	return 0;
}

/*
 * A path inside the state directory that can stand in an overlay's options as it is: relative,
 * without "..", and without the characters that separate overlay options and layers.
 */
static int is_plain_relative(const char *path)
{
	return path != NULL && path[0] != '\0' && path[0] != '/' && strstr(path, "..") == NULL &&
		strpbrk(path, ",:\\=") == NULL;
}

int parse_sandbox_config(const uint8_t *payload, uint32_t length, struct sandbox_config *config)
{
	memset(config, 0, sizeof *config);
	/* The payload lives in the receive buffer until the next receive; setup copies nothing later. */
	if (length == 0 || payload[length - 1] != '\0')
		return -1;
	const char *cursor = (const char *)payload;
	const char *end = (const char *)payload + length;
	while (cursor < end) {
		const char *key = cursor;
		cursor += strlen(cursor) + 1;
		if (cursor >= end)
			return -1;
		const char *value = cursor;
		cursor += strlen(cursor) + 1;
		uint64_t number = 0;
		if (strcmp(key, "root") == 0)
			config->root = value;
		else if (strcmp(key, "state") == 0)
			config->state = value;
		else if (strcmp(key, "skeleton") == 0)
			config->skeleton = value;
		else if (strcmp(key, "empty") == 0)
			config->empty = value;
		else if (strcmp(key, "sandbox") == 0)
			config->sandbox = value;
		else if (strcmp(key, "node-directory") == 0)
			config->node_directory = value;
		else if (strcmp(key, "system") == 0) {
			if (config->system_directory_count == MAX_SYSTEM_DIRECTORIES)
				return -1;
			config->system_directories[config->system_directory_count++] = value;
		} else if (parse_number(value, &number) != 0)
			return -1;
		else if (strcmp(key, "tmp-bytes") == 0)
			config->tmp_bytes = number;
		else if (strcmp(key, "network") == 0)
			config->keep_network = number != 0;
		else if (strcmp(key, "processes") == 0)
			config->processes = number;
		else if (strcmp(key, "data-bytes") == 0)
			config->data_bytes = number;
		else if (strcmp(key, "file-bytes") == 0)
			config->file_bytes = number;
		else if (strcmp(key, "open-files") == 0)
			config->open_files = number;
		else if (strcmp(key, "cpu-seconds") == 0)
			config->cpu_seconds = number;
		else if (strcmp(key, "cpus") == 0)
			config->cpus = (unsigned)number;
		else
			return -1;
	}
	if (config->root == NULL || config->state == NULL || config->root[0] != '/' || config->state[0] != '/' ||
		!is_plain_relative(config->skeleton) || !is_plain_relative(config->empty) ||
		!is_plain_relative(config->sandbox) || !is_plain_relative(config->node_directory))
		return -1;
	return 0;
}
