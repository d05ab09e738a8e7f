/*
 * MSRs as a CPU has them, for a multiboot1 guest's PC (guest/ABI.md,
 * "MSRs"): real per-vCPU state for the MSRs listed there, and #GP for any
 * other access or an invalid value, as the CPU raises it (SDM vol. 4 for
 * each MSR; kvm-unit-tests' x86/msr.c probes exactly this). Each #GP is
 * counted per MSR in the guest's statistics (virt/platform.c). A flat guest
 * keeps virt/msr.c's rule: an MSR it may not touch stops it, naming it.
 */
#include "virt/vcpu.h"
#include "lib/lib.h"

#define MSR_K7_EVNTSEL0 0xc0010000 /* then EVNTSEL1-3, PERFCTR0-3 (APM vol. 2, 13.2) */
#define MSR_K8_SYSCFG 0xc0010010
#define MSR_K7_HWCR 0xc0010015
#define MSR_K8_INT_PENDING_MSG 0xc0010055 /* Linux reads it unchecked on AMD (its E400 check) */
#define MSR_F10H_DECFG 0xc0011029
#define CPUID_VENDOR_AMD_EBX 0x68747541u /* "Auth" of AuthenticAMD */
#define CPUID_7_ECX_PKS (1u << 31)
#define MISC_ENABLE_RESET 0x1801ULL /* fast strings; BTS and PEBS unavailable (as KVM) */
#define MISC_ENABLE_RO 0x1880ULL    /* perfmon, BTS/PEBS unavailable: read-only here */

/* PAT entries may hold UC, WC, WT, WP, WB, UC- (0, 1, 4-7); 2 and 3 are reserved (SDM 3A 13.12.2). */
/* The MSRs every AMD CPU has, whatever CPUID says, follow the host's vendor. */
static bool host_is_amd(void)
{
	return cpuid(0).ebx == CPUID_VENDOR_AMD_EBX;
}

static bool pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (pat >> (8 * i)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* The MSRs the backend keeps where the CPU switches them (VMCB, VMCS or the CPU itself). */
static bool backend_msr(uint32_t msr)
{
	switch (msr) {
	case MSR_EFER: case MSR_FS_BASE: case MSR_GS_BASE: case MSR_KERNEL_GS_BASE:
	case MSR_STAR: case MSR_LSTAR: case MSR_CSTAR: case MSR_SFMASK:
	case MSR_IA32_SYSENTER_CS: case MSR_IA32_SYSENTER_ESP: case MSR_IA32_SYSENTER_EIP:
	case MSR_IA32_PAT:
		return true;
	}
	return false;
}

static uint64_t guest_tsc(struct vcpu *v)
{
	return rdtsc() + v->tsc_offset;
}

static void set_tsc(struct vcpu *v, uint64_t val)
{
	/* TSC_ADJUST follows a write to the TSC (SDM 3B, 17.17.3). */
	v->pcm.tsc_adjust += val - guest_tsc(v);
	v->tsc_offset = val - rdtsc();
	v->be->set_tsc_offset(v, v->tsc_offset);
}

static int mce_msr(uint32_t msr, bool write, uint64_t *val, struct vcpu *v)
{
	if (msr == MSR_IA32_MCG_CAP) {
		if (write)
			return -1;
		*val = 0; /* no banks, no MCG_CTL: every MCi_* MSR is #GP */
		return 0;
	}
	if (msr == MSR_IA32_MCG_STATUS) {
		if (write) {
			if (*val) /* only 0 may be written without banks to report */
				return -1;
			v->pcm.mcg_status = 0;
		} else {
			*val = v->pcm.mcg_status;
		}
		return 0;
	}
	return -1;
}

/* 0 with @*val read or written, -1 for #GP. */
static int pc_msr_access(struct vcpu *v, uint32_t msr, bool write, uint64_t *val)
{
	if (backend_msr(msr)) {
		if (!write) {
			*val = v->be->get_msr(v, msr);
			return 0;
		}
		switch (msr) {
		case MSR_EFER:
			if (efer_write_refused(v, *val))
				return -1;
			efer_write(v, *val);
			return 0;
		case MSR_IA32_PAT:
			if (!pat_valid(*val))
				return -1;
			break;
		case MSR_STAR: case MSR_SFMASK: case MSR_IA32_SYSENTER_CS:
			break;
		default: /* the address MSRs */
			if (!x86_canonical(*val))
				return -1;
		}
		v->be->set_msr(v, msr, *val);
		return 0;
	}
	if (msr >= MSR_IA32_X2APIC_FIRST && msr <= MSR_IA32_X2APIC_LAST)
		return lapic_x2apic_msr(v, msr, write, val);
	/*
	 * AMD's four legacy counters and their event selects exist on every
	 * AMD CPU, whatever CPUID says; no PMU is emulated, so, as KVM without
	 * one, they read 0 and ignore writes (kvm-unit-tests' pmu_init() resets them).
	 */
	if (msr >= MSR_K7_EVNTSEL0 && msr < MSR_K7_EVNTSEL0 + 8 && host_is_amd()) {
		if (!write)
			*val = 0;
		return 0;
	}
	switch (msr) {
	case MSR_IA32_TSC:
		if (write)
			set_tsc(v, *val);
		else
			*val = guest_tsc(v);
		return 0;
	case MSR_IA32_TSC_ADJUST:
		if (write) {
			v->tsc_offset += *val - v->pcm.tsc_adjust;
			v->be->set_tsc_offset(v, v->tsc_offset);
			v->pcm.tsc_adjust = *val;
		} else {
			*val = v->pcm.tsc_adjust;
		}
		return 0;
	case MSR_TSC_AUX:
		if (write) {
			if (*val >> 32)
				return -1;
			v->pcm.tsc_aux = *val;
			wrmsr(MSR_TSC_AUX, *val); /* RDTSCP and RDPID read it from the CPU */
		} else {
			*val = v->pcm.tsc_aux;
		}
		return 0;
	case MSR_IA32_APIC_BASE:
		if (write)
			return lapic_set_base(v, *val);
		*val = v->lapic.base;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		return lapic_deadline_msr(v, write, val);
	case MSR_IA32_MISC_ENABLE:
		if (write)
			v->pcm.misc_enable = (*val & ~MISC_ENABLE_RO) | (v->pcm.misc_enable & MISC_ENABLE_RO);
		else
			*val = v->pcm.misc_enable;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES: /* CPUID.1:ECX.PDCM says it is there: nothing in it */
		if (write)
			return *val ? -1 : 0;
		*val = 0;
		return 0;
	case MSR_IA32_PKRS:
		/*
		 * Supervisor protection keys, where CPUID offers them (the host's
		 * leaf 7 passes through): the host never sets CR4.PKS, so the
		 * guest's PKRS can stay in the CPU, as XCR0 does (virt/unswitched.c).
		 */
		if (!(cpuid_count(7, 0).ecx & CPUID_7_ECX_PKS) || (write && (*val >> 32)))
			return -1;
		if (write) {
			v->pcm.pkrs = *val;
			wrmsr(MSR_IA32_PKRS, *val);
		} else {
			*val = v->pcm.pkrs;
		}
		return 0;
	case MSR_IA32_BIOS_SIGN_ID: /* the microcode revision: none (writes trigger a read) */
		if (!write)
			*val = 0;
		return 0;
	case MSR_IA32_MCG_CAP:
	case MSR_IA32_MCG_STATUS:
		return mce_msr(msr, write, val, v);
	case MSR_IA32_FEATURE_CONTROL: /* locked with VMX off: CPUID offers no VMX either */
		if (write)
			return -1;
		*val = FEATURE_CONTROL_LOCKED;
		return 0;
	/*
	 * AMD configuration MSRs a kernel reads at boot (Linux's init_amd()):
	 * present on every AMD CPU, with nothing here for them to configure,
	 * so they read 0 and take writes as a no-op, as KVM's do.
	 */
	case MSR_K8_SYSCFG: case MSR_K7_HWCR: case MSR_K8_INT_PENDING_MSG: case MSR_F10H_DECFG:
		if (!host_is_amd())
			return -1;
		if (!write)
			*val = 0;
		return 0;
	}
	return -1;
}

void pc_msr_reset(struct vcpu *v)
{
	v->pcm.misc_enable = MISC_ENABLE_RESET;
	v->pcm.pat = 0x0007040600070406ULL; /* the power-on PAT (SDM 3A, 13.12.4) */
}

void pc_handle_msr(struct vcpu *v, bool write)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;

	if (pc_msr_access(v, msr, write, &val)) {
		struct exc_event gp = { .vector = X86_EXC_GP, .type = INTR_TYPE_HARD_EXCEPTION,
					.has_error = true, .error = 0 };

		spin_lock(&v->pc->lock);
		pc_count(v->pc->msrs, &v->pc->nmsrs, &v->pc->msrs_other, msr);
		spin_unlock(&v->pc->lock);
		v->be->raise(v, &gp); /* RIP stays at the WRMSR/RDMSR: a fault */
		return;
	}
	if (!write) {
		v->regs.rax = (uint32_t)val;
		v->regs.rdx = val >> 32;
	}
	v->be->skip_instruction(v);
}
