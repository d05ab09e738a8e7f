/* Private to vmx/: filling a new VMCS (vmx/vmcs_setup.c); the VMCS is current. */
#ifndef MINIHV_VMCS_SETUP_H
#define MINIHV_VMCS_SETUP_H

#include "vmx/vcpu.h"
#include "vmx/exits.h"

/* Execution, exit and entry controls; 0 or -EOPNOTSUPP naming what is missing. */
int vmcs_setup_controls(struct vcpu *v, char *err, size_t errlen);
/* Where a VM exit lands: this CPU's control registers, segments, stack and EFER. */
void vmcs_setup_host_state(const struct vcpu *v);
/* The guest's entry state (guest/ABI.md). */
/* @cr0 / @cr4 with the bits VMX operation fixes (IA32_VMX_CR0/CR4_FIXED0/1): what GUEST_CRn takes. */
uint64_t vmx_guest_cr0(uint64_t cr0);
uint64_t vmx_guest_cr4(uint64_t cr4);
/* Unrestricted guest: PE and PG may be clear (SDM 3D A.7). */
uint64_t vmx_guest_cr0_unrestricted(uint64_t cr0);
/* The CR0 bits minihv owns for a vCPU entered outside long mode: PG, and NE that VMX fixes. */
uint64_t vmx_mode_cr0_mask(void);
/* Can @v run from entry mode @mode? 0, or -EOPNOTSUPP / -EINVAL with the reason. */
int vmx_entry_mode_ok(const struct vcpu *v, enum vcpu_entry_mode mode, char *err, size_t errlen);
/*
 * Load @e's entry state: its mode's controls (unrestricted guest, IA-32e
 * mode guest, CR0 ownership), registers and segments. 0, or -errno with the
 * reason when this CPU or this VM cannot run the mode.
 */
int vmcs_setup_guest_state(const struct vcpu *v, const struct vcpu_entry *e, char *err,
			   size_t errlen);

#endif
