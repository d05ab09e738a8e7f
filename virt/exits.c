/*
 * The exits every backend handles alike, once decoded by vmx/exits.c or
 * svm/exits.c: CPUID, port I/O (COM1 only), HLT and second-level faults. A
 * guest that does something minihv does not emulate is stopped with a
 * message that names what and where; the host carries on.
 */
#include "virt/vcpu.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

static uint64_t guest_rip(struct vcpu *v)
{
	return v->be->rip(v);
}

/*
 * The signature leaves, apart from vcpu_handle_cpuid(): the memcpy() would
 * keep its values in memory on every CPUID exit.
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

void vcpu_handle_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax;

	if (v->pc) {
		uint32_t r[4];

		pc_cpuid(v, leaf, (uint32_t)v->regs.rcx, r);
		v->regs.rax = r[0], v->regs.rbx = r[1], v->regs.rcx = r[2], v->regs.rdx = r[3];
	} else if ((leaf & 0xffffff00u) == HV_CPUID_LEAF) {
		hv_cpuid(v, leaf);
	} else {
		vcpu_cpuid_host(v, leaf, v->be->cpuid1_ecx_hide, v->be->cpuid81_ecx_hide);
	}
	v->be->skip_instruction(v);
}

bool vcpu_handle_io(struct vcpu *v, unsigned port, unsigned size, bool in, bool string)
{
	v->stats.io_exits++;
	bool com1 = port >= COM1_BASE && port + size <= COM1_BASE + COM1_PORTS;

	/* A PC guest's ports, COM1 among them (virt/platform.c): an unknown one is counted, not fatal. */
	if (!string && v->pc && pc_handle_io(v, port, size, in))
		return true;
	if (string || !com1) {
		vcpu_stop(v, STOP_UNHANDLED, "unhandled %s%s of %u byte(s) at port %#x, RIP %#llx",
			  string ? "string " : "", in ? "IN" : "OUT", size, port,
			  (unsigned long long)guest_rip(v));
		return false;
	}
	uint32_t val = uart_io(v, &v->uart, port - COM1_BASE, size, in, (uint32_t)v->regs.rax);

	if (in)
		vcpu_set_in_result(v, size, val);
	v->be->skip_instruction(v);
	return true;
}

void vcpu_handle_hlt(struct vcpu *v)
{
	uint64_t at = guest_rip(v); /* the HLT's own address, for the messages */

	v->be->skip_instruction(v);
	if (v->pc) { /* a PC guest sleeps until an interrupt (virt/pc.c) */
		pc_hlt(v, at);
		return;
	}
	/* No interrupts are ever delivered: a halted guest would sleep forever. */
	vcpu_stop(v, STOP_HLT, "guest halted at RIP %#llx (the HLT)", (unsigned long long)at);
}

void vcpu_handle_tdp_misconfig(struct vcpu *v, uint64_t gpa)
{
	/* minihv never writes a misconfigured entry on purpose in normal use. */
	VM_BUG_ON(true, v->vm);
	vcpu_stop(v, STOP_BUGGED, "%s misconfiguration at GPA %#llx (RIP %#llx): VM marked bugged",
		  v->be->tdp_name, (unsigned long long)gpa, (unsigned long long)guest_rip(v));
}

/* vcpu_count_fault(), inline in the second-level fault's exit (issue 22). */
static inline void count_fault(struct vcpu *v, uint64_t gpa)
{
	/*
	 * The same page faulting again right after a fault that returned 0
	 * means that fault was retried. While an invalidation of the page runs,
	 * the fault spins (refaults); each retry after one *ended* (seq moved)
	 * is a race the fault lost. The longest run of lost races is the
	 * livelock bound the stress test states (tests/kernel/test_smp_stress.c).
	 */
	uint64_t seq = __atomic_load_n(&v->vm->inval.seq, __ATOMIC_ACQUIRE);
	struct vcpu_stats *st = &v->stats;

	if (st->exits_total > 1 && (gpa >> PAGE_SHIFT) == (v->last_fault_gpa >> PAGE_SHIFT)) {
		st->refaults++;
		if (seq != v->last_fault_seq)
			st->lost_races++;
	} else {
		st->refaults = st->lost_races = 0;
	}
	st->refaults_max = MAX(st->refaults_max, st->refaults);
	st->lost_races_max = MAX(st->lost_races_max, st->lost_races);
	v->last_fault_seq = seq;
	v->last_fault_gpa = gpa;
}

void vcpu_count_fault(struct vcpu *v, uint64_t gpa)
{
	count_fault(v, gpa);
}

void vcpu_handle_tdp_fault(struct vcpu *v, uint64_t gpa, bool write)
{
	char why[160];
	int r;

	count_fault(v, gpa);
	r = mmu_fault_cached(v->vm, &v->slot_cache, gpa, write ? PT_PROT_W : PT_PROT_R, why,
			     sizeof(why));
	if (r) /* not called on success: the exit path stays short (make bench) */
		vcpu_fault_failed(v, r, v->be->tdp_name, gpa, why);
}

void vcpu_fault_failed(struct vcpu *v, int r, const char *what, uint64_t addr, const char *why)
{
	if (r == -EFAULT && v->pc && pc_mmio(v, addr)) /* the local APIC's page */
		return;
	if (r == -EFAULT)
		vcpu_stop(v, STOP_BAD_GPA, "%s (RIP %#llx)", why, (unsigned long long)guest_rip(v));
	else if (r == -EACCES)
		vcpu_stop(v, STOP_READONLY, "%s (RIP %#llx)", why, (unsigned long long)guest_rip(v));
	else if (r == -EPERM) /* RIP unchanged: the write is retried on resume */
		vcpu_stop(v, STOP_MEMORY_FAULT, "%s (RIP %#llx)", why,
			  (unsigned long long)guest_rip(v));
	else if (r)
		vcpu_stop(v, STOP_UNHANDLED, "%s fault at %#llx: %s (RIP %#llx)", what,
			  (unsigned long long)addr, why, (unsigned long long)guest_rip(v));
}
