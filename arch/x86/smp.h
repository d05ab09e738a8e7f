/*
 * Several CPUs: start an application processor (INIT-SIPI-SIPI through the
 * real-mode trampoline, arch/x86/trampoline.asm), send IPIs, and run a
 * function on other CPUs (Linux's smp_call_function_many). The xAPIC only:
 * APIC IDs above 254 need x2APIC, which minihv does not drive.
 */
#ifndef MINIHV_SMP_H
#define MINIHV_SMP_H

#include "arch/x86/compiler.h"
#include "arch/x86/percpu.h"

#define AP_TRAMPOLINE 0x8000  /* keep in sync with arch/x86/trampoline.asm */
#define IPI_CALL_VECTOR 0xf0
#define IPI_KICK_VECTOR 0xf1  /* only to leave guest mode: the handler just EOIs */
#define XAPIC_MAX_ID 0xfe     /* 0xff is the broadcast destination */

typedef void (*smp_call_fn)(void *arg);

/* The bit of each CPU that has come up (bit = cpu_id()). */
extern volatile uint64_t cpu_online_mask;

/* The boot CPU: its APIC ID into its per-CPU data, the IPI vector's gate. */
void smp_init_bsp(void);
/*
 * Start the CPU whose local APIC ID is @apic_id as CPU number @cpu, on the
 * stack ending at @stack_top. True once it runs ap_main(); false if it did
 * not answer (the caller names it and carries on).
 */
bool smp_start_ap(unsigned cpu, uint32_t apic_id, uint64_t stack_top);
/*
 * Run @fn(@arg) on every online CPU of @mask but this one, in its IPI
 * handler; with @wait, return only when all of them have finished. Safe
 * with interrupts off: while it waits it runs calls aimed at this CPU, so
 * two CPUs calling each other cannot deadlock.
 */
void smp_call_many(uint64_t mask, smp_call_fn fn, void *arg, bool wait);
/*
 * Run calls aimed at this CPU, if any: the IPI handler, wait loops, and
 * every VM entry (virt/vcpu_mode.h). In the kernel the check is inline, one
 * per-CPU load and a compare on the exit fast path (issue 22); the host
 * tests' shim (tests/host/shim.c) has its own, which counts every poll.
 */
#ifdef MINIHV_HOST
void smp_poll_calls(void);
#else
/*
 * A CPU's call slot (struct cpu_local's call): CALL_FREE, then CALL_CLAIMED
 * by a sender while it fills fn/arg, CALL_PENDING once sent, CALL_RUNNING
 * while the target runs it (claimed by whoever gets there first: the IPI
 * handler or a wait loop on that CPU), CALL_FREE again when done.
 */
enum { CALL_FREE, CALL_CLAIMED, CALL_PENDING, CALL_RUNNING };

/* The slow part of smp_poll_calls(): claim the pending call and run it. */
void smp_run_call(void);

static inline void smp_poll_calls(void)
{
	/* Relaxed: a call sent just after this load is run at the next poll or by its IPI. */
	if (unlikely(this_cpu_call_state() == CALL_PENDING))
		smp_run_call();
}
#endif
/*
 * Long work (a vCPU's whole run) for an idle CPU, run from its idle loop
 * with interrupts off, not in an IPI handler. -1 if @cpu is offline or
 * busy with earlier work; smp_work_wait() waits for it to finish.
 */
int smp_run_on(unsigned cpu, smp_call_fn fn, void *arg);
void smp_work_wait(unsigned cpu);
/* Make @cpu leave guest mode (an IPI it takes as a VM exit); no wait. */
void smp_kick(unsigned cpu);
/* Up to @max online CPUs other than this one, lowest first, into @cpus; how many. */
unsigned smp_other_cpus(unsigned *cpus, unsigned max);
/* IPIs CPU @cpu sent (per-CPU counters; the bench sums them). */
uint64_t smp_ipis_sent(unsigned cpu);
/* Kicks sent to CPU @cpu, by anyone. */
uint64_t smp_kicks_to(unsigned cpu);

#endif
