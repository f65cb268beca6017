/*
 * The sandbox's seccomp policy: one X-macro list that the filter (seccomp-filter.c), the probe
 * (test/seccomp-probe.c) and the vitest test (src/seccomp-filter.test.ts, which parses this file)
 * all read, so the three cannot drift apart.
 *
 * Rules, first match wins (a syscall no rule matches is allowed):
 *   SECCOMP_DENY_ABOVE(newest, error)                     every syscall numbered above `newest`
 *   SECCOMP_DENY(name, error)                             every call of `name`
 *   SECCOMP_DENY_IF_FLAG(name, argument, flag, error)     when the argument has any bit of `flag`
 *   SECCOMP_DENY_IF_EQUAL(name, argument, value, error)   when the argument equals `value`
 *   SECCOMP_ALLOW_IF_EQUAL(name, argument, value)         when the argument equals `value`
 * Argument rules compare the low 32 bits only: every argument matched here is a 32-bit int in the
 * kernel (clone's flags are cut with lower_32_bits(), ioctl's request is an unsigned int), so the
 * high half cannot change what the kernel does, and comparing 64 bits would let it dodge a rule.
 *
 * Keep every macro argument a single token (the test splits these lines on commas), and wrap every
 * rule in #ifdef __NR_<name>, so a syscall missing on an architecture is skipped there.
 *
 * The baseline is Docker's default profile for a container without capabilities (moby
 * profiles/seccomp/default.json): everything it refuses is refused here too, plus io_uring,
 * name_to_handle_at, process_vm_readv/writev and the clock-adjusting calls. ptrace stays allowed:
 * the pid namespace already limits whom it reaches, and debuggers need it.
 *
 * Errors: EPERM, what the kernel itself answers a caller without the capability, for privileged
 * calls; ENOSYS, "this kernel has no such call", where programs have a fallback for that answer.
 *
 * No include guard: every inclusion expands the rules with the including file's macro definitions.
 */

#ifndef SANDPORT_SECCOMP_TABLE_CONSTANTS
#define SANDPORT_SECCOMP_TABLE_CONSTANTS
#include <errno.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/*
 * Since Linux 5.1 (pidfd_send_signal, 424) a new syscall gets the same number on every
 * architecture but alpha, so the ones newer than the C library's headers can be named here.
 */
#if defined(__x86_64__) || defined(__aarch64__)
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#ifndef __NR_listmount
#define __NR_listmount 458
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif
#endif
#endif /* SANDPORT_SECCOMP_TABLE_CONSTANTS */

/* Rules a caller does not expand are dropped. */
#ifndef SECCOMP_DENY_ABOVE
#define SECCOMP_DENY_ABOVE(newest, error)
#endif
#ifndef SECCOMP_DENY
#define SECCOMP_DENY(name, error)
#endif
#ifndef SECCOMP_DENY_IF_FLAG
#define SECCOMP_DENY_IF_FLAG(name, argument, flag, error)
#endif
#ifndef SECCOMP_DENY_IF_EQUAL
#define SECCOMP_DENY_IF_EQUAL(name, argument, value, error)
#endif
#ifndef SECCOMP_ALLOW_IF_EQUAL
#define SECCOMP_ALLOW_IF_EQUAL(name, argument, value)
#endif

/*
 * Syscalls newer than file_setattr (469, Linux 6.17) were not reviewed: they answer ENOSYS, as on
 * an older kernel, which every C library and runtime falls back from (runc does the same for
 * syscalls its profile does not know). Raise this after reviewing the new calls.
 */
SECCOMP_DENY_ABOVE(469, ENOSYS)

/* --- New namespaces: entering or creating one would undo the sandbox's own ------------------- */
#ifdef __NR_unshare
SECCOMP_DENY(unshare, EPERM)
#endif
#ifdef __NR_setns
SECCOMP_DENY(setns, EPERM)
#endif
/*
 * clone3 passes its flags in memory, out of a filter's reach: ENOSYS makes the C library fall back
 * to clone, whose flags the rules below can read (Docker does the same).
 */
#ifdef __NR_clone3
SECCOMP_DENY(clone3, ENOSYS)
#endif
/*
 * clone's flags are its first argument on x86_64 and aarch64. clone reads CLONE_NEWTIME's bit as
 * part of the exit signal (only clone3 and unshare take the flag), where it means a signal above
 * 127, which does not exist: that rule refuses nothing real and keeps the namespace list whole.
 */
#ifdef __NR_clone
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWUSER, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWNS, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWPID, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWNET, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWIPC, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWUTS, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWCGROUP, EPERM)
SECCOMP_DENY_IF_FLAG(clone, 0, CLONE_NEWTIME, EPERM)
#endif

/* --- Mounts and the filesystem view: the supervisor set them up, nothing inside changes them -- */
#ifdef __NR_mount
SECCOMP_DENY(mount, EPERM)
#endif
#ifdef __NR_umount
SECCOMP_DENY(umount, EPERM)
#endif
#ifdef __NR_umount2
SECCOMP_DENY(umount2, EPERM)
#endif
#ifdef __NR_pivot_root
SECCOMP_DENY(pivot_root, EPERM)
#endif
/* Docker allows chroot only with CAP_SYS_CHROOT, which a sandboxed process never holds. */
#ifdef __NR_chroot
SECCOMP_DENY(chroot, EPERM)
#endif
#ifdef __NR_mount_setattr
SECCOMP_DENY(mount_setattr, EPERM)
#endif
#ifdef __NR_move_mount
SECCOMP_DENY(move_mount, EPERM)
#endif
#ifdef __NR_open_tree
SECCOMP_DENY(open_tree, EPERM)
#endif
#ifdef __NR_open_tree_attr
SECCOMP_DENY(open_tree_attr, EPERM)
#endif
#ifdef __NR_fsopen
SECCOMP_DENY(fsopen, EPERM)
#endif
#ifdef __NR_fsconfig
SECCOMP_DENY(fsconfig, EPERM)
#endif
#ifdef __NR_fsmount
SECCOMP_DENY(fsmount, EPERM)
#endif
#ifdef __NR_fspick
SECCOMP_DENY(fspick, EPERM)
#endif
/*
 * Mount listing, not in Docker's profile: ENOSYS sends libmount back to /proc/self/mountinfo,
 * which shows the same mounts; EPERM would make it fail instead.
 */
#ifdef __NR_statmount
SECCOMP_DENY(statmount, ENOSYS)
#endif
#ifdef __NR_listmount
SECCOMP_DENY(listmount, ENOSYS)
#endif

/* --- Kernel keyrings: kernel-wide state keyed by uid, which namespaces do not confine ---------- */
#ifdef __NR_keyctl
SECCOMP_DENY(keyctl, EPERM)
#endif
#ifdef __NR_add_key
SECCOMP_DENY(add_key, EPERM)
#endif
#ifdef __NR_request_key
SECCOMP_DENY(request_key, EPERM)
#endif

/* --- Large kernel attack surface: eBPF, perf, userfaultfd, io_uring --------------------------- */
#ifdef __NR_bpf
SECCOMP_DENY(bpf, EPERM)
#endif
#ifdef __NR_perf_event_open
SECCOMP_DENY(perf_event_open, EPERM)
#endif
/* userfaultfd stalls kernel page faults at will, the usual step in exploiting kernel races. */
#ifdef __NR_userfaultfd
SECCOMP_DENY(userfaultfd, EPERM)
#endif
/*
 * io_uring performs I/O out of seccomp's sight and has a long record of kernel bugs (recent Docker
 * releases refuse it as well). libuv and other users fall back to plain I/O.
 */
#ifdef __NR_io_uring_setup
SECCOMP_DENY(io_uring_setup, EPERM)
#endif
#ifdef __NR_io_uring_enter
SECCOMP_DENY(io_uring_enter, EPERM)
#endif
#ifdef __NR_io_uring_register
SECCOMP_DENY(io_uring_register, EPERM)
#endif

/* --- Kernel modules and kexec ---------------------------------------------------------------- */
#ifdef __NR_init_module
SECCOMP_DENY(init_module, EPERM)
#endif
#ifdef __NR_finit_module
SECCOMP_DENY(finit_module, EPERM)
#endif
#ifdef __NR_delete_module
SECCOMP_DENY(delete_module, EPERM)
#endif
#ifdef __NR_create_module
SECCOMP_DENY(create_module, EPERM)
#endif
#ifdef __NR_query_module
SECCOMP_DENY(query_module, EPERM)
#endif
#ifdef __NR_get_kernel_syms
SECCOMP_DENY(get_kernel_syms, EPERM)
#endif
#ifdef __NR_kexec_load
SECCOMP_DENY(kexec_load, EPERM)
#endif
#ifdef __NR_kexec_file_load
SECCOMP_DENY(kexec_file_load, EPERM)
#endif

/* --- Machine-wide state: power, host identity, clocks, accounting, swap, quotas, log ---------- */
#ifdef __NR_reboot
SECCOMP_DENY(reboot, EPERM)
#endif
#ifdef __NR_sethostname
SECCOMP_DENY(sethostname, EPERM)
#endif
#ifdef __NR_setdomainname
SECCOMP_DENY(setdomainname, EPERM)
#endif
#ifdef __NR_settimeofday
SECCOMP_DENY(settimeofday, EPERM)
#endif
#ifdef __NR_stime
SECCOMP_DENY(stime, EPERM)
#endif
#ifdef __NR_clock_settime
SECCOMP_DENY(clock_settime, EPERM)
#endif
#ifdef __NR_clock_settime64
SECCOMP_DENY(clock_settime64, EPERM)
#endif
/*
 * Docker allows these two for their read-only form (modes 0); ordinary programs read the clock
 * with clock_gettime, so both are refused whole.
 */
#ifdef __NR_clock_adjtime
SECCOMP_DENY(clock_adjtime, EPERM)
#endif
#ifdef __NR_adjtimex
SECCOMP_DENY(adjtimex, EPERM)
#endif
#ifdef __NR_acct
SECCOMP_DENY(acct, EPERM)
#endif
#ifdef __NR_swapon
SECCOMP_DENY(swapon, EPERM)
#endif
#ifdef __NR_swapoff
SECCOMP_DENY(swapoff, EPERM)
#endif
#ifdef __NR_quotactl
SECCOMP_DENY(quotactl, EPERM)
#endif
#ifdef __NR_quotactl_fd
SECCOMP_DENY(quotactl_fd, EPERM)
#endif
#ifdef __NR_syslog
SECCOMP_DENY(syslog, EPERM)
#endif
#ifdef __NR_vhangup
SECCOMP_DENY(vhangup, EPERM)
#endif
#ifdef __NR_iopl
SECCOMP_DENY(iopl, EPERM)
#endif
#ifdef __NR_ioperm
SECCOMP_DENY(ioperm, EPERM)
#endif

/* --- Other processes and the host's files: reached by handle, pid or memory ------------------- */
/*
 * open_by_handle_at opens any file of a mount by handle, past the mount's visible tree
 * (the "shocker" container escape).
 */
#ifdef __NR_open_by_handle_at
SECCOMP_DENY(open_by_handle_at, EPERM)
#endif
/*
 * Docker allows name_to_handle_at, but its handles describe host files and feed the call above.
 * EOPNOTSUPP is its answer on a filesystem without handles, which its users fall back from.
 */
#ifdef __NR_name_to_handle_at
SECCOMP_DENY(name_to_handle_at, EOPNOTSUPP)
#endif
#ifdef __NR_process_vm_readv
SECCOMP_DENY(process_vm_readv, EPERM)
#endif
#ifdef __NR_process_vm_writev
SECCOMP_DENY(process_vm_writev, EPERM)
#endif
#ifdef __NR_process_madvise
SECCOMP_DENY(process_madvise, EPERM)
#endif
#ifdef __NR_kcmp
SECCOMP_DENY(kcmp, EPERM)
#endif
#ifdef __NR_pidfd_getfd
SECCOMP_DENY(pidfd_getfd, EPERM)
#endif
/* fanotify_init watches whole mounts; fanotify_mark stays allowed, harmless without it. */
#ifdef __NR_fanotify_init
SECCOMP_DENY(fanotify_init, EPERM)
#endif

/* --- NUMA memory policy: Docker allows it only with CAP_SYS_NICE ----------------------------- */
/* libnuma and the JVM take EPERM for "no NUMA here". */
#ifdef __NR_get_mempolicy
SECCOMP_DENY(get_mempolicy, EPERM)
#endif
#ifdef __NR_set_mempolicy
SECCOMP_DENY(set_mempolicy, EPERM)
#endif
#ifdef __NR_set_mempolicy_home_node
SECCOMP_DENY(set_mempolicy_home_node, EPERM)
#endif
#ifdef __NR_mbind
SECCOMP_DENY(mbind, EPERM)
#endif
#ifdef __NR_migrate_pages
SECCOMP_DENY(migrate_pages, EPERM)
#endif
#ifdef __NR_move_pages
SECCOMP_DENY(move_pages, EPERM)
#endif

/* --- Obsolete or never implemented: nothing current calls them --------------------------------- */
#ifdef __NR_lookup_dcookie
SECCOMP_DENY(lookup_dcookie, EPERM)
#endif
#ifdef __NR_nfsservctl
SECCOMP_DENY(nfsservctl, EPERM)
#endif
#ifdef __NR_sysfs
SECCOMP_DENY(sysfs, EPERM)
#endif
#ifdef __NR__sysctl
SECCOMP_DENY(_sysctl, EPERM)
#endif
#ifdef __NR_uselib
SECCOMP_DENY(uselib, EPERM)
#endif
#ifdef __NR_ustat
SECCOMP_DENY(ustat, EPERM)
#endif
#ifdef __NR_vm86
SECCOMP_DENY(vm86, EPERM)
#endif
#ifdef __NR_vm86old
SECCOMP_DENY(vm86old, EPERM)
#endif
#ifdef __NR_afs_syscall
SECCOMP_DENY(afs_syscall, EPERM)
#endif
#ifdef __NR_tuxcall
SECCOMP_DENY(tuxcall, EPERM)
#endif
#ifdef __NR_security
SECCOMP_DENY(security, EPERM)
#endif
#ifdef __NR_getpmsg
SECCOMP_DENY(getpmsg, EPERM)
#endif
#ifdef __NR_putpmsg
SECCOMP_DENY(putpmsg, EPERM)
#endif
#ifdef __NR_vserver
SECCOMP_DENY(vserver, EPERM)
#endif

/* --- Argument rules -------------------------------------------------------------------------- */
/*
 * Docker's five personalities: Linux and Linux32, each with or without UNAME26, and 0xffffffff,
 * which only reads the current one. The rest (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, ...) weaken
 * memory protections.
 */
#ifdef __NR_personality
SECCOMP_ALLOW_IF_EQUAL(personality, 0, 0x0)
SECCOMP_ALLOW_IF_EQUAL(personality, 0, 0x8)
SECCOMP_ALLOW_IF_EQUAL(personality, 0, 0x20000)
SECCOMP_ALLOW_IF_EQUAL(personality, 0, 0x20008)
SECCOMP_ALLOW_IF_EQUAL(personality, 0, 0xffffffff)
SECCOMP_DENY(personality, EPERM)
#endif
/*
 * TIOCSTI pushes input into a terminal, which the shell reading it then runs; TIOCLINUX reaches
 * the virtual console (selection, key pushes).
 */
#ifdef __NR_ioctl
SECCOMP_DENY_IF_EQUAL(ioctl, 1, TIOCSTI, EPERM)
SECCOMP_DENY_IF_EQUAL(ioctl, 1, TIOCLINUX, EPERM)
#endif
/*
 * vsock is not confined by the network namespace: it reaches the hypervisor and the host's
 * agents (Docker refuses it too).
 */
#ifdef __NR_socket
SECCOMP_DENY_IF_EQUAL(socket, 0, AF_VSOCK, EPERM)
#endif

#undef SECCOMP_DENY_ABOVE
#undef SECCOMP_DENY
#undef SECCOMP_DENY_IF_FLAG
#undef SECCOMP_DENY_IF_EQUAL
#undef SECCOMP_ALLOW_IF_EQUAL
