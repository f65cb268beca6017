#ifndef SANDPORT_SECCOMP_FILTER_H
#define SANDPORT_SECCOMP_FILTER_H

/*
 * Installs the sandbox's seccomp filter (the rules of seccomp-table.h) on the calling thread;
 * every process it forks and executes afterwards inherits it, and nothing can remove it.
 *
 * Call it after PR_SET_NO_NEW_PRIVS (the kernel refuses a filter from a process without it and
 * without CAP_SYS_ADMIN) and while the process is single-threaded: it does not synchronize
 * other threads. Returns 0, or -errno when the filter could not be installed.
 */
int sandport_install_seccomp_filter(void);

#endif
