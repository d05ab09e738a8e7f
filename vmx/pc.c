/*
 * VMX's part of a multiboot1 guest's PC (virt/pc.c): control registers and
 * CS as the guest reads them, TSC offsetting, the syscall MSRs VMX does
 * not switch, and interrupt injection with interrupt-window exiting (SDM
 * 3C 26.6.5 "Interrupt-window exiting", 27.6 "Event injection").
 */
#include "vmx/exits.h"
#include "lib/lib.h"

uint64_t vmx_get_cr(struct vcpu *v, unsigned cr)
{
	if (cr == 3)
		return v->vm->shadow ? v->sh.cr3 : vmcs_readl(GUEST_CR3);
	/* Host-owned bits come from the read shadow, as vcpu_save_snapshot() shows them. */
	if (cr == 0)
		return (vmcs_readl(GUEST_CR0) & ~vmcs_readl(CR0_GUEST_HOST_MASK)) |
		       (vmcs_readl(CR0_READ_SHADOW) & vmcs_readl(CR0_GUEST_HOST_MASK));
	return (vmcs_readl(GUEST_CR4) & ~vmcs_readl(CR4_GUEST_HOST_MASK)) |
	       (vmcs_readl(CR4_READ_SHADOW) & vmcs_readl(CR4_GUEST_HOST_MASK));
}

uint64_t vmx_get_rflags(struct vcpu *v)
{
	(void)v;
	return vmcs_readl(GUEST_RFLAGS);
}

uint64_t vmx_cs_base(struct vcpu *v, bool *long64)
{
	/* Access rights bit 13 is L (25.4.1, table 25-2). */
	*long64 = (vmx_get_msr(v, MSR_EFER) & EFER_LMA) &&
		  (vmcs_read32(GUEST_CS_AR_BYTES) & (1u << 13));
	return vmcs_readl(GUEST_CS_BASE);
}

void vmx_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
	(void)v;
	vmcs_write64(TSC_OFFSET, offset);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
		     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | CPU_USE_TSC_OFFSETTING);
}

bool vmx_irq_ready(struct vcpu *v, bool nmi)
{
	uint32_t st = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);

	(void)v;
	if (vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID)
		return false;
	if (nmi) /* NMI blocking: minihv has no NMI window, it waits for the interrupt one */
		return !(st & (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_MOV_SS));
	return !(st & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) &&
	       (vmcs_readl(GUEST_RFLAGS) & X86_RFLAGS_IF);
}

void vmx_inject_irq(struct vcpu *v, int vector)
{
	uint32_t info = vector == -2 ? X86_EXC_NMI | INTR_TYPE_NMI << 8
				     : (uint32_t)vector | INTR_TYPE_EXT_INTR << 8;

	(void)v;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info | INTR_INFO_VALID);
}

/*
 * An exit once the guest can take it: interrupt-window exiting, or for an
 * NMI, NMI-window exiting where the CPU has virtual NMIs (which track NMI
 * blocking in the interruptibility state and end it at IRET, 25.3; 26.6.5).
 */
void vmx_irq_window(struct vcpu *v, bool nmi)
{
	uint32_t bit = nmi && (vmcs_read32(PIN_BASED_VM_EXEC_CONTROL) & PIN_VIRTUAL_NMIS)
			       ? CPU_NMI_WINDOW_EXITING : CPU_INTR_WINDOW_EXITING;

	(void)v;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | bit);
}

/* The window opened: pc_before_entry() injects what waits. */
void vmx_handle_intr_window(struct vcpu *v)
{
	(void)v;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) &
						     ~(CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING));
}

/*
 * STAR, LSTAR, CSTAR, FMASK and KERNEL_GS_BASE: no VMCS field switches
 * them, and the host uses none (no SYSCALL, no SWAPGS), so the guest's
 * stay in the CPU while its vCPU runs there, loaded when vcpu_run() starts.
 */
static const uint32_t syscall_msrs[PC_SYSCALL_MSRS] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
};

int vmx_syscall_msr(uint32_t msr)
{
	for (unsigned i = 0; i < PC_SYSCALL_MSRS; i++)
		if (syscall_msrs[i] == msr)
			return (int)i;
	return -1;
}

void vmx_load_syscall_msrs(struct vcpu *v)
{
	for (unsigned i = 0; i < PC_SYSCALL_MSRS; i++)
		wrmsr(syscall_msrs[i], v->pcm.syscall[i]);
	wrmsr(MSR_TSC_AUX, v->pcm.tsc_aux);
}
