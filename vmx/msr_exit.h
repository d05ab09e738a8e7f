/* RDMSR/WRMSR exits (vmx/msr_exit.c): the guest's MSR policy, guest/ABI.md "MSRs". */
#ifndef MINIHV_MSR_EXIT_H
#define MINIHV_MSR_EXIT_H

#include "arch/x86/arch.h"

struct vcpu;

/* Emulate the guest's RDMSR (@write false) or WRMSR, or stop it naming the MSR. */
void vcpu_handle_msr(struct vcpu *v, bool write);
/* "IA32_EFER", ...; NULL for an MSR minihv has no name for. */
const char *msr_name(uint32_t msr);

#endif
