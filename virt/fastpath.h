/*
 * The exit fast path (issue 22), after KVM's handle_fastpath_*() and
 * EXIT_FASTPATH_REENTER_GUEST (arch/x86/kvm/vmx/vmx.c): the hottest simple
 * exits are handled in the backend's run loop, interrupts still off, before
 * the generic dispatch, with direct inline code and no indirect call. A
 * handler that returns false has changed nothing: the generic path then
 * handles the exit whole, as it handles every exit of a vCPU that needs
 * more (a vCPU-info area to update, a spent exit budget, minihv's own leaves).
 */
#ifndef MINIHV_VIRT_FASTPATH_H
#define MINIHV_VIRT_FASTPATH_H

/* Included by virt/vcpu.h, at its end: the backends see it there. */
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

/*
 * What vcpu_account_exit() does for an exit of kind @k when the vCPU's
 * exits need nothing more (exits_slow clear: no vCPU-info area, not a PC
 * guest's) and the exit budget is not spent; false, with nothing counted,
 * otherwise.
 */
static inline __attribute__((always_inline)) bool vcpu_fast_account(struct vcpu *v,
								     enum vcpu_exit_kind k)
{
	if (unlikely(v->exits_slow || !v->exits_left))
		return false;
	v->exits_left--;
	v->stats.exits_total++;
	v->stats.exits[k]++;
	return true;
}

/*
 * CPUID of a leaf that is not minihv's own: the host's values, straight into
 * the 64-bit registers (CPUID clears bits 63:32 of RAX..RDX, SDM vol. 2A),
 * less what the guest must not see: the backend's own feature (@hide1 in
 * leaf 1 ECX, @hide81 in leaf 0x80000001 ECX; no nested virtualization) and
 * MONITOR/MWAIT (they only exit), with the hypervisor bit set.
 */
static inline __attribute__((always_inline)) void vcpu_cpuid_host(struct vcpu *v, uint32_t leaf,
								   uint32_t hide1, uint32_t hide81)
{
	__asm__ __volatile__("cpuid"
			     : "=a"(v->regs.rax), "=b"(v->regs.rbx), "=c"(v->regs.rcx),
			       "=d"(v->regs.rdx)
			     : "a"(leaf), "c"((uint32_t)v->regs.rcx));
	if (leaf == 1) {
		v->regs.rcx &= ~(uint64_t)(hide1 | CPUID_1_ECX_MONITOR);
		v->regs.rcx |= CPUID_1_ECX_HYPERVISOR;
	} else if (leaf == 0x80000001u) {
		v->regs.rcx &= ~(uint64_t)hide81;
	}
}

/* CPUID exit: true if handled (the caller then moves RIP past the instruction). */
static inline __attribute__((always_inline)) bool vcpu_fast_cpuid(struct vcpu *v, uint32_t hide1,
								   uint32_t hide81)
{
	uint32_t leaf = (uint32_t)v->regs.rax;

	/* A PC guest's CPUID is presented (virt/cpuid.c): exits_slow sends it the slow way. */
	if ((leaf & 0xffffff00u) == HV_CPUID_LEAF || !vcpu_fast_account(v, VEXIT_CPUID))
		return false;
	vcpu_cpuid_host(v, leaf, hide1, hide81);
	return true;
}

#endif
