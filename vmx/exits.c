/*
 * Exit dispatch. A guest that does something minihv does not emulate is
 * stopped with a message that names what and where; the host carries on.
 */
#include "vmx/exception.h"
#include "vmx/vcpu.h"
#include "vmx/exits.h"
#include "vmx/vmcs.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

uint64_t vmx_guest_rip(struct vcpu *v)
{
	(void)v;
	return vmcs_readl(GUEST_RIP);
}

void vmx_skip_instruction(struct vcpu *v)
{
	vmcs_skip_instruction();
	/*
	 * The instruction ran, so an STI or MOV SS shadow before it is over
	 * (SDM 3A, 6.8.3): "sti; hlt" must take the interrupt that woke the
	 * HLT. Only a PC guest gets interrupts (a flat guest's shadow never
	 * matters, and the CPUID fast path stays as it is).
	 */
	if (v->pc)
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
								   ~(GUEST_INTR_STATE_STI |
								     GUEST_INTR_STATE_MOV_SS));
}

/* The guest MSRs the VMCS holds (virt/msr.c asks for no others). */
uint64_t vmx_get_msr(struct vcpu *v, uint32_t msr)
{
	if (msr == MSR_EFER && v->hw.msr_pa) /* the list slot the exit saved it to */
		return ((const uint64_t *)phys_to_virt(v->hw.msr_pa))[1];
	if (msr == MSR_EFER)
		return vmcs_read64(GUEST_IA32_EFER);
	if (msr == MSR_FS_BASE)
		return vmcs_readl(GUEST_FS_BASE);
	if (msr == MSR_GS_BASE)
		return vmcs_readl(GUEST_GS_BASE);
	/* A PC guest's others (virt/pc_msr.c): the VMCS's SYSENTER fields, or kept here. */
	if (msr == MSR_IA32_SYSENTER_CS)
		return vmcs_read32(GUEST_SYSENTER_CS);
	if (msr == MSR_IA32_SYSENTER_ESP)
		return vmcs_readl(GUEST_SYSENTER_ESP);
	if (msr == MSR_IA32_SYSENTER_EIP)
		return vmcs_readl(GUEST_SYSENTER_EIP);
	if (msr == MSR_IA32_PAT)
		return v->pcm.pat;
	return v->pcm.syscall[vmx_syscall_msr(msr)];
}

void vmx_write_efer(const struct vcpu *v, uint64_t val)
{
	if (v->hw.msr_pa) /* else the entry's MSR list holds it */
		((uint64_t *)phys_to_virt(v->hw.msr_pa))[1] = val;
	else
		vmcs_write64(GUEST_IA32_EFER, val);
}

void vmx_set_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	/*
	 * EFER.LMA is the CPU's, not the writer's: it follows CR0.PG with LME
	 * (vmx/modes.c), as does the "IA-32e mode guest" entry control, which
	 * VM entry requires to equal it (SDM 3C 26.3.1.1). Keep the one in force.
	 */
	if (msr == MSR_EFER)
		vmx_write_efer(v, (val & ~EFER_LMA) | (vmx_get_msr(v, MSR_EFER) & EFER_LMA));
	else if (msr == MSR_FS_BASE)
		vmcs_writel(GUEST_FS_BASE, val);
	else if (msr == MSR_GS_BASE)
		vmcs_writel(GUEST_GS_BASE, val);
	else if (msr == MSR_IA32_SYSENTER_CS)
		vmcs_write32(GUEST_SYSENTER_CS, (uint32_t)val);
	else if (msr == MSR_IA32_SYSENTER_ESP)
		vmcs_writel(GUEST_SYSENTER_ESP, val);
	else if (msr == MSR_IA32_SYSENTER_EIP)
		vmcs_writel(GUEST_SYSENTER_EIP, val);
	else if (msr == MSR_IA32_PAT)
		v->pcm.pat = val;
	else if (vmx_syscall_msr(msr) >= 0) {
		v->pcm.syscall[vmx_syscall_msr(msr)] = val;
		wrmsr(msr, val); /* the guest's, in the CPU while it runs (vmx/pc.c) */
	}
}


/* SDM 3C 28.2.1, table 28-5: the I/O-instruction qualification. */
static void handle_io(struct vcpu *v, uint64_t qual)
{
	vcpu_handle_io(v, IO_QUAL_PORT(qual), IO_QUAL_SIZE(qual), qual & IO_QUAL_IN,
		       qual & IO_QUAL_STRING);
}

enum vcpu_exit_kind vmx_exit_kind(unsigned reason)
{
	switch (reason) {
	case EXIT_REASON_CPUID: return VEXIT_CPUID;
	case EXIT_REASON_HLT: return VEXIT_HLT;
	case EXIT_REASON_VMCALL: return VEXIT_HYPERCALL;
	case EXIT_REASON_IO_INSTRUCTION: return VEXIT_IO;
	case EXIT_REASON_MSR_READ: case EXIT_REASON_MSR_WRITE: return VEXIT_MSR;
	case EXIT_REASON_INTERRUPT_WINDOW: case EXIT_REASON_NMI_WINDOW: return VEXIT_OTHER;
	case EXIT_REASON_EXCEPTION_NMI: return VEXIT_EXCEPTION;
	case EXIT_REASON_EPT_VIOLATION: return VEXIT_TDP_FAULT;
	case EXIT_REASON_EPT_MISCONFIG: return VEXIT_TDP_MISCONFIG;
	case EXIT_REASON_MONITOR: return VEXIT_MONITOR;
	case EXIT_REASON_MWAIT: return VEXIT_MWAIT;
	case EXIT_REASON_PREEMPTION_TIMER: return VEXIT_TIMER;
	case EXIT_REASON_EXTERNAL_INTERRUPT: return VEXIT_INTR;
	case EXIT_REASON_TRIPLE_FAULT: return VEXIT_SHUTDOWN;
	case EXIT_REASON_CR_ACCESS: return VEXIT_CR_ACCESS;
	case EXIT_REASON_INVLPG: return VEXIT_INVLPG;
	default: return VEXIT_OTHER;
	}
}

/*
 * One switch over the basic exit reason, longer than 60 lines on purpose:
 * every exit minihv handles is one case here, read as one table.
 */
bool vcpu_handle_exit(struct vcpu *v, unsigned reason)
{
	uint64_t qual = v->last_exit_qual;

	switch (reason) {
	case EXIT_REASON_CPUID:
		vcpu_handle_cpuid(v);
		break;
	case EXIT_REASON_HLT:
		vcpu_handle_hlt(v);
		break;
	case EXIT_REASON_VMCALL:
		vcpu_handle_hypercall(v);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		handle_io(v, qual);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		vmx_handle_ept_violation(v, qual);
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		vcpu_handle_tdp_misconfig(v, vmcs_read64(GUEST_PHYSICAL_ADDRESS));
		break;
	case EXIT_REASON_TRIPLE_FAULT:
		vcpu_triple_fault(v);
		break;
	case EXIT_REASON_CR_ACCESS: /* shadow paging only */
		vmx_handle_cr_access(v, qual);
		break;
	case EXIT_REASON_INVLPG: /* shadow paging only */
		vcpu_shadow_invlpg(v, qual);
		vmx_skip_instruction(v);
		break;
	case EXIT_REASON_EXCEPTION_NMI:
		vcpu_handle_exception(v);
		break;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		vcpu_requeue_event(v);
		break;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		vcpu_handle_msr(v, reason == EXIT_REASON_MSR_WRITE);
		break;
	case EXIT_REASON_MONITOR:
	case EXIT_REASON_MWAIT:
		/* MWAIT may return at any time (SDM): a no-op keeps the CPU ours. */
		vmx_skip_instruction(v);
		break;
	case EXIT_REASON_INVD:
		if (v->pc) { /* a PC guest's INVD writes back instead, as KVM's */
			vmx_skip_instruction(v);
			break;
		}
		vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %u (INVD), RIP %#llx", reason,
			  (unsigned long long)vmx_guest_rip(v));
		break;
	case EXIT_REASON_INTERRUPT_WINDOW: /* a PC guest's (vmx/pc.c) */
	case EXIT_REASON_NMI_WINDOW:
		vmx_handle_intr_window(v);
		break;
	case EXIT_REASON_XSETBV:
		if (v->pc) { /* a PC guest's XCR0 is its own (virt/pc.c) */
			pc_xsetbv(v);
			break;
		}
		vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %u (XSETBV), RIP %#llx", reason,
			  (unsigned long long)vmx_guest_rip(v));
		break;
	case EXIT_REASON_PREEMPTION_TIMER:
		vcpu_requeue_event(v);
		if (!--v->timer_slices_left)
			vcpu_stop(v, STOP_WATCHDOG,
				  "runaway guest: preemption-timer budget used up at RIP %#llx",
				  (unsigned long long)vmx_guest_rip(v));
		break;
	default:
		vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %u (%s), qualification %#llx, RIP %#llx",
			  reason, exit_reason_name(reason), (unsigned long long)qual,
			  (unsigned long long)vmx_guest_rip(v));
		break;
	}
	return v->stop == STOP_NONE;
}
