/* Bytes waiting to be written to a non-blocking descriptor (a process's stdin, a port connection). */
#ifndef SANDPORT_BYTE_QUEUE_H
#define SANDPORT_BYTE_QUEUE_H

#include <stdint.h>

struct byte_chunk;

struct byte_queue {
	struct byte_chunk *head;
	struct byte_chunk *tail;
};

/* Appends a copy of `data`; returns 0, or -1 when memory ran out. */
int byte_queue_push(struct byte_queue *queue, const uint8_t *data, uint32_t length);
/*
 * Writes what `fd` takes without blocking. Returns 1 once the queue is empty, 0 when `fd` would
 * block, -1 when `fd` failed (the reader is gone; errno says why). The queue keeps what was not
 * written.
 */
int byte_queue_flush(struct byte_queue *queue, int fd);
int byte_queue_empty(const struct byte_queue *queue);
void byte_queue_clear(struct byte_queue *queue);

#endif
