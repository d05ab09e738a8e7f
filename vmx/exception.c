/*
 * Guest exceptions on VMX: the exception bitmap, and the VMCS's side of
 * recording and re-delivering them (why and how: virt/exception.c).
 */
#include "vmx/exception.h"
#include "vmx/vcpu.h"
#include "vmx/vmcs.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

void vcpu_exc_setup(void)
{
	vmcs_write32(EXCEPTION_BITMAP, ~VCPU_EXC_NOT_INTERCEPTED);
	/* Mask = match = 0: every #PF follows bit 14 of the bitmap (SDM 3C 25.6.3). */
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
}

/* @info: the VM-exit interruption or (@vectoring) the IDT-vectoring information. */
static struct exc_event event_from(uint32_t info, bool vectoring)
{
	struct exc_event e = {
		.vector = (uint8_t)INTR_INFO_VECTOR(info),
		.type = (uint8_t)INTR_INFO_TYPE(info),
		.has_error = info & INTR_INFO_DELIVER_CODE,
	};

	if (e.has_error)
		e.error = vectoring ? vmcs_read32(IDT_VECTORING_ERROR_CODE)
				    : vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
	return e;
}

/*
 * Deliver @e on the next VM entry. @raised: the CPU raised it just now and
 * the exit stopped it before delivery, so the RF a fault pushes is still to
 * be set; a re-delivered event already had it.
 */
static void inject(struct vcpu *v, const struct exc_event *e, bool raised)
{
	uint32_t info = e->vector | (uint32_t)e->type << 8 | INTR_INFO_VALID;

	/* Real mode pushes no error code, and VM entry refuses one (SDM 3C 26.2.1.3). */
	if (e->has_error && (vmcs_readl(GUEST_CR0) & X86_CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, e->error);
	}
	/* INT n / INT3 / INT1: the pushed RIP is past the instruction, whose length the exit gave. */
	if (vcpu_exc_is_soft(e->type))
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
	if (raised && vcpu_exc_sets_rf(e))
		vmcs_writel(GUEST_RFLAGS, vmcs_readl(GUEST_RFLAGS) | X86_RFLAGS_RF);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
	v->exc.injected_at = v->stats.exits_total;
}

void vcpu_handle_exception(struct vcpu *v)
{
	uint32_t info = vmcs_read32(VM_EXIT_INTR_INFO);
	uint32_t idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);

	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
		vcpu_requeue_event(v); /* the host's NMI, with no work for it: resume */
		return;
	}
	struct exc_event e = event_from(info, false), first;
	/* Shadow paging: most #PFs are minihv's to fix; the guest's own get its error code. */
	if (e.vector == X86_EXC_PF && v->vm->shadow &&
	    vcpu_shadow_page_fault(v, v->last_exit_qual, &e.error)) {
		vcpu_requeue_event(v); /* it may have interrupted the delivery of an event */
		return;
	}
	if (e.vector == X86_EXC_PF) {
		/*
		 * An intercepted #PF leaves CR2 alone (SDM 3C 27.1); the CPU would
		 * have written it on raising the #PF. The host never takes a page
		 * fault while a guest runs, so CR2 holds this value on entry.
		 */
		e.cr2 = v->last_exit_qual;
		write_cr2(e.cr2);
	}
	if (idt & INTR_INFO_VALID)
		first = event_from(idt, true);
	if (vcpu_exception_raised(v, &e, (idt & INTR_INFO_VALID) ? &first : NULL,
				  vmcs_read32(GUEST_IDTR_LIMIT)))
		inject(v, &e, true);
}

void vmx_raise(struct vcpu *v, struct exc_event *e)
{
	if (vcpu_exception_raised(v, e, NULL, vmcs_read32(GUEST_IDTR_LIMIT)))
		inject(v, e, true);
}

void vcpu_triple_fault(struct vcpu *v)
{
	vcpu_shutdown(v, vmcs_read32(GUEST_IDTR_LIMIT));
}

void vcpu_requeue_event(struct vcpu *v)
{
	uint32_t idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);

	if (idt & INTR_INFO_VALID) {
		struct exc_event e = event_from(idt, true);

		inject(v, &e, false);
	}
}
