/*
 * SVM's part of a multiboot1 guest's PC (virt/pc.c): control registers and
 * CS as the guest has them, exceptions raised by emulated instructions,
 * the TSC offset, and interrupt injection through EVENTINJ with a virtual
 * interrupt request (V_IRQ) as the interrupt window (APM vol. 2, 15.20
 * "Event injection", 15.21.4 "Injecting virtual interrupts").
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

uint64_t svm_get_cr(struct vcpu *v, unsigned cr)
{
	if (v->vm->shadow) /* the VMCB holds the shadow root and WP: the guest's are kept apart */
		return cr == 0 ? v->sh.cr0 : cr == 3 ? v->sh.cr3 : v->sh.cr4;
	return vmcb_read64(v, cr == 0 ? VMCB_CR0 : cr == 3 ? VMCB_CR3 : VMCB_CR4);
}

uint64_t svm_get_rflags(struct vcpu *v)
{
	return vmcb_read64(v, VMCB_RFLAGS);
}

uint64_t svm_cs_base(struct vcpu *v, bool *long64)
{
	*long64 = (vmcb_read64(v, VMCB_EFER) & EFER_LMA) &&
		  (vmcb_read16(v, VMCB_CS + VMCB_SEG_ATTR) & SVM_ATTR_L);
	return vmcb_read64(v, VMCB_CS + VMCB_SEG_BASE);
}

void svm_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
	vmcb_write64(v, VMCB_TSC_OFFSET, offset);
}

/*
 * NMI blocking (SDM 3A, 6.7.1): from an NMI's delivery until the next
 * IRET completes. SVM does not track it for an injected NMI: minihv
 * intercepts IRET, which exits before it runs, and counts the NMI handler
 * done at the first exit that finds RIP elsewhere (KVM's way).
 */
static bool nmi_blocked(struct vcpu *v)
{
	if (!v->nmi_masked)
		return false;
	if (v->nmi_awaiting_iret && vmcb_read64(v, VMCB_RIP) != v->nmi_iret_rip) {
		v->nmi_masked = v->nmi_awaiting_iret = false;
		return false;
	}
	return true;
}

bool svm_irq_ready(struct vcpu *v, bool nmi)
{
	if ((vmcb_read32(v, VMCB_EVENTINJ) & SVM_EVT_VALID) ||
	    (vmcb_read64(v, VMCB_INT_SHADOW) & SVM_INT_SHADOW))
		return false;
	return nmi ? !nmi_blocked(v) : (vmcb_read64(v, VMCB_RFLAGS) & X86_RFLAGS_IF) != 0;
}

void svm_inject_irq(struct vcpu *v, int vector)
{
	uint32_t info = vector == -2 ? X86_EXC_NMI | SVM_EVT_TYPE_NMI
				     : (uint32_t)vector | SVM_EVT_TYPE_INTR;

	if (vector == -2) {
		v->nmi_masked = true;
		v->nmi_awaiting_iret = false;
		vmcb_write32(v, VMCB_INTERCEPT_MISC1,
			     vmcb_read32(v, VMCB_INTERCEPT_MISC1) | SVM_INTERCEPT_IRET);
	}
	vmcb_write64(v, VMCB_EVENTINJ, info | SVM_EVT_VALID);
}

/* The #DB right after the single-stepped IRET: NMIs are unblocked. */
void svm_nmi_step_done(struct vcpu *v)
{
	v->nmi_singlestep = false;
	v->nmi_masked = v->nmi_awaiting_iret = false;
	/* The TF the IRET popped is the guest's own only if it asked: it did not (KVM's rule). */
	vmcb_write64(v, VMCB_RFLAGS, vmcb_read64(v, VMCB_RFLAGS) & ~(X86_RFLAGS_TF | X86_RFLAGS_RF));
	vmcb_write32(v, VMCB_INTERCEPT_EXC, vmcb_read32(v, VMCB_INTERCEPT_EXC) & ~(1u << X86_EXC_DB));
}

/* IRET, intercepted while an NMI is blocked: it runs when the guest resumes. */
void svm_handle_iret(struct vcpu *v)
{
	v->nmi_awaiting_iret = true;
	v->nmi_iret_rip = vmcb_read64(v, VMCB_RIP);
	vmcb_write32(v, VMCB_INTERCEPT_MISC1,
		     vmcb_read32(v, VMCB_INTERCEPT_MISC1) & ~SVM_INTERCEPT_IRET);
}

/*
 * An exit once the guest can take an interrupt: a virtual interrupt
 * request (V_IRQ). SVM has no NMI window: a blocked NMI waits for the
 * IRET intercept, then for the IRET itself, single-stepped (TF set before
 * it runs traps right after it: #DB, intercepted until then), as KVM does.
 * An NMI delivered at the next exit after the IRET instead could land where
 * the interrupted code holds a lock its handler takes.
 */
void svm_irq_window(struct vcpu *v, bool nmi)
{
	if (nmi) {
		if (v->nmi_awaiting_iret && !v->nmi_singlestep) {
			v->nmi_singlestep = true;
			vmcb_write64(v, VMCB_RFLAGS, vmcb_read64(v, VMCB_RFLAGS) | X86_RFLAGS_TF |
							    X86_RFLAGS_RF);
			vmcb_write32(v, VMCB_INTERCEPT_EXC,
				     vmcb_read32(v, VMCB_INTERCEPT_EXC) | (1u << X86_EXC_DB));
		}
		return;
	}
	vmcb_write64(v, VMCB_VINTR, vmcb_read64(v, VMCB_VINTR) | SVM_V_IRQ | SVM_V_INTR_PRIO_MAX |
					    SVM_V_IGN_TPR);
	vmcb_write32(v, VMCB_INTERCEPT_MISC1,
		     vmcb_read32(v, VMCB_INTERCEPT_MISC1) | SVM_INTERCEPT_VINTR);
}

/* The VINTR exit: the guest can take an interrupt; pc_before_entry() injects it. */
void svm_handle_vintr(struct vcpu *v)
{
	vmcb_write64(v, VMCB_VINTR, vmcb_read64(v, VMCB_VINTR) &
					    ~(SVM_V_IRQ | SVM_V_INTR_PRIO_MAX | SVM_V_IGN_TPR));
	vmcb_write32(v, VMCB_INTERCEPT_MISC1,
		     vmcb_read32(v, VMCB_INTERCEPT_MISC1) & ~SVM_INTERCEPT_VINTR);
}
