/*
 * Guest exceptions: intercepted, recorded and handed back to the guest as the
 * CPU would have delivered them (vmx/exception.c). The record is what a
 * triple-fault message names.
 */
#ifndef MINIHV_EXCEPTION_H
#define MINIHV_EXCEPTION_H

#include "arch/x86/arch.h"

struct vcpu;

/* One event of a delivery attempt: an exception, or the INT n whose delivery faulted. */
struct exc_event {
	uint8_t vector;
	uint8_t type;     /* INTR_TYPE_* (vmx/vmcs_defs.h) */
	bool has_error;
	uint32_t error;
	uint64_t cr2;     /* #PF: the faulting linear address */
};

/*
 * The events of the current delivery attempt, oldest first: ev[0] was raised
 * at @rip, each later one while delivering the one before it (the last may
 * be the #DF the CPU makes of two). Started afresh by every exception that
 * is not raised during the delivery of the previous one.
 */
#define EXC_CHAIN_MAX 6
struct exc_chain {
	uint64_t rip;
	uint64_t injected_at; /* v->stats.exits_total when ev[n - 1] was injected */
	unsigned n;
	struct exc_event ev[EXC_CHAIN_MAX];
};

/* The exception bitmap and #PF filters, written once when the VMCS is set up. */
void vcpu_exc_setup(void);
/* EXIT_REASON_EXCEPTION_NMI: record the exception, then re-inject it (or #DF, or stop). */
void vcpu_handle_exception(struct vcpu *v);
/* EXIT_REASON_TRIPLE_FAULT: stop the guest, naming the recorded exceptions. */
void vcpu_triple_fault(struct vcpu *v);
/*
 * For the exits that can interrupt an event's delivery (EPT violation,
 * preemption timer, external interrupt, NMI): deliver that event again on
 * the next entry, as the CPU would have if no exit had come in between.
 */
void vcpu_requeue_event(struct vcpu *v);

#endif
