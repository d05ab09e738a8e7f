/*
 * Guest exceptions on SVM: the exception intercepts, and the VMCB's side of
 * recording and re-delivering them (why and how: virt/exception.c). The
 * CPU reports an event cut short by an exit in EXITINTINFO and never
 * re-delivers it by itself: minihv injects it again (APM vol. 2, 15.7.2).
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

/* The exceptions that push an error code (SDM 3A, table 6-1). */
#define EXC_WITH_ERROR                                                                   \
	((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) |    \
	 (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))

uint32_t svm_exc_intercepts(void)
{
	return ~VCPU_EXC_NOT_INTERCEPTED;
}

static struct exc_event event_from(uint64_t info)
{
	struct exc_event e = {
		.vector = (uint8_t)INTR_INFO_VECTOR(info),
		.type = (uint8_t)INTR_INFO_TYPE(info),
		.has_error = info & INTR_INFO_DELIVER_CODE,
		.error = (uint32_t)(info >> 32),
	};
	return e;
}

/* Deliver @e on the next VMRUN (@raised: see vmx/exception.c's inject()). */
static void inject(struct vcpu *v, const struct exc_event *e, bool raised)
{
	uint64_t info = e->vector | (uint32_t)e->type << 8 | INTR_INFO_VALID;

	if (e->has_error)
		info |= INTR_INFO_DELIVER_CODE | (uint64_t)e->error << 32;
	if (raised && e->vector == X86_EXC_PF && e->type == INTR_TYPE_HARD_EXCEPTION)
		vmcb_write64(v, VMCB_CR2, e->cr2); /* the CPU would have written it raising #PF */
	if (raised && vcpu_exc_sets_rf(e))
		vmcb_write64(v, VMCB_RFLAGS, vmcb_read64(v, VMCB_RFLAGS) | X86_RFLAGS_RF);
	vmcb_write64(v, VMCB_EVENTINJ, info);
	v->exc.injected_at = v->stats.exits_total;
}

static uint32_t idt_limit(struct vcpu *v)
{
	return vmcb_read32(v, VMCB_IDTR + VMCB_SEG_LIMIT);
}

void svm_handle_exception(struct vcpu *v, unsigned vector)
{
	uint64_t idt = vmcb_read64(v, VMCB_EXITINTINFO);
	struct exc_event e = {
		.vector = (uint8_t)vector, .type = INTR_TYPE_HARD_EXCEPTION,
		.has_error = EXC_WITH_ERROR & (1u << vector),
		.error = (uint32_t)v->last_exit_qual, /* EXITINFO1 (15.12) */
	};
	struct exc_event first = event_from(idt);

	if (vector == X86_EXC_PF)
		e.cr2 = vmcb_read64(v, VMCB_EXITINFO2);
	/* Shadow paging: most #PFs are minihv's to fix; the guest's own get its error code. */
	if (vector == X86_EXC_PF && v->vm->shadow && vcpu_shadow_page_fault(v, e.cr2, &e.error)) {
		svm_requeue_event(v); /* it may have interrupted the delivery of an event */
		return;
	}
	if (vcpu_exception_raised(v, &e, (idt & INTR_INFO_VALID) ? &first : NULL, idt_limit(v)))
		inject(v, &e, true);
}

void svm_raise(struct vcpu *v, struct exc_event *e)
{
	if (vcpu_exception_raised(v, e, NULL, idt_limit(v)))
		inject(v, e, true);
}

void svm_shutdown(struct vcpu *v)
{
	vcpu_shutdown(v, idt_limit(v));
}

void svm_requeue_event(struct vcpu *v)
{
	uint64_t idt = vmcb_read64(v, VMCB_EXITINTINFO);
	struct exc_event e = event_from(idt);

	/* INT n is executed again rather than injected: RIP still points at it. */
	if ((idt & INTR_INFO_VALID) && !vcpu_exc_is_soft(e.type))
		inject(v, &e, false);
}
