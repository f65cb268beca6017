/* Building the sandbox inside fresh namespaces, then dropping every privilege. */
#ifndef SANDPORT_SANDBOX_SETUP_H
#define SANDPORT_SANDBOX_SETUP_H

#include "sandbox-config.h"

/*
 * Runs as PID 1 of the new namespaces, holding capabilities only in its own user namespace.
 * Returns 0, or -1 with errno set and *failed_step naming what failed.
 */
int set_up_sandbox(const struct sandbox_config *config, const char **failed_step);

#endif
