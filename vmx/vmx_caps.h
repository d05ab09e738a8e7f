/*
 * What the CPU offers for virtualization, read from CPUID and the IA32_VMX_*
 * capability MSRs (SDM vol. 3D, appendix A). The MSRs are read only when
 * CPUID.1:ECX.VMX is set: elsewhere they raise #GP (and QEMU TCG has none).
 */
#ifndef MINIHV_VMX_CAPS_H
#define MINIHV_VMX_CAPS_H

#include "arch/x86/arch.h"

/* The control bits are those of vmcs_defs.h (CPU_*, CPU2_*): the allowed-1 half names them. */
/* IA32_VMX_EPT_VPID_CAP (SDM 3D, A.10). */
#define VMX_EPT_CAP_WALK4 (1ULL << 6)
#define VMX_EPT_CAP_WB (1ULL << 14)
#define VMX_EPT_CAP_2M (1ULL << 16)
#define VMX_EPT_CAP_1G (1ULL << 17)
#define VMX_EPT_CAP_INVEPT (1ULL << 20)
#define VMX_EPT_CAP_AD (1ULL << 21)
#define VMX_EPT_CAP_INVEPT_SINGLE (1ULL << 25)
#define VMX_EPT_CAP_INVEPT_ALL (1ULL << 26)
#define VMX_VPID_CAP_INVVPID (1ULL << 32)
/* IA32_VMX_BASIC (SDM 3D, A.1). */
#define VMX_BASIC_REVISION(b) ((uint32_t)(b) & 0x7fffffff)
#define VMX_BASIC_TRUE_CTLS (1ULL << 55)

struct vmx_caps {
	bool vmx;           /* CPUID.1:ECX.VMX */
	bool ept, vpid, unrestricted, ept_2m, ept_1g, ept_ad, ept_wb, ept_walk4;
	bool invept, invept_single, invept_all;
	uint64_t basic, procbased, procbased2, ept_vpid_cap, misc;
};

void vmx_probe(struct vmx_caps *c);
/*
 * Print the "# probe: vmx=... ept=..." lines that every test run starts with,
 * whatever tests= selects: scripts/test.sh reads them to know what the CPU
 * offers (a VMX test may not skip where vmx=yes).
 */
void vmx_print_probe(void);

#endif
