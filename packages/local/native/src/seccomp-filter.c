/*
 * The sandbox's seccomp filter, a classic BPF program built from seccomp-table.h.
 *
 * Hand-built rather than with libseccomp, so the supervisor links statically and cross-compiles
 * with nothing but a C library. The program is one straight list of rules, checked in table
 * order: the kernel's seccomp cache (Linux 5.11+) remembers every syscall the program allows
 * without reading its arguments, so only the few argument-checked calls (clone, ioctl, socket,
 * personality) run it at all, and a decision tree would buy nothing.
 */
#include "seccomp-filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>

#include "seccomp-table.h"

#if defined(__x86_64__)
#define SANDPORT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDPORT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "the seccomp filter supports x86_64 and aarch64 only"
#endif

/* An argument's low 32 bits are its first word only on a little-endian machine. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the seccomp filter reads argument words in little-endian order"
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif

/*
 * The x32 ABI marks its syscall numbers with this bit; they reach the same kernel code under
 * numbers the table does not name, so a process using them is killed like a foreign one.
 */
#define X32_SYSCALL_BIT 0x40000000U

/* Room for every rule with spare: a plain rule takes 2 instructions, an argument rule 5. */
#define PROGRAM_CAPACITY 1024

struct program {
	struct sock_filter instructions[PROGRAM_CAPACITY];
	size_t length;
	bool overflowed;
};

#define NUMBER_OFFSET ((uint32_t)offsetof(struct seccomp_data, nr))
#define ARCH_OFFSET ((uint32_t)offsetof(struct seccomp_data, arch))

static uint32_t argument_low_word_offset(unsigned argument)
{
	return (uint32_t)(offsetof(struct seccomp_data, args) + argument * sizeof(uint64_t));
}

static void emit(struct program *program, struct sock_filter instruction)
{
	if (program->length == PROGRAM_CAPACITY) {
		program->overflowed = true;
		return;
	}
	program->instructions[program->length++] = instruction;
}

static void emit_load(struct program *program, uint32_t offset)
{
	emit(program, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset));
}

static void emit_return(struct program *program, uint32_t action)
{
	emit(program, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
}

/* Jumps over the next `skip` instructions unless the accumulator passes `comparison` with `value`. */
static void emit_skip_unless(struct program *program, uint16_t comparison, uint32_t value, uint8_t skip)
{
	emit(program, (struct sock_filter)BPF_JUMP(BPF_JMP | comparison | BPF_K, value, 0, skip));
}

/* Jumps over the next `skip` instructions when the accumulator passes `comparison` with `value`. */
static void emit_skip_if(struct program *program, uint16_t comparison, uint32_t value, uint8_t skip)
{
	emit(program, (struct sock_filter)BPF_JUMP(BPF_JMP | comparison | BPF_K, value, skip, 0));
}

static uint32_t errno_action(int error)
{
	return SECCOMP_RET_ERRNO | ((uint32_t)error & SECCOMP_RET_DATA);
}

/*
 * Kills a process calling in through another ABI (32-bit x86 or ARM, x32): its syscall numbers
 * mean other calls than the table's. A 64-bit process only gets there on purpose.
 */
static void emit_architecture_check(struct program *program)
{
	emit_load(program, ARCH_OFFSET);
	emit_skip_if(program, BPF_JEQ, SANDPORT_AUDIT_ARCH, 1);
	emit_return(program, SECCOMP_RET_KILL_PROCESS);
	emit_load(program, NUMBER_OFFSET);
#if defined(__x86_64__)
	emit_skip_unless(program, BPF_JGE, X32_SYSCALL_BIT, 1);
	emit_return(program, SECCOMP_RET_KILL_PROCESS);
#endif
}

/* The accumulator holds the syscall number before and after every rule. */
static void emit_deny_above(struct program *program, uint32_t newest, int error)
{
	emit_skip_unless(program, BPF_JGT, newest, 1);
	emit_return(program, errno_action(error));
}

static void emit_deny(struct program *program, uint32_t number, int error)
{
	emit_skip_unless(program, BPF_JEQ, number, 1);
	emit_return(program, errno_action(error));
}

static void emit_argument_rule(struct program *program, uint32_t number, unsigned argument, uint16_t comparison,
		uint32_t value, uint32_t action)
{
	emit_skip_unless(program, BPF_JEQ, number, 4);
	emit_load(program, argument_low_word_offset(argument));
	emit_skip_unless(program, comparison, value, 1);
	emit_return(program, action);
	emit_load(program, NUMBER_OFFSET);
}

static void emit_table(struct program *program)
{
#define SECCOMP_DENY_ABOVE(newest, error) emit_deny_above(program, (newest), (error));
#define SECCOMP_DENY(name, error) emit_deny(program, __NR_##name, (error));
#define SECCOMP_DENY_IF_FLAG(name, argument, flag, error) \
	emit_argument_rule(program, __NR_##name, (argument), BPF_JSET, (flag), errno_action(error));
#define SECCOMP_DENY_IF_EQUAL(name, argument, value, error) \
	emit_argument_rule(program, __NR_##name, (argument), BPF_JEQ, (value), errno_action(error));
#define SECCOMP_ALLOW_IF_EQUAL(name, argument, value) \
	emit_argument_rule(program, __NR_##name, (argument), BPF_JEQ, (value), SECCOMP_RET_ALLOW);
#include "seccomp-table.h"
}

int sandport_install_seccomp_filter(void)
{
	struct program program = { .length = 0, .overflowed = false };
	emit_architecture_check(&program);
	emit_table(&program);
	emit_return(&program, SECCOMP_RET_ALLOW);
	if (program.overflowed)
		return -E2BIG;

	struct sock_fprog filter = { .len = (unsigned short)program.length, .filter = program.instructions };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) != 0)
		return -errno;
	return 0;
}
