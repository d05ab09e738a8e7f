#include "vmx/vmx.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* A control register value is allowed if it has every FIXED0 bit and no bit outside FIXED1. */
static bool cr_fixed_ok(unsigned long v, uint64_t fixed0, uint64_t fixed1)
{
	return (v & fixed0) == fixed0 && (v & ~fixed1) == 0;
}

struct vmx_cpu vmx_cpus[NR_CPUS];

int hv_ready(char *why, size_t len)
{
	if (this_cpu.on)
		return 0;
	return vmx_enable(&this_cpu, why, len);
}

/* SDM 3C 24.7: VMXON outside SMX needs IA32_FEATURE_CONTROL bits 0 and 2. */
static int feature_control_ok(char *why, size_t len)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (fc & FEATURE_CONTROL_LOCKED) {
		if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
			ksnprintf(why, len, "IA32_FEATURE_CONTROL is locked with VMX outside SMX "
				  "disabled (%#llx): enable VT-x in the firmware",
				  (unsigned long long)fc);
			return -EPERM;
		}
	} else {
		/* Unlocked (no firmware set-up, as in emulators): enable and lock it. */
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCKED);
	}
	return 0;
}

/* SDM 3C 24.8: CR0 and CR4 as IA32_VMX_CR0/CR4_FIXED0/1 require them in VMX operation. */
static int fixed_crs(struct vmx_cpu *c, unsigned long *cr0, unsigned long *cr4, char *why,
		     size_t len)
{
	c->saved_cr0 = read_cr0();
	c->saved_cr4 = read_cr4();
	uint64_t f0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0), f1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	*cr0 = (c->saved_cr0 | f0) & f1;
	if (!cr_fixed_ok(*cr0, f0, f1) || !(*cr0 & X86_CR0_PG)) {
		ksnprintf(why, len, "CR0 %#lx cannot meet IA32_VMX_CR0_FIXED0/1 (%#llx/%#llx)",
			  c->saved_cr0, (unsigned long long)f0, (unsigned long long)f1);
		return -EINVAL;
	}
	f0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	f1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	*cr4 = (c->saved_cr4 | f0 | X86_CR4_VMXE) & f1;
	if (!cr_fixed_ok(*cr4, f0, f1) || !(*cr4 & X86_CR4_VMXE)) {
		ksnprintf(why, len, "CR4 %#lx cannot meet IA32_VMX_CR4_FIXED0/1 (%#llx/%#llx)",
			  c->saved_cr4, (unsigned long long)f0, (unsigned long long)f1);
		return -EINVAL;
	}
	return 0;
}

int vmx_enable(struct vmx_cpu *c, char *why, size_t len)
{
	if (c->on) {
		ksnprintf(why, len, "VMX is already on for this CPU");
		return -EBUSY;
	}
	vmx_probe(&c->caps);
	if (!c->caps.vmx) {
		ksnprintf(why, len, "no VMX: CPUID.1:ECX.VMX[bit 5] is clear");
		return -ENODEV;
	}

	unsigned long cr0, cr4;
	int err = feature_control_ok(why, len);

	if (!err)
		err = fixed_crs(c, &cr0, &cr4, why, len);
	if (err)
		return err;

	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &c->vmxon_pa)) {
		ksnprintf(why, len, "no memory for the VMXON region");
		return -ENOMEM;
	}
	void *region = phys_to_virt(c->vmxon_pa);
	memset(region, 0, PAGE_SIZE);
	/* SDM 3C 25.11.5: the region starts with the VMCS revision identifier. */
	*(uint32_t *)region = VMX_BASIC_REVISION(c->caps.basic);

	write_cr0(cr0);
	write_cr4(cr4);
	if (vmxon(c->vmxon_pa)) {
		write_cr4(c->saved_cr4);
		write_cr0(c->saved_cr0);
		frame_free(&phys_frames, c->vmxon_pa, FRAME_ORDER_4K);
		ksnprintf(why, len, "VMXON failed (VMfail) with region %#llx",
			  (unsigned long long)c->vmxon_pa);
		return -EIO;
	}
	c->on = true;
	return 0;
}

void vmx_disable(struct vmx_cpu *c)
{
	if (!c->on)
		return;
	vmxoff();
	write_cr4(c->saved_cr4);
	write_cr0(c->saved_cr0);
	frame_free(&phys_frames, c->vmxon_pa, FRAME_ORDER_4K);
	c->on = false;
}
