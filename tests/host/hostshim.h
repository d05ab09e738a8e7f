/* Shared by the host unit tests: arena "physical memory" and TAP output. */
#ifndef MINIHV_HOSTSHIM_H
#define MINIHV_HOSTSHIM_H

#include <stdbool.h>
#include <stdint.h>

extern uint8_t *arena;
extern uint64_t arena_size;
void arena_init(uint64_t size);

void tap_begin(const char *name);
void tap_end(void);
int tap_check(int ok, const char *file, int line, const char *expr);
int tap_finish(void);

/* CLOCK_MONOTONIC in ns, for the host benchmarks. */
double host_now_ns(void);

/* The calling thread's cpu_id() (arch/x86/hal.h); each thread starts as CPU 0. */
void host_cpu_set_id(unsigned id);
bool host_irqs_disabled(void);
/* What smp_kick(cpu) does in the host build (virt/remote.c); NULL: nothing. */
extern void (*host_kick)(unsigned cpu);
/*
 * A TLB shootdown as the kernel's IPI one (mm->flush_tlb): returns once
 * every other CPU that had interrupts off when it began has turned them
 * back on or served its call-function requests (smp_poll_calls(), as the
 * kernel's polls do). Counted in host_shootdowns.
 */
void host_shootdown(void);
extern unsigned long host_shootdowns;

#define T(cond) tap_check(!!(cond), __FILE__, __LINE__, #cond)
#define RUN(fn)             \
	do {                \
		tap_begin(#fn); \
		fn();       \
		tap_end();  \
	} while (0)

#endif
