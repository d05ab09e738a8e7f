/*
 * The VMCS's side of shadow paging (the rest is virt/shadow.c): CR0/CR4
 * with their read shadows, the shadow root in GUEST_CR3, the CR-access
 * and INVLPG exits, and the flush of the guest's linear translations
 * (INVVPID, or nothing without VPID: then every VM entry and exit flushes
 * them, SDM 3C 29.4.3.1).
 */
#include "vmx/vcpu.h"
#include "vmx/exits.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* INVVPID types (SDM 3C, 31.3 "INVVPID"). */
#define INVVPID_SINGLE 1
#define INVVPID_ALL 2
#define VPID_CAP_INVVPID_SINGLE (1ULL << 41)

void vmx_shadow_flush_local(struct vcpu *v)
{
	struct {
		uint64_t vpid, la;
	} desc = { v->hw.vpid, 0 };
	unsigned long type = (this_cpu.caps.ept_vpid_cap & VPID_CAP_INVVPID_SINGLE) ? INVVPID_SINGLE
										 : INVVPID_ALL;

	if (!v->hw.vpid)
		return;
	__asm__ __volatile__("invvpid %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

void vmx_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw)
{
	(void)v;
	switch (cr) {
	case 0:
		vmcs_writel(CR0_READ_SHADOW, guest);
		vmcs_writel(GUEST_CR0, vmx_guest_cr0(hw));
		break;
	case 3:
		vmcs_writel(GUEST_CR3, hw);
		break;
	case 4:
		vmcs_writel(CR4_READ_SHADOW, guest);
		vmcs_writel(GUEST_CR4, vmx_guest_cr4(hw));
		break;
	}
}

void vmx_set_rip(struct vcpu *v, uint64_t rip)
{
	(void)v;
	vmcs_writel(GUEST_RIP, rip);
}

/* SDM 3C 28.2.1, table 28-3: the control-register access qualification. */
#define CR_QUAL_CR(q) ((unsigned)(q) & 15)
#define CR_QUAL_TYPE(q) (((unsigned)(q) >> 4) & 3)
#define CR_QUAL_GPR(q) (((unsigned)(q) >> 8) & 15)
#define CR_QUAL_LMSW(q) (((q) >> 16) & 0xffff)
#define CR_TYPE_MOV_TO 0
#define CR_TYPE_MOV_FROM 1
#define CR_TYPE_CLTS 2
#define CR_TYPE_LMSW 3

void vmx_handle_cr_access(struct vcpu *v, uint64_t qual)
{
	unsigned cr = CR_QUAL_CR(qual), gpr = CR_QUAL_GPR(qual);
	uint64_t *reg = vcpu_gpr(v, gpr);
	/* CR0 as the guest sees it: its own bits, the host-owned ones from the read shadow. */
	uint64_t mask = vmcs_readl(CR0_GUEST_HOST_MASK);
	uint64_t cr0 = (vmcs_readl(GUEST_CR0) & ~mask) | (vmcs_readl(CR0_READ_SHADOW) & mask);

	uint64_t val;

	switch (CR_QUAL_TYPE(qual)) {
	case CR_TYPE_MOV_TO:
		val = reg ? *reg : vmcs_readl(GUEST_RSP);
		break;
	case CR_TYPE_MOV_FROM:
		/* Shadow paging, or (EPT) a CPU that cannot clear CR3-store exiting. */
		val = v->vm->shadow ? vcpu_shadow_read_cr(v, cr) : vmcs_readl(GUEST_CR3);
		if (reg)
			*reg = val;
		else
			vmcs_writel(GUEST_RSP, val);
		vmx_skip_instruction(v);
		return;
	case CR_TYPE_CLTS:
		cr = 0;
		val = cr0 & ~X86_CR0_TS;
		break;
	default:
		/* LMSW loads CR0[3:0] but never clears PE (SDM vol. 2, LMSW). */
		cr = 0;
		val = (cr0 & ~0xeULL) | (CR_QUAL_LMSW(qual) & 0xf);
		break;
	}
	if (!v->vm->shadow) {
		vmx_mode_write_cr(v, cr, val); /* vmx/modes.c: skips, or injects #GP */
		return;
	}
	/* virt/shadow.c would go to its identity map, which VMX cannot run (vmx_entry_mode_ok()). */
	if (cr == 0 && !(val & X86_CR0_PG)) {
		vcpu_stop(v, STOP_UNHANDLED, "shadow paging on VMX: the guest wrote CR0 %#llx, "
			  "turning paging off, which needs unrestricted guest, and so EPT: "
			  "VMX shadow paging runs 64-bit guests only", (unsigned long long)val);
		return;
	}
	if (vcpu_shadow_write_cr(v, cr, val) && v->stop == STOP_NONE)
		vmx_skip_instruction(v);
}
