/*
 * Per-CPU data, reached through the GS base (as Linux's this_cpu): %gs:0
 * points at the CPU's own struct cpu_local, so one instruction finds it.
 * CPU numbers are dense, in bring-up order; 0 is the boot CPU.
 */
#ifndef MINIHV_PERCPU_H
#define MINIHV_PERCPU_H

#include "arch/x86/compiler.h"

#define NR_CPUS 16

/* A function another CPU asked this one to run (arch/x86/smp.c: the states and the protocol). */
struct call_slot {
	int state;
	void (*fn)(void *arg);
	void *arg;
};

struct cpu_local {
	struct cpu_local *self;  /* %gs:0 */
	unsigned id;             /* %gs:8: cpu_id() */
	uint32_t apic_id;
	uint64_t timer_ticks;    /* %gs:16: local APIC timer interrupts (lapic_isr.S) */
	bool online;
	uint64_t tlb_flushes;    /* host TLB flushes this CPU did for a shootdown (no lock) */
	/*
	 * Here, so that every VM entry checks it with one %gs-relative load
	 * (smp_poll_calls()); on a cache line of its own, as other CPUs write it.
	 */
	struct call_slot call __aligned(64);
};

#define CPU_LOCAL_TIMER_TICKS 16 /* for arch/x86/lapic_isr.S */
_Static_assert(offsetof(struct cpu_local, timer_ticks) == CPU_LOCAL_TIMER_TICKS,
	       "lapic_isr.S counts at %gs:16");

extern struct cpu_local cpu_locals[NR_CPUS];
extern unsigned nr_cpus_online;

/* Point this CPU's GS base at cpu_locals[@id]: first thing on every CPU. */
void percpu_init(unsigned id, uint32_t apic_id);

static inline struct cpu_local *this_cpu_local(void)
{
	struct cpu_local *c;

	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/* This CPU's call slot's state, for smp_poll_calls(): one load, relaxed. */
static inline int this_cpu_call_state(void)
{
	int state;

	__asm__ __volatile__("movl %%gs:%c1, %0"
			     : "=r"(state)
			     : "i"(offsetof(struct cpu_local, call.state)));
	return state;
}

/* cpu_id() inline, for the exit fast path: one load. */
static inline unsigned long this_cpu_id(void)
{
	unsigned long id; /* a 32-bit load zero-extends: no extension left to the compiler */

	__asm__ __volatile__("movl %%gs:%c1, %k0" : "=r"(id) : "i"(offsetof(struct cpu_local, id)));
	return id;
}

#endif
