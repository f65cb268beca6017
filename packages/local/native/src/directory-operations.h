/* Directory and metadata calls carried out inside the sandbox, as the sandbox uid. */
#ifndef SANDPORT_DIRECTORY_OPERATIONS_H
#define SANDPORT_DIRECTORY_OPERATIONS_H

#include <stdint.h>

void list_files(uint32_t id, const uint8_t *payload, uint32_t length);
void stat_file(uint32_t id, const uint8_t *payload, uint32_t length);
void make_directory(uint32_t id, const uint8_t *payload, uint32_t length);
void remove_file(uint32_t id, const uint8_t *payload, uint32_t length);
void rename_file(uint32_t id, const uint8_t *payload, uint32_t length);

#endif
