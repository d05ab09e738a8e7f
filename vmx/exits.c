/*
 * Exit dispatch. A guest that does something minihv does not emulate is
 * stopped with a message that names what and where; the host carries on.
 */
#include "lib/bug.h"
#include "vmx/console.h"
#include "arch/x86/cpu.h"
#include "vmx/exception.h"
#include "guest/hypercall.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "vmx/msr_exit.h"
#include "arch/x86/ports.h"
#include "lib/printk.h"
#include "vmx/vcpu.h"
#include "ept/vm.h"
#include "vmx/vmcs.h"

static uint64_t guest_rip(void)
{
	return vmcs_readl(GUEST_RIP);
}

static void skip_instruction(void)
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
	skip_instruction();
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
	skip_instruction();
	return true;
}

static long hc_write(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	if (len > HC_WRITE_MAX)
		return HC_EINVAL;
	const char *s = vm_gpa_to_host(v->vm, gpa, len, false);
	if (!s && len)
		return HC_EFAULT;
	for (uint64_t i = 0; i < len; i++)
		vcpu_console_putc(v, (uint8_t)s[i]);
	return (long)len;
}

static long hc_stats(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	struct hc_stats out = {
		.exits = v->stats.exits_total,
		.ept_violations = v->vm->stats.ept_violations,
		.hypercalls = v->stats.hypercalls,
		.io_exits = v->stats.io_exits,
	};

	if (len > sizeof(out))
		len = sizeof(out);
	void *dst = vm_gpa_to_host(v->vm, gpa, len, true);
	if (!dst || !len)
		return len ? HC_EFAULT : HC_EINVAL;
	memcpy(dst, &out, len);
	return (long)len;
}

static long hc_vcpu_info(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	gpc_deactivate(&v->info); /* re-registering moves the area */
	if (gpa == ~0ULL)
		return 0;
	if (len < sizeof(struct hc_vcpu_info))
		return HC_EINVAL;
	int r = gpc_activate(&v->info, gpa, len);
	if (r == -EFAULT && v->info.active)
		return 0; /* backed by a memslot, just not mapped right now: updates resume later */
	if (r) {
		gpc_deactivate(&v->info);
		return r == -EINVAL ? HC_EINVAL : HC_EFAULT;
	}
	return 0;
}

static void handle_vmcall(struct vcpu *v)
{
	uint64_t nr = v->regs.rax, a0 = v->regs.rdi, a1 = v->regs.rsi;
	long ret;

	v->stats.hypercalls++;
	skip_instruction();
	switch (nr) {
	case HC_WRITE:
		ret = hc_write(v, a0, a1);
		break;
	case HC_EXIT:
		v->exit_code = (long)a0;
		vcpu_stop(v, STOP_EXIT, "guest exited with code %ld", (long)a0);
		return;
	case HC_STATS:
		ret = hc_stats(v, a0, a1);
		break;
	case HC_VCPU_INFO:
		ret = hc_vcpu_info(v, a0, a1);
		break;
	case HC_YIELD:
		v->exit_code = (long)a0;
		v->regs.rax = 0; /* what the guest sees once resumed */
		vcpu_stop(v, STOP_YIELD, "guest yielded %#lx", (unsigned long)a0);
		return;
	default:
		ret = HC_ENOSYS;
		break;
	}
	v->regs.rax = (uint64_t)ret;
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

bool vcpu_handle_exit(struct vcpu *v, unsigned reason)
{
	uint64_t qual = v->last_exit_qual;

	switch (reason) {
	case EXIT_REASON_CPUID:
		handle_cpuid(v);
		break;
	case EXIT_REASON_HLT:
		skip_instruction();
		/* No interrupts are ever delivered: a halted guest would sleep forever. */
		vcpu_stop(v, STOP_HLT, "guest halted at RIP %#llx", (unsigned long long)guest_rip());
		break;
	case EXIT_REASON_VMCALL:
		handle_vmcall(v);
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
		skip_instruction();
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
