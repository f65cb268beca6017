/* File calls carried out inside the sandbox, as the sandbox uid, without following links. */
#ifndef SANDPORT_FILE_OPERATIONS_H
#define SANDPORT_FILE_OPERATIONS_H

#include <stdint.h>

void read_file(uint32_t id, const uint8_t *payload, uint32_t length);
void open_file_for_writing(uint32_t id, const uint8_t *payload, uint32_t length);
void write_file_data(uint32_t id, const uint8_t *data, uint32_t length);
void close_written_file(uint32_t id);

#endif
