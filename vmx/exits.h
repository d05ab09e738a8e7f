/* Private to vmx/: what the exit handlers in several files share (vmx/exits.c). */
#ifndef MINIHV_EXITS_H
#define MINIHV_EXITS_H

#include "vmx/vcpu.h"
#include "vmx/exception.h"
#include "vmx/vmcs.h"

/* Resume after the exiting instruction (VM-exit instruction length). */
void vmx_skip_instruction(struct vcpu *v);
/* Shadow paging (vmx/shadow.c). */
void vmx_shadow_flush_local(struct vcpu *v);
void vmx_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw);
void vmx_set_rip(struct vcpu *v, uint64_t rip);
void vmx_handle_cr_access(struct vcpu *v, uint64_t qual);
uint64_t vmx_guest_rip(struct vcpu *v);
uint64_t vmx_get_msr(struct vcpu *v, uint32_t msr);
void vmx_set_msr(struct vcpu *v, uint32_t msr, uint64_t val);
/* The guest's IA32_EFER as it is, LMA included (vmx_set_msr() keeps LMA). */
void vmx_write_efer(const struct vcpu *v, uint64_t val);
/*
 * Outside shadow paging, a CR-access exit is a vCPU entered outside long
 * mode changing CR0.PG (or a bit VMX fixes), or a guest setting CR4.VMXE
 * (vmx/modes.c): load @cr with @val or stop the vCPU.
 */
void vmx_mode_write_cr(struct vcpu *v, unsigned cr, uint64_t val);
/* A multiboot1 guest's PC (vmx/pc.c, vmx/exception.c). */
uint64_t vmx_get_cr(struct vcpu *v, unsigned cr);
uint64_t vmx_get_rflags(struct vcpu *v);
uint64_t vmx_cs_base(struct vcpu *v, bool *long64);
void vmx_set_tsc_offset(struct vcpu *v, uint64_t offset);
bool vmx_irq_ready(struct vcpu *v, bool nmi);
void vmx_inject_irq(struct vcpu *v, int vector);
void vmx_irq_window(struct vcpu *v, bool nmi);
void vmx_handle_intr_window(struct vcpu *v);
int vmx_syscall_msr(uint32_t msr);
void vmx_load_syscall_msrs(struct vcpu *v);

/*
 * An EPT violation, from the run loop's fast path or the dispatch: inline
 * for the fast one. It may have interrupted the delivery of an event, which
 * goes back in first. The write bit: SDM 3C 28.2.1, table 28-7, bit 1.
 */
static inline void vmx_handle_ept_violation(struct vcpu *v, uint64_t qual)
{
	vcpu_requeue_event(v);
	vcpu_handle_tdp_fault(v, vmcs_read64(GUEST_PHYSICAL_ADDRESS), qual & EPT_QUAL_WRITE);
}

#endif
