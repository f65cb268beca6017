/* TCP connections to ports inside the sandbox, relayed over the host channel (exposePort). */
#ifndef SANDPORT_PORT_CONNECTIONS_H
#define SANDPORT_PORT_CONNECTIONS_H

#include <poll.h>
#include <stdint.h>

void open_connection(uint32_t id, const uint8_t *payload, uint32_t length);
/* Bytes for the sandbox side; an empty chunk half-closes it. */
void write_connection(uint32_t id, const uint8_t *data, uint32_t length);
void close_connection(uint32_t id);

int add_connection_fds(struct pollfd *fds, int capacity);
void handle_connection_fds(const struct pollfd *fds, int count);

#endif
