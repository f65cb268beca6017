/* Framed messages over the host channel (see protocol.h). */
#ifndef SANDPORT_CHANNEL_H
#define SANDPORT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

struct frame {
	uint8_t type;
	uint32_t id;
	uint32_t length;
	const uint8_t *payload;
};

/* Sends one frame; exits the supervisor when the host is gone (nothing is left to serve). */
void channel_send(uint8_t type, uint32_t id, const void *payload, size_t length);
/* Sends a frame whose payload is two parts (e.g. a number and a text). */
void channel_send2(uint8_t type, uint32_t id, const void *first, size_t first_length, const void *second,
	size_t second_length);
void channel_send_error(uint32_t id, uint32_t kind, int error_number);

/*
 * Reads what is available into the receive buffer. Returns 0, or -1 on end of input (the host
 * closed the channel or died).
 */
int channel_receive(void);
/* The next complete frame, if one is buffered; valid until the next channel_receive. */
int channel_next_frame(struct frame *frame);
/* Blocks until one whole frame arrived (used before the event loop starts). */
int channel_read_frame(struct frame *frame);

uint32_t read_u32(const uint8_t *bytes);
uint64_t read_u64(const uint8_t *bytes);
void write_u32(uint8_t *bytes, uint32_t value);

#endif
