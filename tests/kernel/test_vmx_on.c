/* VMXON/VMXOFF on the real (emulated) CPU; skips only where CPUID has no VMX. */
#include "arch/x86/cpu.h"
#include "lib/kerrno.h"
#include "lib/ktest.h"
#include "boot/loader.h"
#include "vmx/vmx.h"

KTEST(vmx_on_off)
{
	struct vmx_cpu *c = &this_cpu;
	char why[200];
	bool was_on = c->on;

	/* Earlier guest tests may have left VMX on: start from off. */
	vmx_disable(c);
	int r = vmx_enable(c, why, sizeof(why));
	if (r == -ENODEV) {
		ktest_skip("%s", why); /* "no VMX: ..." */
		return;
	}
	if (!CHECK(r == 0, "vmx_enable: %d: %s", r, why))
		return;
	CHECK(read_cr4() & X86_CR4_VMXE);
	CHECK_EQ(vmx_enable(c, why, sizeof(why)), -EBUSY);
	vmx_disable(c);
	CHECK(!(read_cr4() & X86_CR4_VMXE), "CR4.VMXE still set after VMXOFF");
	/* A second round trip works: nothing was left behind. */
	CHECK_EQ(vmx_enable(c, why, sizeof(why)), 0);
	if (!was_on)
		vmx_disable(c);
}
