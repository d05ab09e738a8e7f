/*
 * The local-APIC watchdog of the backends whose timer runs whether or not
 * the guest exits (SVM; VMX without the preemption timer), held to the
 * rule of the VMX-preemption timer, which every VM entry re-arms: a slice
 * is used only by a timer period in which the guest made no exit of its
 * own (guest/ABI.md, "Watchdog"). Counting every tick instead stopped a
 * guest that exits all the time (a CPUID loop) after so many seconds of
 * work, as if it ran away (issue 21).
 */
#include "virt/vcpu.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* Exits the guest caused: all but host interrupts, the watchdog's included. */
static uint64_t guest_exits(const struct vcpu *v)
{
	return v->stats.exits_total - v->stats.exits[VEXIT_INTR] - v->stats.exits[VEXIT_TIMER];
}

void vcpu_watchdog_start(struct vcpu *v, struct vcpu_watchdog *w)
{
	w->ticks = lapic_timer_ticks;
	w->guest_exits = guest_exits(v);
}

enum vcpu_exit_kind vcpu_watchdog_kind(struct vcpu_watchdog *w, enum vcpu_exit_kind k)
{
	if (k != VEXIT_INTR || lapic_timer_ticks == w->ticks)
		return k;
	w->ticks = lapic_timer_ticks;
	return VEXIT_TIMER; /* a timer period ended */
}

void vcpu_watchdog_tick(struct vcpu *v, struct vcpu_watchdog *w)
{
	uint64_t n = guest_exits(v);

	if (n != w->guest_exits) { /* the guest exited in the period: it is making progress */
		w->guest_exits = n;
		return;
	}
	if (!--v->timer_slices_left)
		vcpu_stop(v, STOP_WATCHDOG, "runaway guest: timer budget used up at RIP %#llx",
			  (unsigned long long)v->be->rip(v));
}
