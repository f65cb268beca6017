/* Framed messages over the host channel: a buffer of received bytes, and blocking sends. */
#include "channel.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "protocol.h"

static uint8_t receive_buffer[FRAME_HEADER_BYTES + FRAME_MAX_PAYLOAD];
static size_t receive_start;
static size_t receive_end;

uint32_t read_u32(const uint8_t *bytes)
{
	return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
}

uint64_t read_u64(const uint8_t *bytes)
{
	return (uint64_t)read_u32(bytes) | (uint64_t)read_u32(bytes + 4) << 32;
}

void write_u32(uint8_t *bytes, uint32_t value)
{
	bytes[0] = (uint8_t)value;
	bytes[1] = (uint8_t)(value >> 8);
	bytes[2] = (uint8_t)(value >> 16);
	bytes[3] = (uint8_t)(value >> 24);
}

static void write_fully(struct iovec *parts, int count)
{
	while (count > 0) {
		ssize_t written = writev(CHANNEL_FD, parts, count);
		if (written < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* The channel is non-blocking for reads; a full socket buffer waits for the host. */
				struct pollfd writable = { .fd = CHANNEL_FD, .events = POLLOUT };
				poll(&writable, 1, -1);
				continue;
			}
			/* The host is gone: PID 1 exiting takes every sandboxed process with it. */
			_exit(0);
		}
		size_t remaining = (size_t)written;
		while (count > 0 && remaining >= parts->iov_len) {
			remaining -= parts->iov_len;
			parts++;
			count--;
		}
		if (count > 0) {
			parts->iov_base = (uint8_t *)parts->iov_base + remaining;
			parts->iov_len -= remaining;
		}
	}
}

void channel_send2(uint8_t type, uint32_t id, const void *first, size_t first_length, const void *second,
	size_t second_length)
{
	uint8_t header[FRAME_HEADER_BYTES];
	write_u32(header, (uint32_t)(first_length + second_length));
	header[4] = type;
	write_u32(header + 5, id);
	struct iovec parts[3] = {
		{ .iov_base = header, .iov_len = sizeof header },
		{ .iov_base = (void *)first, .iov_len = first_length },
		{ .iov_base = (void *)second, .iov_len = second_length },
	};
	write_fully(parts, 3);
}

void channel_send(uint8_t type, uint32_t id, const void *payload, size_t length)
{
	channel_send2(type, id, payload, length, NULL, 0);
}

void channel_send_error(uint32_t id, uint32_t kind, int error_number)
{
	uint8_t payload[8];
	write_u32(payload, kind);
	write_u32(payload + 4, (uint32_t)error_number);
	channel_send(SUPERVISOR_ERROR, id, payload, sizeof payload);
}

int channel_receive(void)
{
	if (receive_start > 0) {
		memmove(receive_buffer, receive_buffer + receive_start, receive_end - receive_start);
		receive_end -= receive_start;
		receive_start = 0;
	}
	for (;;) {
		ssize_t count = read(CHANNEL_FD, receive_buffer + receive_end, sizeof receive_buffer - receive_end);
		if (count > 0) {
			receive_end += (size_t)count;
			return 0;
		}
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
}

int channel_next_frame(struct frame *frame)
{
	size_t available = receive_end - receive_start;
	if (available < FRAME_HEADER_BYTES)
		return 0;
	const uint8_t *header = receive_buffer + receive_start;
	uint32_t length = read_u32(header);
	if (length > FRAME_MAX_PAYLOAD)
		_exit(2); /* the host broke the protocol: nothing sensible is left to do */
	if (available < FRAME_HEADER_BYTES + length)
		return 0;
	frame->type = header[4];
	frame->id = read_u32(header + 5);
	frame->length = length;
	frame->payload = header + FRAME_HEADER_BYTES;
	receive_start += FRAME_HEADER_BYTES + length;
	return 1;
}

int channel_read_frame(struct frame *frame)
{
	while (!channel_next_frame(frame)) {
		if (channel_receive() < 0)
			return -1;
	}
	return 0;
}
