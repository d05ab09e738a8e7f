/*
 * Exit dispatch. A guest that does something minihv does not emulate is
 * stopped with a message that names what and where; the host carries on.
 */
#include "vmx/console.h"
#include "vmx/exception.h"
#include "vmx/msr_exit.h"
#include "vmx/vcpu.h"
#include "vmx/exits.h"
#include "vmx/vmcs.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

static uint64_t guest_rip(void)
{
	return vmcs_readl(GUEST_RIP);
}

void vcpu_skip_instruction(void)
{
	vmcs_writel(GUEST_RIP, guest_rip() + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/*
 * The signature leaves, apart from handle_cpuid(): the memcpy() would keep
 * its values in memory on every CPUID exit.
 */
static void hv_cpuid(struct vcpu *v, uint32_t leaf)
{
	uint32_t sig[3] = { 0, 0, 0 };

	if (leaf == HV_CPUID_LEAF)
		memcpy(sig, HV_SIGNATURE, sizeof(sig));
	v->regs.rax = leaf == HV_CPUID_LEAF ? HV_CPUID_LEAF : 0;
	v->regs.rbx = sig[0];
	v->regs.rcx = sig[1];
	v->regs.rdx = sig[2];
}

static void handle_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx;

	if ((leaf & 0xffffff00u) == HV_CPUID_LEAF) {
		hv_cpuid(v, leaf);
	} else {
		/*
		 * Straight into the 64-bit registers: CPUID clears bits 63:32 of
		 * RAX..RDX (SDM vol. 2A, CPUID), so cpuid_count()'s 32-bit results
		 * would only add four zero-extensions to every CPUID exit.
		 */
		__asm__ __volatile__("cpuid"
				     : "=a"(v->regs.rax), "=b"(v->regs.rbx), "=c"(v->regs.rcx),
				       "=d"(v->regs.rdx)
				     : "a"(leaf), "c"(sub));
		if (leaf == 1) {
			/* No nested VMX, no MONITOR/MWAIT (they only exit); a hypervisor is here. */
			v->regs.rcx &= ~(uint64_t)(CPUID_1_ECX_VMX | CPUID_1_ECX_MONITOR);
			v->regs.rcx |= CPUID_1_ECX_HYPERVISOR;
		}
	}
	vcpu_skip_instruction();
}

static bool handle_io(struct vcpu *v, uint64_t qual)
{
	unsigned port = IO_QUAL_PORT(qual), size = IO_QUAL_SIZE(qual);
	bool in = qual & IO_QUAL_IN;

	v->stats.io_exits++;
	if ((qual & IO_QUAL_STRING) || port < COM1_BASE || port + size > COM1_BASE + COM1_PORTS) {
		vcpu_stop(v, STOP_UNHANDLED, "unhandled %s%s of %u byte(s) at port %#x, RIP %#llx",
			  (qual & IO_QUAL_STRING) ? "string " : "", in ? "IN" : "OUT", size, port,
			  (unsigned long long)guest_rip());
		return false;
	}
	/* A 16- or 32-bit access reaches consecutive byte registers, as on the ISA bus. */
	if (in) {
		uint64_t val = 0, mask = (1ULL << (size * 8)) - 1;

		for (unsigned i = 0; i < size; i++)
			val |= (uint64_t)uart_read(v, port - COM1_BASE + i) << (8 * i);
		/* IN to AL/AX keeps the rest of RAX; IN to EAX zero-extends, as on hardware. */
		v->regs.rax = size == 4 ? val : (v->regs.rax & ~mask) | val;
	} else {
		for (unsigned i = 0; i < size; i++)
			uart_write(v, port - COM1_BASE + i, (uint8_t)(v->regs.rax >> (8 * i)));
	}
	vcpu_skip_instruction();
	return true;
}

static void handle_ept_violation(struct vcpu *v, uint64_t qual)
{
	uint64_t gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
	char why[160];
	/* SDM 3C 28.2.1, table 28-7: bit 1 of the qualification, a write. */
	unsigned access = (qual & EPT_QUAL_WRITE) ? PT_PROT_W : PT_PROT_R;
	int r = mmu_fault(v->vm, gpa, access, why, sizeof(why));

	if (r == -EFAULT)
		vcpu_stop(v, STOP_BAD_GPA, "%s (RIP %#llx)", why, (unsigned long long)guest_rip());
	else if (r == -EACCES)
		vcpu_stop(v, STOP_READONLY, "%s (RIP %#llx)", why, (unsigned long long)guest_rip());
	else if (r == -EPERM) /* RIP unchanged: the write is retried on resume */
		vcpu_stop(v, STOP_MEMORY_FAULT, "%s (RIP %#llx)", why,
			  (unsigned long long)guest_rip());
	else if (r)
		vcpu_stop(v, STOP_UNHANDLED, "EPT violation at GPA %#llx: %s (RIP %#llx)",
			  (unsigned long long)gpa, why, (unsigned long long)guest_rip());
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
		handle_cpuid(v);
		break;
	case EXIT_REASON_HLT:
		vcpu_skip_instruction();
		/* No interrupts are ever delivered: a halted guest would sleep forever. */
		vcpu_stop(v, STOP_HLT, "guest halted at RIP %#llx", (unsigned long long)guest_rip());
		break;
	case EXIT_REASON_VMCALL:
		vcpu_handle_vmcall(v);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		handle_io(v, qual);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		vcpu_requeue_event(v); /* it may have interrupted the delivery of an event */
		handle_ept_violation(v, qual);
		break;
	case EXIT_REASON_EPT_MISCONFIG: {
		uint64_t gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);

		/* minihv never writes a misconfigured entry on purpose in normal use. */
		VM_BUG_ON(true, v->vm);
		vcpu_stop(v, STOP_BUGGED, "EPT misconfiguration at GPA %#llx (RIP %#llx): VM marked bugged",
			  (unsigned long long)gpa, (unsigned long long)guest_rip());
		break;
	}
	case EXIT_REASON_TRIPLE_FAULT:
		vcpu_triple_fault(v);
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
		vcpu_skip_instruction();
		break;
	case EXIT_REASON_PREEMPTION_TIMER:
		vcpu_requeue_event(v);
		if (!--v->timer_slices_left)
			vcpu_stop(v, STOP_WATCHDOG,
				  "runaway guest: preemption-timer budget used up at RIP %#llx",
				  (unsigned long long)guest_rip());
		break;
	default:
		vcpu_stop(v, STOP_UNHANDLED, "unhandled exit %u (%s), qualification %#llx, RIP %#llx",
			  reason, exit_reason_name(reason), (unsigned long long)qual,
			  (unsigned long long)guest_rip());
		break;
	}
	return v->stop == STOP_NONE;
}
