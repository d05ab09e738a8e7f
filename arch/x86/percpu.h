/*
 * Per-CPU data, reached through the GS base (as Linux's this_cpu): %gs:0
 * points at the CPU's own struct cpu_local, so one instruction finds it.
 * CPU numbers are dense, in bring-up order; 0 is the boot CPU.
 */
#ifndef MINIHV_PERCPU_H
#define MINIHV_PERCPU_H

#include "arch/x86/compiler.h"

#define NR_CPUS 16

struct cpu_local {
	struct cpu_local *self;  /* %gs:0 */
	unsigned id;             /* %gs:8: cpu_id() */
	uint32_t apic_id;
	uint64_t timer_ticks;    /* %gs:16: local APIC timer interrupts (lapic_isr.S) */
	bool online;
	uint64_t tlb_flushes;    /* host TLB flushes this CPU did for a shootdown (no lock) */
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

#endif
