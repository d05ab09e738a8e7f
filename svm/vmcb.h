/* Private to svm/: reading and writing a vCPU's VMCB by byte offset (svm/svm_defs.h). */
#ifndef MINIHV_SVM_VMCB_H
#define MINIHV_SVM_VMCB_H

#include "svm/svm_defs.h"
#include "virt/vcpu.h"
#include "mm/mm.h"

static inline uint8_t *vmcb(const struct vcpu *v)
{
	return v->hw.va;
}

#define VMCB_ACCESSORS(bits)                                                         \
	static inline uint##bits##_t vmcb_read##bits(const struct vcpu *v, unsigned off) \
	{                                                                            \
		return *(volatile uint##bits##_t *)(vmcb(v) + off);                   \
	}                                                                            \
	static inline void vmcb_write##bits(struct vcpu *v, unsigned off, uint##bits##_t x) \
	{                                                                            \
		*(volatile uint##bits##_t *)(vmcb(v) + off) = x;                      \
	}
VMCB_ACCESSORS(8)
VMCB_ACCESSORS(16)
VMCB_ACCESSORS(32)
VMCB_ACCESSORS(64)
#undef VMCB_ACCESSORS

/* One segment of the state save area: selector, attributes, limit, base. */
static inline void vmcb_write_seg(struct vcpu *v, unsigned off, uint16_t sel, uint16_t attr,
				  uint32_t limit, uint64_t base)
{
	vmcb_write16(v, off, sel);
	vmcb_write16(v, off + VMCB_SEG_ATTR, attr);
	vmcb_write32(v, off + VMCB_SEG_LIMIT, limit);
	vmcb_write64(v, off + VMCB_SEG_BASE, base);
}

/* svm/vmcb.c: controls, intercepts and the guest's entry state. */
void vmcb_setup(struct vcpu *v, const struct vcpu_entry *e);
/* The guest-state half of vmcb_setup() again: INIT then SIPI (the backend's reset op). */
void vmcb_reset_guest(struct vcpu *v, const struct vcpu_entry *e);

/* svm/run.asm: VMRUN with the guest's registers; returns after the #VMEXIT. */
void svm_run(struct vcpu_regs *regs, uint64_t vmcb_pa, uint64_t host_save_pa);

/* svm/exits.c: handle the exit in the VMCB; false stops the vCPU. */
bool svm_handle_exit(struct vcpu *v, uint64_t code, enum vcpu_exit_kind kind);
/* #UD counts as a hypercall when it is a VMCALL (svm/exits.c). */
enum vcpu_exit_kind svm_exit_kind(struct vcpu *v, uint64_t code);
void svm_skip_instruction(struct vcpu *v);
/* svm/exception.c */
uint32_t svm_exc_intercepts(void);
void svm_handle_exception(struct vcpu *v, unsigned vector);
void svm_shutdown(struct vcpu *v);
/* Re-deliver the event an exit cut short (EXITINTINFO). */
void svm_requeue_event(struct vcpu *v);
/*
 * A nested page fault (no reserved bit), from the run loop's fast path or
 * the dispatch: inline for the fast one. It may have interrupted the
 * delivery of an event, which goes back in first.
 */
static inline void svm_handle_npf(struct vcpu *v, uint64_t info1)
{
	svm_requeue_event(v);
	vcpu_handle_tdp_fault(v, vmcb_read64(v, VMCB_EXITINFO2), info1 & SVM_NPF_WRITE);
}
uint64_t svm_guest_rip(struct vcpu *v);
uint64_t svm_get_msr(struct vcpu *v, uint32_t msr);
void svm_set_msr(struct vcpu *v, uint32_t msr, uint64_t val);
/* An emulated instruction's exception (svm/exception.c), and a PC guest's ops (svm/pc.c). */
void svm_raise(struct vcpu *v, struct exc_event *e);
uint64_t svm_get_cr(struct vcpu *v, unsigned cr);
uint64_t svm_get_rflags(struct vcpu *v);
uint64_t svm_cs_base(struct vcpu *v, bool *long64);
void svm_set_tsc_offset(struct vcpu *v, uint64_t offset);
bool svm_irq_ready(struct vcpu *v, bool nmi);
void svm_inject_irq(struct vcpu *v, int vector);
void svm_irq_window(struct vcpu *v, bool nmi);
void svm_handle_vintr(struct vcpu *v);
void svm_handle_iret(struct vcpu *v);
void svm_nmi_step_done(struct vcpu *v);

#endif
