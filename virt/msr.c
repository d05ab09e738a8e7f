/*
 * RDMSR and WRMSR, on every backend. minihv lets the guest reach no MSR
 * directly (no MSR bitmap on VMX, an MSR permission map of all ones on SVM),
 * so every access exits here. A handful of MSRs are emulated (the list is guest/ABI.md's);
 * any other access stops the guest with a message that names the MSR, its
 * number and RIP. Stopping, rather than injecting #GP as KVM does with
 * ignore_msrs=0, because a guest starts without an IDT: the #GP would end
 * in a triple fault whose message could name the #GP but not the MSR.
 */
#include "virt/vcpu.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

static const struct {
	uint32_t msr;
	const char *name;
} msr_names[] = {
	{ MSR_IA32_TSC, "IA32_TSC" },
	{ MSR_IA32_PLATFORM_ID, "IA32_PLATFORM_ID" },
	{ MSR_IA32_APIC_BASE, "IA32_APIC_BASE" },
	{ MSR_IA32_FEATURE_CONTROL, "IA32_FEATURE_CONTROL" },
	{ MSR_IA32_SPEC_CTRL, "IA32_SPEC_CTRL" },
	{ MSR_IA32_PRED_CMD, "IA32_PRED_CMD" },
	{ MSR_IA32_BIOS_SIGN_ID, "IA32_BIOS_SIGN_ID" },
	{ MSR_IA32_MTRRCAP, "IA32_MTRRCAP" },
	{ MSR_IA32_ARCH_CAPABILITIES, "IA32_ARCH_CAPABILITIES" },
	{ MSR_IA32_SYSENTER_CS, "IA32_SYSENTER_CS" },
	{ MSR_IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP" },
	{ MSR_IA32_SYSENTER_EIP, "IA32_SYSENTER_EIP" },
	{ MSR_IA32_MCG_CAP, "IA32_MCG_CAP" },
	{ MSR_IA32_MCG_STATUS, "IA32_MCG_STATUS" },
	{ MSR_IA32_MISC_ENABLE, "IA32_MISC_ENABLE" },
	{ MSR_IA32_DEBUGCTL, "IA32_DEBUGCTL" },
	{ MSR_IA32_PAT, "IA32_PAT" },
	{ MSR_IA32_MTRR_DEF_TYPE, "IA32_MTRR_DEF_TYPE" },
	{ MSR_IA32_PERF_GLOBAL_CTRL, "IA32_PERF_GLOBAL_CTRL" },
	{ MSR_IA32_TSC_DEADLINE, "IA32_TSC_DEADLINE" },
	{ MSR_IA32_XSS, "IA32_XSS" },
	{ MSR_EFER, "IA32_EFER" },
	{ MSR_STAR, "IA32_STAR" },
	{ MSR_LSTAR, "IA32_LSTAR" },
	{ MSR_CSTAR, "IA32_CSTAR" },
	{ MSR_SFMASK, "IA32_FMASK" },
	{ MSR_FS_BASE, "IA32_FS_BASE" },
	{ MSR_GS_BASE, "IA32_GS_BASE" },
	{ MSR_KERNEL_GS_BASE, "IA32_KERNEL_GS_BASE" },
	{ MSR_TSC_AUX, "IA32_TSC_AUX" },
};

const char *msr_name(uint32_t msr)
{
	for (size_t i = 0; i < ARRAY_SIZE(msr_names); i++)
		if (msr_names[i].msr == msr)
			return msr_names[i].name;
	if (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_TRUE_ENTRY_CTLS)
		return "an IA32_VMX_* capability MSR";
	if (msr >= MSR_IA32_X2APIC_FIRST && msr <= MSR_IA32_X2APIC_LAST)
		return "an x2APIC register";
	return NULL;
}

const char *efer_write_refused(struct vcpu *v, uint64_t val)
{
	uint64_t may = EFER_SCE | EFER_LME | EFER_LMA;

	if (cpuid(0x80000001).edx & CPUID_80000001_EDX_NX)
		may |= EFER_NXE;
	if (val & ~may) /* SVME included: SVM is not the guest's (CPUID hides it) */
		return "only SCE, LME and NXE may be set";
	/* LME may not change while paging is on (SDM 3A, 10.8.5). */
	if (((val ^ v->be->get_msr(v, MSR_EFER)) & EFER_LME) &&
	    (v->be->get_cr(v, 0) & X86_CR0_PG))
		return "LME may not change while paging is on";
	return NULL;
}

void efer_write(struct vcpu *v, uint64_t val)
{
	/* LMA is the CPU's to set: a write keeps it. */
	v->be->set_msr(v, MSR_EFER, (val & ~EFER_LMA) | (v->be->get_msr(v, MSR_EFER) & EFER_LMA));
}

/* Stop the guest: "RDMSR of MSR 0x... (NAME) at RIP 0x...: why". */
static void __printf(5, 6) refuse(struct vcpu *v, bool write, uint32_t msr, uint64_t val,
				  const char *why, ...)
{
	const char *name = msr_name(msr);
	char detail[80];
	va_list ap;

	va_start(ap, why);
	kvsnprintf(detail, sizeof(detail), why, ap);
	va_end(ap);
	if (write)
		vcpu_stop(v, STOP_UNHANDLED, "WRMSR of %#llx to MSR %#x (%s) at RIP %#llx: %s",
			  (unsigned long long)val, msr, name ? name : "unknown MSR",
			  (unsigned long long)v->be->rip(v), detail);
	else
		vcpu_stop(v, STOP_UNHANDLED, "RDMSR of MSR %#x (%s) at RIP %#llx: %s", msr,
			  name ? name : "unknown MSR", (unsigned long long)v->be->rip(v), detail);
}

/* 0 and @*val set, or the guest was stopped. */
static int read_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_EFER:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		*val = v->be->get_msr(v, msr);
		return 0;
	case MSR_IA32_TSC:
		*val = rdtsc(); /* no TSC offset: what the guest's own RDTSC reads */
		return 0;
	case MSR_IA32_APIC_BASE:
		/* The guest has no local APIC: it reads as the BSP's, globally disabled. */
		*val = APIC_DEFAULT_BASE | APIC_BASE_BSP;
		return 0;
	default:
		refuse(v, false, msr, 0, "MSR not emulated");
		return -1;
	}
}

static int write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_EFER: {
		const char *why = efer_write_refused(v, val);

		if (why) {
			refuse(v, true, msr, val, "%s (IA32_EFER is %#llx)", why,
			       (unsigned long long)v->be->get_msr(v, msr));
			return -1;
		}
		efer_write(v, val);
		return 0;
	}
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!x86_canonical(val)) {
			refuse(v, true, msr, val, "not a canonical address");
			return -1;
		}
		v->be->set_msr(v, msr, val);
		return 0;
	case MSR_IA32_TSC:
	case MSR_IA32_APIC_BASE:
		refuse(v, true, msr, val, "read-only for guests");
		return -1;
	default:
		refuse(v, true, msr, val, "MSR not emulated");
		return -1;
	}
}

void vcpu_handle_msr(struct vcpu *v, bool write)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	uint64_t val;

	if (v->pc) { /* a PC guest's MSRs behave as a CPU's: #GP, not a stop (virt/pc_msr.c) */
		pc_handle_msr(v, write);
		return;
	}
	if (write) {
		val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
		if (write_msr(v, msr, val))
			return;
	} else {
		if (read_msr(v, msr, &val))
			return;
		/* RDMSR writes EDX:EAX, zero-extending both into RDX and RAX. */
		v->regs.rax = (uint32_t)val;
		v->regs.rdx = val >> 32;
	}
	v->be->skip_instruction(v);
}
