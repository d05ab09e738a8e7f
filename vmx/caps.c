#include "vmx/vmx_caps.h"
#include "vmx/vmcs_defs.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

void vmx_probe(struct vmx_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->vmx = cpuid(1).ecx & CPUID_1_ECX_VMX;
	if (!c->vmx)
		return;
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->procbased = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	/* Allowed-1 settings are the high 32 bits of a capability MSR. */
	if (!((c->procbased >> 32) & CPU_SECONDARY_CONTROLS))
		return;
	c->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
	uint32_t allowed2 = (uint32_t)(c->procbased2 >> 32);
	c->ept = allowed2 & CPU2_ENABLE_EPT;
	c->vpid = allowed2 & CPU2_ENABLE_VPID;
	c->unrestricted = allowed2 & CPU2_UNRESTRICTED_GUEST;
	if (!c->ept && !c->vpid)
		return;
	c->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	uint64_t cap = c->ept_vpid_cap;
	c->ept_walk4 = c->ept && (cap & VMX_EPT_CAP_WALK4);
	c->ept_wb = c->ept && (cap & VMX_EPT_CAP_WB);
	c->ept_2m = c->ept && (cap & VMX_EPT_CAP_2M);
	c->ept_1g = c->ept && (cap & VMX_EPT_CAP_1G);
	c->ept_ad = c->ept && (cap & VMX_EPT_CAP_AD);
	c->invept = c->ept && (cap & VMX_EPT_CAP_INVEPT);
	c->invept_single = c->invept && (cap & VMX_EPT_CAP_INVEPT_SINGLE);
	c->invept_all = c->invept && (cap & VMX_EPT_CAP_INVEPT_ALL);
}

void vmx_print_probe(void)
{
	struct vmx_caps c;

	vmx_probe(&c);
	printk("# probe: vmx=%s ept=%s vpid=%s unrestricted=%s ept_2m=%s ept_1g=%s ept_ad=%s "
	       "invept_single=%s invept_all=%s\n", yes_no(c.vmx), yes_no(c.ept), yes_no(c.vpid),
	       yes_no(c.unrestricted), yes_no(c.ept_2m), yes_no(c.ept_1g), yes_no(c.ept_ad),
	       yes_no(c.invept_single), yes_no(c.invept_all));
	if (c.vmx)
		printk("# probe: IA32_VMX_BASIC=%#llx PROCBASED=%#llx PROCBASED2=%#llx "
		       "EPT_VPID_CAP=%#llx MISC=%#llx\n", (unsigned long long)c.basic,
		       (unsigned long long)c.procbased, (unsigned long long)c.procbased2,
		       (unsigned long long)c.ept_vpid_cap, (unsigned long long)c.misc);
}
