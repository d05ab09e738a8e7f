/* What the CPU offers for the VMX issues: printed so every run documents its platform. */
#include "cpu.h"
#include "ktest.h"
#include "msr.h"
#include "vmx_caps.h"

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

KTEST(cpu_vmx_probe)
{
	struct vmx_caps c;

	vmx_probe(&c);
	printk("# probe: vmx=%s ept=%s vpid=%s unrestricted=%s ept_2m=%s ept_1g=%s ept_ad=%s "
	       "invept_single=%s invept_all=%s\n", yn(c.vmx), yn(c.ept), yn(c.vpid),
	       yn(c.unrestricted), yn(c.ept_2m), yn(c.ept_1g), yn(c.ept_ad), yn(c.invept_single),
	       yn(c.invept_all));
	if (!c.vmx) {
		/* Nothing may have been read from the VMX MSRs. */
		CHECK(!c.basic && !c.procbased && !c.ept_vpid_cap && !c.ept);
		return;
	}
	printk("# probe: IA32_VMX_BASIC=%#llx PROCBASED=%#llx PROCBASED2=%#llx EPT_VPID_CAP=%#llx "
	       "MISC=%#llx\n", (unsigned long long)c.basic, (unsigned long long)c.procbased,
	       (unsigned long long)c.procbased2, (unsigned long long)c.ept_vpid_cap,
	       (unsigned long long)c.misc);
	CHECK(VMX_BASIC_REVISION(c.basic) != 0, "VMCS revision id is 0");
	/* SDM 3D A.1: bits 44:32 give the VMXON/VMCS region size, at most 4 KiB. */
	uint64_t region = (c.basic >> 32) & 0x1fff;
	CHECK(region > 0 && region <= 4096, "VMCS region size %llu", (unsigned long long)region);
	if (c.ept)
		CHECK(c.ept_walk4 && c.ept_wb, "EPT without 4-level walk or write-back type");
}
