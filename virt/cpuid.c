/*
 * CPUID as a multiboot1 guest's PC presents it (guest/ABI.md, "CPUID"):
 * the host's leaves, less what minihv does not emulate, plus what it does
 * (x2APIC, TSC deadline, the hypervisor leaves). A flat guest keeps the
 * pass-through of virt/fastpath.h. Bits are the SDM's (vol. 2A, CPUID)
 * and KVM's hypervisor leaves (Documentation/virt/kvm/x86/cpuid.rst);
 * 0x40000010 gives the TSC and APIC bus rates in kHz as VMware and KVM do.
 */
#include "virt/vcpu.h"
#include "virt/lapic.h"
#include "lib/lib.h"
#include "guest/hypercall.h"

#define C1_ECX_DTES64 (1u << 2)
#define C1_ECX_DSCPL (1u << 4)
#define C1_ECX_SMX (1u << 6)
#define C1_ECX_EST (1u << 7)
#define C1_ECX_TM2 (1u << 8)
#define C1_ECX_SDBG (1u << 11)
#define C1_ECX_XTPR (1u << 14)
#define C1_ECX_PDCM (1u << 15)
#define C1_ECX_X2APIC (1u << 21)
#define C1_ECX_TSC_DEADLINE (1u << 24)
#define C1_ECX_OSXSAVE (1u << 27)
#define C1_EDX_MCE (1u << 7)
#define C1_EDX_APIC (1u << 9)
#define C1_EDX_MTRR (1u << 12)
#define C1_EDX_MCA (1u << 14)
#define C1_EDX_DS (1u << 21)
#define C1_EDX_ACPI (1u << 22)
#define C1_EDX_TM (1u << 29)
#define C1_EDX_PBE (1u << 31u)
#define C7_EBX_TSC_ADJUST (1u << 1)
#define C7_EBX_SGX (1u << 2)
#define C7_EBX_HLE (1u << 4)
#define C7_EBX_RTM (1u << 11)
#define C7_EBX_PQM (1u << 12)
#define C7_EBX_MPX (1u << 14)
#define C7_EBX_PQE (1u << 15)
#define C7_EBX_PT (1u << 25)
#define C7_EBX_SMEP (1u << 7)
#define C7_EBX_SMAP (1u << 20)
#define C7_ECX_PKU (1u << 3)
#define C7_ECX_OSPKE (1u << 4)
#define C7_ECX_PKS (1u << 31)
#define C1_ECX_PCID (1u << 17)
#define C7_ECX_WAITPKG (1u << 5)
#define C7_ECX_LA57 (1u << 16)
#define C7_ECX_SGX_LC (1u << 30)
#define C81_ECX_SKINIT (1u << 12)
#define C81_ECX_WDT (1u << 13)
#define C81_ECX_PERFCTR (1u << 23)

#define C6_EAX_ARAT (1u << 2)
/* Speculation-control MSRs no vCPU has here (SPEC_CTRL, PRED_CMD, ARCH_CAPABILITIES, FLUSH_CMD). */
#define C7_EDX_SPEC_MSRS (0xfu << 26 | 1u << 31) /* IBRS/IBPB, STIBP, L1D_FLUSH, ARCH_CAP, SSBD */
#define C88_EBX_SPEC_MSRS (0x7du << 12 | 3u << 24) /* IBPB, IBRS, STIBP(+always on, fast, pref), SSBD, VIRT_SSBD */

#define HV_LEAF_TIMING 0x40000010u

void pc_cpuid(struct vcpu *v, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if ((leaf & 0xffffff00u) == HV_CPUID_LEAF) {
		r[0] = r[1] = r[2] = r[3] = 0;
		if (leaf == HV_CPUID_LEAF) {
			r[0] = HV_LEAF_TIMING;
			memcpy(&r[1], HV_SIGNATURE, 12);
		} else if (leaf == HV_LEAF_TIMING) {
			r[0] = (uint32_t)tsc_khz;
			r[1] = LAPIC_BUS_KHZ;
		}
		return;
	}
	/* Past the last leaf of its range (basic or extended): zeroes, as AMD answers. */
	if (leaf > cpuid(leaf & 0x80000000u).eax) {
		r[0] = r[1] = r[2] = r[3] = 0;
		return;
	}
	struct cpuid_regs c = cpuid_count(leaf, sub);

	r[0] = c.eax, r[1] = c.ebx, r[2] = c.ecx, r[3] = c.edx;
	switch (leaf) {
	case 1:
		r[1] = (r[1] & 0x0000ffffu) | (v->index << 24) | (v->pc->ncpus << 16);
		r[2] &= ~(C1_ECX_DTES64 | C1_ECX_DSCPL | CPUID_1_ECX_VMX | C1_ECX_SMX | C1_ECX_EST |
			  C1_ECX_TM2 | C1_ECX_SDBG | C1_ECX_XTPR | CPUID_1_ECX_MONITOR | C1_ECX_OSXSAVE);
		r[2] |= C1_ECX_X2APIC | C1_ECX_TSC_DEADLINE | C1_ECX_PDCM | CPUID_1_ECX_HYPERVISOR;
		if (v->vm->shadow) /* the shadow MMU has no PCIDs */
			r[2] &= ~C1_ECX_PCID;
		if (v->be->get_cr(v, 4) & X86_CR4_OSXSAVE) /* reflects the guest's CR4 (SDM 2A) */
			r[2] |= C1_ECX_OSXSAVE;
		r[3] &= ~(C1_EDX_MTRR | C1_EDX_DS | C1_EDX_ACPI | C1_EDX_TM | C1_EDX_PBE);
		r[3] |= C1_EDX_MCE | C1_EDX_MCA;
		if (v->lapic.base & APIC_BASE_ENABLE) /* clear while the APIC is disabled (SDM 3A, 11.4.3) */
			r[3] |= C1_EDX_APIC;
		else
			r[3] &= ~C1_EDX_APIC;
		break;
	case 5: /* MONITOR/MWAIT: not offered (MWAIT is a no-op here) */
	case 0xa: /* no performance counters */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	case 6: /* no thermal or power management; the APIC timer runs in every state (ARAT) */
		r[0] = C6_EAX_ARAT;
		r[1] = r[2] = r[3] = 0;
		break;
	case 7:
		if (sub == 0) {
			r[1] &= ~(C7_EBX_SGX | C7_EBX_HLE | C7_EBX_RTM | C7_EBX_PQM | C7_EBX_MPX |
				  C7_EBX_PQE | C7_EBX_PT);
			r[1] |= C7_EBX_TSC_ADJUST;
			r[2] &= ~(C7_ECX_WAITPKG | C7_ECX_LA57 | C7_ECX_SGX_LC);
			r[3] &= ~C7_EDX_SPEC_MSRS;
			/* What the shadow MMU does not build (virt/shadow.c) is not offered. */
			if (v->vm->shadow) {
				r[1] &= ~(C7_EBX_SMEP | C7_EBX_SMAP);
				r[2] &= ~(C7_ECX_PKU | C7_ECX_OSPKE | C7_ECX_PKS);
			}
		}
		break;
	case 0xb:
	case 0x1f:
		r[3] = v->index; /* the x2APIC ID */
		break;
	case 0x80000001u:
		r[2] &= ~(v->be->cpuid81_ecx_hide | C81_ECX_SKINIT | C81_ECX_WDT | C81_ECX_PERFCTR);
		break;
	case 0x80000008u:
		r[1] &= ~C88_EBX_SPEC_MSRS;
		break;
	}
}
