/* What the CPU offers for VMX, checked for consistency (ktest_run prints it for every run). */
#include "arch/x86/cpu.h"
#include "lib/ktest.h"
#include "arch/x86/msr.h"
#include "vmx/vmx_caps.h"

KTEST(cpu_vmx_probe)
{
	struct vmx_caps c;

	vmx_probe(&c); /* ktest_run printed the same facts as "# probe:" lines */
	if (!c.vmx) {
		/* Nothing may have been read from the VMX MSRs. */
		CHECK(!c.basic && !c.procbased && !c.ept_vpid_cap && !c.ept);
		return;
	}
	CHECK(VMX_BASIC_REVISION(c.basic) != 0, "VMCS revision id is 0");
	/* SDM 3D A.1: bits 44:32 give the VMXON/VMCS region size, at most 4 KiB. */
	uint64_t region = (c.basic >> 32) & 0x1fff;
	CHECK(region > 0 && region <= 4096, "VMCS region size %llu", (unsigned long long)region);
	if (c.ept)
		CHECK(c.ept_walk4 && c.ept_wb, "EPT without 4-level walk or write-back type");
}
