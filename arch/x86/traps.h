#ifndef MINIHV_TRAPS_H
#define MINIHV_TRAPS_H

#include "arch/x86/compiler.h"

/* Layout pushed by isr_common (arch/x86/isr.asm), lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap_frame must match isr.asm");

void trap_handler(struct trap_frame *f);
void trap_dump(const struct trap_frame *f);
const char *exception_name(unsigned vector);

/* Set by the test harness: called for an exception no probe expected. */
extern void (*trap_unexpected_hook)(struct trap_frame *f);

struct kjmp_buf {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
int ksetjmp(struct kjmp_buf *b);
__noreturn void klongjmp(struct kjmp_buf *b, int v);

#endif
