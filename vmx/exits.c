/*
 * Exit dispatch. A guest that does something minihv does not emulate is
 * stopped with a message that names what and where; the host carries on.
 */
#include "bug.h"
#include "cpu.h"
#include "hypercall.h"
#include "kerrno.h"
#include "kstring.h"
#include "ports.h"
#include "printk.h"
#include "vcpu.h"
#include "vm.h"
#include "vmcs.h"

#define COM1_LAST (COM1_BASE + 7)
#define UART_LSR_IDLE 0x60 /* THR empty and transmitter idle: output never blocks */

static uint64_t guest_rip(void)
{
	return vmcs_readl(GUEST_RIP);
}

static void skip_instruction(void)
{
	vmcs_writel(GUEST_RIP, guest_rip() + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

static void handle_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx;
	struct cpuid_regs r;

	if ((leaf & 0xffffff00u) == HV_CPUID_LEAF) {
		memset(&r, 0, sizeof(r));
		if (leaf == HV_CPUID_LEAF) {
			r.eax = HV_CPUID_LEAF;
			memcpy(&r.ebx, HV_SIGNATURE, 4);
			memcpy(&r.ecx, HV_SIGNATURE + 4, 4);
			memcpy(&r.edx, HV_SIGNATURE + 8, 4);
		}
	} else {
		r = cpuid_count(leaf, sub);
		if (leaf == 1) {
			/* No nested VMX, no MONITOR/MWAIT (they only exit); a hypervisor is here. */
			r.ecx &= ~(CPUID_1_ECX_VMX | CPUID_1_ECX_MONITOR);
			r.ecx |= CPUID_1_ECX_HYPERVISOR;
		}
	}
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	skip_instruction();
}

void vcpu_flush_console(struct vcpu *v)
{
	printk("guest[%s]: %.*s\n", v->vm->name, (int)v->line_len, v->line);
	v->line_len = 0;
}

static void serial_out(struct vcpu *v, char c)
{
	if (c == '\n') {
		vcpu_flush_console(v);
		return;
	}
	if (c == '\r')
		return;
	v->line[v->line_len++] = c;
	if (v->line_len == sizeof(v->line))
		vcpu_flush_console(v); /* a long line is wrapped, not dropped */
}

static bool handle_io(struct vcpu *v, uint64_t qual)
{
	unsigned port = IO_QUAL_PORT(qual), size = IO_QUAL_SIZE(qual);
	bool in = qual & IO_QUAL_IN;

	v->vm->stats.io_exits++;
	if ((qual & IO_QUAL_STRING) || port < COM1_BASE || port > COM1_LAST) {
		vcpu_stop(v, STOP_UNHANDLED, "unhandled %s%s of %u byte(s) at port %#x, RIP %#llx",
			  (qual & IO_QUAL_STRING) ? "string " : "", in ? "IN" : "OUT", size, port,
			  (unsigned long long)guest_rip());
		return false;
	}
	if (in) {
		uint64_t val = port == COM1_BASE + UART_LSR ? UART_LSR_IDLE : 0;
		uint64_t mask = (1ULL << (size * 8)) - 1;

		/* IN to AL/AX keeps the rest of RAX; IN to EAX zero-extends, as on hardware. */
		v->regs.rax = size == 4 ? val & mask : (v->regs.rax & ~mask) | (val & mask);
	} else if (port == COM1_BASE + UART_THR) {
		serial_out(v, (char)v->regs.rax);
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
		serial_out(v, s[i]);
	return (long)len;
}

static long hc_stats(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	const struct vm_stats *st = &v->vm->stats;
	struct hc_stats out = {
		.exits = st->exits_total,
		.ept_violations = st->ept_violations,
		.hypercalls = st->hypercalls,
		.io_exits = st->io_exits,
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

	v->vm->stats.hypercalls++;
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
	int r = ept_handle_violation(v->vm, gpa, qual, why, sizeof(why));

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
		vcpu_stop(v, STOP_TRIPLE_FAULT, "triple fault at RIP %#llx",
			  (unsigned long long)guest_rip());
		break;
	case EXIT_REASON_EXCEPTION_NMI: {
		uint32_t info = vmcs_read32(VM_EXIT_INTR_INFO);

		if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI)
			break; /* the host has no NMI work: resume */
		vcpu_stop(v, STOP_UNHANDLED, "guest exception vector %u at RIP %#llx",
			  INTR_INFO_VECTOR(info), (unsigned long long)guest_rip());
		break;
	}
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		break;
	case EXIT_REASON_MONITOR:
	case EXIT_REASON_MWAIT:
		/* MWAIT may return at any time (SDM): a no-op keeps the CPU ours. */
		skip_instruction();
		break;
	case EXIT_REASON_PREEMPTION_TIMER:
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
