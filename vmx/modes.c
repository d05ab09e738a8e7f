/*
 * Guest-driven mode changes on VMX with EPT: a vCPU entered in real or
 * 32-bit protected mode (unrestricted guest, vmx/vmcs_setup.c) that turns
 * paging on. The CPU does not make the "IA-32e mode guest" entry control
 * or EFER.LMA follow the guest's CR0.PG (SDM 3C 26.3.1.1: entry checks
 * them against each other), so CR0.PG is the host's (the CR0 guest/host
 * mask): each change of it exits here, and long mode is activated or
 * left as a CPU does it (SDM 3A 10.8.5), the guest reading CR0 as written.
 */
#include "vmx/exits.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmcs.h"
#include "ept/vm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

#define AR_L (1u << 13) /* a segment's access rights: 64-bit code (SDM 3C 24.4.1) */

/*
 * Deliver #GP(0) on the next entry, as the CPU would (no error code in real
 * mode), recorded and with RF set in the pushed RFLAGS, as for a fault the
 * CPU raised (vmx_raise(); kvm-unit-tests' idt_test checks RF).
 */
static void inject_gp(struct vcpu *v)
{
	struct exc_event e = { .vector = X86_EXC_GP, .type = INTR_TYPE_HARD_EXCEPTION,
			       .has_error = (vmcs_readl(GUEST_CR0) & X86_CR0_PE) != 0 };

	vmx_raise(v, &e);
}

static void set_long_mode(struct vcpu *v, bool on)
{
	uint64_t efer = vmx_get_msr(v, MSR_EFER) & ~EFER_LMA;
	uint32_t entry = vmcs_read32(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE;

	vmx_write_efer(v, efer | (on ? EFER_LMA : 0));
	vmcs_write32(VM_ENTRY_CONTROLS, entry | (on ? ENTRY_IA32E_MODE : 0));
}

/* MOV to CR0 (or LMSW, CLTS) of @val; false if the guest takes #GP or stopped. */
static bool mode_write_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t mask = vmcs_readl(CR0_GUEST_HOST_MASK);
	uint64_t old = (vmcs_readl(GUEST_CR0) & ~mask) | (vmcs_readl(CR0_READ_SHADOW) & mask);
	uint64_t efer = vmx_get_msr(v, MSR_EFER);
	bool pae = vmcs_readl(GUEST_CR4) & X86_CR4_PAE;

	/* SDM vol. 2, MOV to CR0: the #GP(0) cases that involve PG (the CPU checks the rest). */
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
		goto gp;
	if ((val & ~old) & X86_CR0_PG) {
		if ((efer & EFER_LME) && !pae)
			goto gp;
		if (!(efer & EFER_LME) && pae) {
			vcpu_stop(v, STOP_UNHANDLED, "MOV to CR0 %#llx at RIP %#llx: PAE paging "
				  "without long mode (its PDPTEs) is not emulated",
				  (unsigned long long)val, (unsigned long long)vmx_guest_rip(v));
			return false;
		}
		if (efer & EFER_LME)
			set_long_mode(v, true);
	} else if ((old & ~val) & X86_CR0_PG) {
		/* Leaving long mode is allowed from compatibility mode only (CS.L clear). */
		if ((efer & EFER_LMA) && (vmcs_read32(GUEST_CS_AR_BYTES) & AR_L))
			goto gp;
		set_long_mode(v, false);
	}
	vmcs_writel(CR0_READ_SHADOW, val);
	vmcs_writel(GUEST_CR0, vmx_guest_cr0_unrestricted(val));
	return true;
gp:
	inject_gp(v);
	return false;
}

void vmx_mode_write_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	/* Only a vCPU that owns CR0 but PG (and NE) exits for it: one entered outside long mode. */
	if (cr == 0 && (vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & CPU2_UNRESTRICTED_GUEST)) {
		if (mode_write_cr0(v, val))
			vmx_skip_instruction(v);
		return;
	}
	if (cr == 3) { /* a CPU that cannot clear CR3-load exiting (no TRUE controls) */
		vmcs_writel(GUEST_CR3, val);
		vmx_skip_instruction(v);
		return;
	}
	/*
	 * CR4 exits for the bits VMX owns (VMXE): a PC guest's CPUID offers no
	 * VMX, so its CPU would answer #GP(0) (kvm-unit-tests' idt_test writes
	 * CR4 0xffffffff and expects it); a flat guest stops, naming it.
	 */
	if (cr == 4 && v->pc) {
		inject_gp(v);
		return;
	}
	vcpu_stop(v, STOP_UNHANDLED, "MOV to CR%u (%#llx) at RIP %#llx is not emulated%s", cr,
		  (unsigned long long)val, (unsigned long long)vmx_guest_rip(v),
		  cr == 4 && (val & X86_CR4_VMXE) ? " (CR4.VMXE: minihv offers no nested VMX)" : "");
}
