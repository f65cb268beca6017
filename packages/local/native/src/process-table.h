/* The processes the host started (exec and spawn), their pipes and their exit. */
#ifndef SANDPORT_PROCESS_TABLE_H
#define SANDPORT_PROCESS_TABLE_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts a process from a HOST_EXEC payload; answers STARTED or ERROR. */
void start_process(uint32_t id, const uint8_t *payload, uint32_t length);
/* Queues stdin bytes; an empty chunk closes stdin once the queue is written. */
void write_process_stdin(uint32_t id, const uint8_t *data, uint32_t length);
/* Stops reading a process's stdout or stderr (the host's output cap was reached). */
void close_process_output(uint32_t id, const uint8_t *payload, uint32_t length);
void signal_process(uint32_t id, const uint8_t *payload, uint32_t length);
/* Records a reaped child's status. */
void process_exited(pid_t pid, int status);

/* Adds the pipes that need watching to `fds` (and notes which process each belongs to). */
int add_process_fds(struct pollfd *fds, int capacity);
/* Handles readiness of the fds added last; sends output and exits. */
void handle_process_fds(const struct pollfd *fds, int count);
/* Milliseconds until the next output grace period ends, or -1 when none is pending. */
int next_process_deadline(void);
/* Finishes processes whose grace period ended. */
void finish_overdue_processes(void);

#endif
