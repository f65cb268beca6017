/* A list of byte chunks written out as the descriptor takes them. */
#include "byte-queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct byte_chunk {
	struct byte_chunk *next;
	uint32_t length;
	uint32_t offset;
	uint8_t data[];
};

int byte_queue_push(struct byte_queue *queue, const uint8_t *data, uint32_t length)
{
	struct byte_chunk *chunk = malloc(sizeof *chunk + length);
	if (chunk == NULL)
		return -1;
	chunk->next = NULL;
	chunk->length = length;
	chunk->offset = 0;
	memcpy(chunk->data, data, length);
	if (queue->tail == NULL)
		queue->head = chunk;
	else
		queue->tail->next = chunk;
	queue->tail = chunk;
	return 0;
}

int byte_queue_flush(struct byte_queue *queue, int fd)
{
	while (queue->head != NULL) {
		struct byte_chunk *chunk = queue->head;
		/* SIGPIPE is ignored by the supervisor: a gone reader is EPIPE here, not a signal. */
		ssize_t written = write(fd, chunk->data + chunk->offset, chunk->length - chunk->offset);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		chunk->offset += (uint32_t)written;
		if (chunk->offset == chunk->length) {
			queue->head = chunk->next;
			if (queue->head == NULL)
				queue->tail = NULL;
			free(chunk);
		}
	}
	return 1;
}

int byte_queue_empty(const struct byte_queue *queue)
{
	return queue->head == NULL;
}

void byte_queue_clear(struct byte_queue *queue)
{
	while (queue->head != NULL) {
		struct byte_chunk *chunk = queue->head;
		queue->head = chunk->next;
		free(chunk);
	}
	queue->tail = NULL;
}
