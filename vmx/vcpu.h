/*
 * The VMX backend of struct vcpu (virt/vcpu.h): its VMCS, the run loop and
 * the exit decoding. vmx_backend is what the guest loader hands to
 * vcpu_create() when this CPU has VMX with EPT.
 */
#ifndef MINIHV_VMX_VCPU_H
#define MINIHV_VMX_VCPU_H

#include "vmx/vmcs_defs.h"
#include "vmx/exception.h"
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "arch/x86/arch.h"

extern const struct vcpu_backend vmx_backend;

/* vmx/exits.c: handle one exit (basic reason); false stops the vCPU. */
bool vcpu_handle_exit(struct vcpu *v, unsigned reason);
/* The kind of a basic exit reason, for struct vcpu_stats. */
enum vcpu_exit_kind vmx_exit_kind(unsigned reason);

/* vmx/run.asm: enter the guest; 0 after a VM exit, 1 if the entry instruction failed. */
int vmx_run(struct vcpu_regs *regs, int launched);
void vmx_exit_entry(void);

#endif
