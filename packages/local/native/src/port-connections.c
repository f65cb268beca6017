/*
 * Connections from the host to a TCP port on the sandbox's own loopback. The supervisor lives in
 * the sandbox's network namespace, so it reaches 127.0.0.1 there while the sandbox keeps no
 * network of the host's: the host listens on its loopback and relays each connection here.
 */
#define _GNU_SOURCE
#include "port-connections.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "byte-queue.h"
#include "channel.h"
#include "protocol.h"

#define MAX_CONNECTIONS 256
#define READ_CHUNK 65536

struct connection {
	uint32_t id;
	int fd;
	int connecting;       /* connect() has not finished yet */
	int shutdown_pending; /* the host half-closed: shut down writing once the queue is empty */
	int read_closed;      /* the sandbox side sent end of stream */
	struct byte_queue queue;
};

static struct connection connections[MAX_CONNECTIONS];
static int connection_count;
static struct connection *polled[MAX_CONNECTIONS];

static struct connection *find_connection(uint32_t id)
{
	for (int index = 0; index < connection_count; index++) {
		if (connections[index].id == id)
			return &connections[index];
	}
	return NULL;
}

static void drop_connection(struct connection *connection)
{
	close(connection->fd);
	byte_queue_clear(&connection->queue);
	*connection = connections[--connection_count];
}

/* HOST_CONNECT payload: u32 port. Answers OK once connected, or ERROR (REFUSED: nothing listens). */
void open_connection(uint32_t id, const uint8_t *payload, uint32_t length)
{
	uint32_t port = length == 4 ? read_u32(payload) : 0;
	if (port == 0 || port > 65535 || find_connection(id) != NULL) {
		channel_send_error(id, ERROR_BAD_REQUEST, EINVAL);
		return;
	}
	if (connection_count == MAX_CONNECTIONS) {
		channel_send_error(id, ERROR_SYSTEM, EMFILE);
		return;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		channel_send_error(id, ERROR_SYSTEM, errno);
		return;
	}
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int result = connect(fd, (struct sockaddr *)&address, sizeof address);
	if (result != 0 && errno != EINPROGRESS) {
		int saved = errno;
		close(fd);
		channel_send_error(id, saved == ECONNREFUSED ? ERROR_REFUSED : ERROR_SYSTEM, saved);
		return;
	}
	struct connection *connection = &connections[connection_count++];
	memset(connection, 0, sizeof *connection);
	connection->id = id;
	connection->fd = fd;
	connection->connecting = result != 0;
	if (!connection->connecting)
		channel_send(SUPERVISOR_OK, id, NULL, 0);
}

static void flush_queue(struct connection *connection)
{
	int flushed = byte_queue_flush(&connection->queue, connection->fd);
	if (flushed < 0) {
		/* The sandbox side is gone: tell the host, drop what it still wanted to send. */
		channel_send(SUPERVISOR_CONNECTION_DATA, connection->id, NULL, 0);
		drop_connection(connection);
		return;
	}
	if (flushed == 1 && connection->shutdown_pending) {
		shutdown(connection->fd, SHUT_WR);
		connection->shutdown_pending = 0;
	}
}

void write_connection(uint32_t id, const uint8_t *data, uint32_t length)
{
	struct connection *connection = find_connection(id);
	if (connection == NULL)
		return;
	if (length == 0)
		connection->shutdown_pending = 1;
	else if (byte_queue_push(&connection->queue, data, length) != 0)
		return;
	if (!connection->connecting)
		flush_queue(connection);
}

void close_connection(uint32_t id)
{
	struct connection *connection = find_connection(id);
	if (connection != NULL)
		drop_connection(connection);
}

int add_connection_fds(struct pollfd *fds, int capacity)
{
	int count = 0;
	for (int index = 0; index < connection_count && count < capacity; index++) {
		struct connection *connection = &connections[index];
		short events = 0;
		if (connection->connecting || !byte_queue_empty(&connection->queue) || connection->shutdown_pending)
			events |= POLLOUT;
		if (!connection->connecting && !connection->read_closed)
			events |= POLLIN;
		if (events == 0)
			continue;
		fds[count] = (struct pollfd){ .fd = connection->fd, .events = events };
		polled[count++] = connection;
	}
	return count;
}

static void finish_connect(struct connection *connection)
{
	int error = 0;
	socklen_t size = sizeof error;
	getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &error, &size);
	if (error != 0) {
		uint32_t id = connection->id;
		drop_connection(connection);
		channel_send_error(id, error == ECONNREFUSED ? ERROR_REFUSED : ERROR_SYSTEM, error);
		return;
	}
	connection->connecting = 0;
	channel_send(SUPERVISOR_OK, connection->id, NULL, 0);
	flush_queue(connection);
}

static void read_connection(struct connection *connection)
{
	static uint8_t buffer[READ_CHUNK];
	ssize_t count = recv(connection->fd, buffer, sizeof buffer, 0);
	if (count > 0) {
		channel_send(SUPERVISOR_CONNECTION_DATA, connection->id, buffer, (size_t)count);
		return;
	}
	if (count < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	connection->read_closed = 1;
	channel_send(SUPERVISOR_CONNECTION_DATA, connection->id, NULL, 0);
}

void handle_connection_fds(const struct pollfd *fds, int count)
{
	/* Handled by id: a connection dropped meanwhile moves another into its slot. */
	uint32_t ids[MAX_CONNECTIONS];
	short events[MAX_CONNECTIONS];
	for (int index = 0; index < count; index++) {
		ids[index] = polled[index]->id;
		events[index] = fds[index].revents;
	}
	for (int index = 0; index < count; index++) {
		struct connection *connection = find_connection(ids[index]);
		if (connection == NULL || events[index] == 0)
			continue;
		if (connection->connecting) {
			finish_connect(connection);
			continue;
		}
		if (events[index] & (POLLIN | POLLHUP | POLLERR))
			read_connection(connection);
		connection = find_connection(ids[index]);
		if (connection != NULL && (events[index] & POLLOUT))
			flush_queue(connection);
	}
}
