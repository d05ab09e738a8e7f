/*
 * Guest exceptions: intercepted, recorded and handed back to the guest as the
 * CPU would have delivered them (vmx/exception.c). The record is what a
 * triple-fault message names.
 */
#ifndef MINIHV_EXCEPTION_H
#define MINIHV_EXCEPTION_H

#include "arch/x86/arch.h"

struct vcpu;

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
/* An emulated instruction's exception (a PC guest's #GP from an MSR): recorded, then injected. */
struct exc_event;
void vmx_raise(struct vcpu *v, struct exc_event *e);

#endif
