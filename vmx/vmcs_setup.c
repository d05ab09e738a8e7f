/*
 * VMCS set-up for a 64-bit guest. Every control is computed from the
 * capability MSRs (the TRUE_* ones when IA32_VMX_BASIC[55] says they exist):
 * bits the CPU requires are forced on, optional ones are requested only
 * where allowed, and a missing required feature refuses with its name.
 */
#include "vmx/vcpu.h"
#include "vmx/vmcs_setup.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"
#include "guest/hypercall.h"

/* The guest's entry state is virt/vcpu.h's; VMX adds CR4.VMXE, hidden by the read shadow. */
/* CR4 bits a change of which must exit under shadow paging (the paging mode). */
#define VMX_SHADOW_CR4_OWNED \
	(X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PGE | X86_CR4_LA57 | X86_CR4_PCIDE | X86_CR4_SMEP | \
	 X86_CR4_SMAP | X86_CR4_PKE)
/* Each watchdog slice lasts this many preemption-timer ticks (TSC >> MISC[4:0]). */
/* ... or, without that timer, this many local APIC timer clocks (vmx/vcpu.c). */
#define VMX_LAPIC_SLICE 0x400000u
#define TIMER_SLICE 0x100000u

/*
 * Apply a capability MSR to a control: allowed-0 settings (low half) are
 * forced to 1, allowed-1 settings (high half) bound what may be 1. Fails if
 * a @required bit is not allowed.
 */
static int adjust_controls(uint32_t want, uint32_t required, uint32_t msr, const char *what,
			   uint32_t *out, char *err, size_t errlen)
{
	uint64_t cap = rdmsr(msr);
	uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);

	if ((required & may) != required) {
		ksnprintf(err, errlen, "%s: required bits %#x not supported (allowed-1 %#x)", what,
			  required & ~may, may);
		return -EOPNOTSUPP;
	}
	*out = ((want | required) & may) | must;
	return 0;
}

/* The five execution controls, as this CPU's allowed-0/1 settings adjust them. */
struct vmx_controls {
	uint32_t pin, cpu, cpu2, exit, entry;
};

/* 0, or -EOPNOTSUPP with the control and the bits this CPU refuses in @err. */
static int pick_controls(const struct vmx_caps *c, bool shadow, struct vmx_controls *k,
			 char *err, size_t errlen)
{
	bool true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	int r;

	*k = (struct vmx_controls){ 0 };
	if (!c->ept && !shadow) {
		ksnprintf(err, errlen, "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 bit 1)");
		return -EOPNOTSUPP;
	}
	/* Virtual NMIs: the CPU tracks a PC guest's NMI blocking (vmx/pc.c). */
	r = adjust_controls(PIN_NMI_EXITING | PIN_EXT_INTR_EXITING | PIN_PREEMPTION_TIMER |
				    PIN_VIRTUAL_NMIS, 0,
			    true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
			    "pin-based controls", &k->pin, err, errlen);
	if (!r)
		/*
		 * MWAIT could park the CPU in a deep C-state where the preemption
		 * timer stops and no interrupt ever comes: both must exit.
		 */
		r = adjust_controls(CPU_HLT_EXITING | CPU_UNCOND_IO_EXITING,
				    CPU_SECONDARY_CONTROLS | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING |
				    (shadow ? CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING |
					      CPU_INVLPG_EXITING : 0),
				    true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					      : MSR_IA32_VMX_PROCBASED_CTLS,
				    "processor-based controls", &k->cpu, err, errlen);
	/* CR3 accesses need no exits with EPT: clear them where the CPU lets us. */
	if (!shadow)
		k->cpu &= ~((CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING) &
		 ~(uint32_t)rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
					    : MSR_IA32_VMX_PROCBASED_CTLS));
	if (!r)
		/*
		 * RDTSCP (and RDPID) and INVPCID raise #UD in VMX non-root
		 * operation unless enabled (SDM 3C 25.6.2): CPUID offers them.
		 */
		r = adjust_controls((c->vpid ? CPU2_ENABLE_VPID : 0) | CPU2_ENABLE_RDTSCP |
					    CPU2_ENABLE_INVPCID, shadow ? 0 : CPU2_ENABLE_EPT,
				    MSR_IA32_VMX_PROCBASED_CTLS2, "secondary controls", &k->cpu2, err,
				    errlen);
	if (!r)
		r = adjust_controls(EXIT_SAVE_EFER | EXIT_LOAD_EFER, EXIT_HOST_ADDR_SPACE_SIZE,
				    true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
				    "VM-exit controls", &k->exit, err, errlen);
	if (!r)
		r = adjust_controls(ENTRY_LOAD_EFER, ENTRY_IA32E_MODE,
				    true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS
					      : MSR_IA32_VMX_ENTRY_CTLS,
				    "VM-entry controls", &k->entry, err, errlen);
	return r;
}

/* MSR-list entries (SDM 3C 25.7.2): index, reserved, value. */
struct vmx_msr_entry {
	uint32_t index, reserved;
	uint64_t value;
};

/*
 * A CPU without the EFER controls (Core 2: Penryn has neither) switches
 * EFER through the MSR lists instead, as KVM does: the entry list loads
 * the guest's, the exit store list saves it into the same slot, and the
 * exit load list restores the host's.
 */
static int setup_efer_lists(struct vcpu *v, char *err, size_t errlen)
{
	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &v->hw.msr_pa)) {
		ksnprintf(err, errlen, "no memory for the EFER MSR lists");
		return -ENOMEM;
	}
	struct vmx_msr_entry *l = phys_to_virt(v->hw.msr_pa);

	memset(l, 0, PAGE_SIZE);
	l[0] = (struct vmx_msr_entry){ MSR_EFER, 0, EFER_LME | EFER_LMA };
	l[1] = (struct vmx_msr_entry){ MSR_EFER, 0, rdmsr(MSR_EFER) };
	vmcs_write64(VM_ENTRY_MSR_LOAD_ADDR, v->hw.msr_pa);
	vmcs_write64(VM_EXIT_MSR_STORE_ADDR, v->hw.msr_pa);
	vmcs_write64(VM_EXIT_MSR_LOAD_ADDR, v->hw.msr_pa + sizeof(*l));
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 1);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 1);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 1);
	return 0;
}

int vmcs_setup_controls(struct vcpu *v, char *err, size_t errlen)
{
	struct vmx_controls k;
	bool shadow = v->vm->shadow;
	int r = pick_controls(&this_cpu.caps, shadow, &k, err, errlen);

	if (r)
		return r;

	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, k.pin);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, k.cpu);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, k.cpu2);
	bool efer_ctls = (k.exit & EXIT_LOAD_EFER) && (k.entry & ENTRY_LOAD_EFER);
	if (!efer_ctls) {
		k.exit &= ~(EXIT_LOAD_EFER | EXIT_SAVE_EFER);
		k.entry &= ~ENTRY_LOAD_EFER;
	}
	vmcs_write32(VM_EXIT_CONTROLS, k.exit);
	vmcs_write32(VM_ENTRY_CONTROLS, k.entry);
	vcpu_exc_setup(); /* guest exceptions are recorded, then re-delivered */
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	if (!efer_ctls && (r = setup_efer_lists(v, err, errlen)))
		return r;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);
	if (!shadow)
		vmcs_write64(EPT_POINTER, ept_pointer(v->vm->ept.root, v->vm->ept_ad));
	v->hw.vpid = (k.cpu2 & CPU2_ENABLE_VPID) ? (uint16_t)(v->vm->id + 1) : 0;
	if (v->hw.vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, v->hw.vpid); /* 0 is the host's */
	/*
	 * The guest owns CR4 except VMXE, which it reads as clear. Under
	 * shadow paging the paging bits are the host's too: the guest reads
	 * its own values (virt/shadow.c). CR0's mask and both read shadows
	 * depend on the entry mode: vmcs_setup_guest_state().
	 */
	vmcs_writel(CR4_GUEST_HOST_MASK, X86_CR4_VMXE | (shadow ? VMX_SHADOW_CR4_OWNED : 0));
	if (k.pin & PIN_PREEMPTION_TIMER) {
		/*
		 * Written once: without the "save VMX-preemption timer value" exit
		 * control the field keeps this value, so every entry starts a full
		 * slice with no VMWRITE on the exit path (make bench).
		 */
		v->hw.timer_value = TIMER_SLICE;
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, v->hw.timer_value);
	} else {
		v->hw.timer_value = VMX_LAPIC_SLICE; /* vmx/vcpu.c counts its interrupts */
		v->hw.lapic_watchdog = true;
	}
	return 0;
}

void vmcs_setup_host_state(const struct vcpu *v)
{
	vmcs_writel(HOST_CR0, read_cr0());
	vmcs_writel(HOST_CR3, read_cr3());
	vmcs_writel(HOST_CR4, read_cr4());
	vmcs_write16(HOST_CS_SELECTOR, GDT_KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_DS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_ES_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writel(HOST_FS_BASE, 0);
	vmcs_writel(HOST_GS_BASE, rdmsr(MSR_GS_BASE)); /* per-CPU data (arch/x86/percpu.h) */
	vmcs_writel(HOST_TR_BASE, tss_base());
	vmcs_writel(HOST_GDTR_BASE, gdt_base());
	vmcs_writel(HOST_IDTR_BASE, idt_base());
	vmcs_write32(HOST_IA32_SYSENTER_CS, 0);
	vmcs_writel(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writel(HOST_IA32_SYSENTER_EIP, 0);
	if (!v->hw.msr_pa) /* else the exit's MSR list restores it */
		vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_writel(HOST_RIP, (uint64_t)vmx_exit_entry);
}

uint64_t vmx_guest_cr0(uint64_t cr0)
{
	return (cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
}

uint64_t vmx_guest_cr4(uint64_t cr4)
{
	/* VMXE is one of FIXED0's bits (SDM 3C 24.8); said here too, as the read shadow hides it. */
	return (cr4 | X86_CR4_VMXE | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) & rdmsr(MSR_IA32_VMX_CR4_FIXED1);
}

/*
 * CR0 under unrestricted guest (SDM 3C 24.6.2, 26.3.1.1; 3D A.7): PE and
 * PG may be 0, the other IA32_VMX_CR0_FIXED0 bits (NE) stay fixed.
 */
uint64_t vmx_guest_cr0_unrestricted(uint64_t cr0)
{
	uint64_t fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(X86_CR0_PE | X86_CR0_PG);

	return (cr0 | fixed0) & rdmsr(MSR_IA32_VMX_CR0_FIXED1);
}

uint64_t vmx_mode_cr0_mask(void)
{
	return X86_CR0_PG | (rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(X86_CR0_PE | X86_CR0_PG));
}

int vmx_entry_mode_ok(const struct vcpu *v, enum vcpu_entry_mode mode, char *err, size_t errlen)
{
	const char *name = mode == VCPU_ENTRY_REAL ? "real mode" : "32-bit protected mode";

	if (mode == VCPU_ENTRY_LONG)
		return 0;
	if (mode != VCPU_ENTRY_PROT32 && mode != VCPU_ENTRY_REAL) {
		ksnprintf(err, errlen, "entry mode %d is not one minihv knows", (int)mode);
		return -EINVAL;
	}
	/* Unrestricted guest needs EPT (SDM 3C 26.2.1.1): a CPU without EPT has neither. */
	if (!this_cpu.caps.unrestricted) {
		ksnprintf(err, errlen, "no unrestricted guest (IA32_VMX_PROCBASED_CTLS2 bit 7): "
			  "VMX cannot enter a guest in %s", name);
		return -EOPNOTSUPP;
	}
	/*
	 * Unrestricted guest needs EPT on: with mmu=shadow the CPU checks
	 * CR0.PE and PG as without it, so neither real mode nor paging off can
	 * be entered (SVM shadow paging runs them, on an identity map).
	 */
	if (v->vm->shadow) {
		ksnprintf(err, errlen, "mmu=shadow on VMX: no unrestricted guest without EPT, so "
			  "%s (paging off) cannot run; VMX shadow paging runs 64-bit guests only",
			  name);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Segment access rights (SDM 3C 24.4.1) of the modes without a 64-bit CS. */
#define AR_CODE32 0xc09b   /* execute/read accessed code, present, D=1, G=1 */
#define AR_CODE16 0x009b   /* the same, 16-bit, byte granular: real mode's CS */
#define AR_DATA16 0x0093   /* read/write accessed data, 16-bit, byte granular */

/*
 * The mode's controls: unrestricted guest only for a vCPU entered outside
 * long mode, so that 64-bit guests run exactly as before (CR0.PE/PG fixed
 * to 1: a guest that clears them takes #GP, as it always did). Such a vCPU
 * owns CR0 except PG, whose changes minihv follows (vmx/modes.c), and the
 * bits VMX still fixes (NE), which it reads as it wrote them.
 */
static void load_mode_controls(const struct vcpu *v, enum vcpu_entry_mode mode, uint64_t cr0,
			       uint64_t cr4)
{
	bool lm = mode == VCPU_ENTRY_LONG;
	uint32_t cpu2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL) & ~CPU2_UNRESTRICTED_GUEST;
	uint32_t entry = vmcs_read32(VM_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE;
	uint64_t mask = 0;

	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, cpu2 | (lm ? 0 : CPU2_UNRESTRICTED_GUEST));
	vmcs_write32(VM_ENTRY_CONTROLS, entry | (lm ? ENTRY_IA32E_MODE : 0));
	if (v->vm->shadow) /* the guest reads its own paging bits while the CPU runs with WP */
		mask = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP;
	else if (!lm)
		mask = vmx_mode_cr0_mask();
	vmcs_writel(CR0_GUEST_HOST_MASK, mask);
	vmcs_writel(CR0_READ_SHADOW, cr0);
	vmcs_writel(CR4_READ_SHADOW, cr4);
	vmcs_writel(GUEST_CR0, lm ? vmx_guest_cr0(cr0) : vmx_guest_cr0_unrestricted(cr0));
	vmcs_writel(GUEST_CR4, vmx_guest_cr4(cr4));
	vmx_write_efer(v, lm ? EFER_LME | EFER_LMA : 0);
}

int vmcs_setup_guest_state(const struct vcpu *v, const struct vcpu_entry *e, char *err,
			   size_t errlen)
{
	bool real = e->mode == VCPU_ENTRY_REAL, lm = e->mode == VCPU_ENTRY_LONG;
	/* Multiboot 1 (3.2): PE set, PG clear, the rest is the OS's; real mode: ET as at INIT. */
	uint64_t cr0 = lm ? VCPU_ENTRY_CR0 : real ? X86_CR0_ET : X86_CR0_PE | X86_CR0_ET;
	uint64_t seg_limit = real ? 0xffff : 0xffffffff;
	int r = vmx_entry_mode_ok(v, e->mode, err, errlen);

	if (r)
		return r;
	load_mode_controls(v, e->mode, cr0, lm ? VCPU_ENTRY_CR4 : 0);
	vmcs_writel(GUEST_CR3, e->cr3);

	/* Real mode at a SIPI (SDM 3A 9.4.4): CS = vector << 8, its base vector << 12, IP 0. */
	vmcs_write16(GUEST_CS_SELECTOR, real ? (uint16_t)(e->rip >> 4) : GDT_KERNEL_CS);
	vmcs_writel(GUEST_CS_BASE, real ? e->rip : 0);
	vmcs_write32(GUEST_CS_LIMIT, seg_limit);
	vmcs_write32(GUEST_CS_AR_BYTES, lm ? AR_CODE64 : real ? AR_CODE16 : AR_CODE32);
#define DATA_SEG(S)                                                    \
	vmcs_write16(GUEST_##S##_SELECTOR, real ? 0 : GDT_KERNEL_DS);  \
	vmcs_writel(GUEST_##S##_BASE, 0);                              \
	vmcs_write32(GUEST_##S##_LIMIT, seg_limit);                    \
	vmcs_write32(GUEST_##S##_AR_BYTES, real ? AR_DATA16 : AR_DATA)
	DATA_SEG(SS);
	DATA_SEG(DS);
	DATA_SEG(ES);
	DATA_SEG(FS);
	DATA_SEG(GS);
#undef DATA_SEG
	/*
	 * A busy TSS is required for entry (type 11: a 64-bit one in long
	 * mode, a 32-bit one outside it); the guest never switches tasks.
	 */
	vmcs_write16(GUEST_TR_SELECTOR, real ? 0 : GDT_TSS);
	vmcs_writel(GUEST_TR_BASE, 0);
	vmcs_write32(GUEST_TR_LIMIT, sizeof(struct tss64) - 1);
	vmcs_write32(GUEST_TR_AR_BYTES, AR_TSS64_BUSY);
	vmcs_write16(GUEST_LDTR_SELECTOR, 0);
	vmcs_writel(GUEST_LDTR_BASE, 0);
	vmcs_write32(GUEST_LDTR_LIMIT, 0);
	vmcs_write32(GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
	/*
	 * No IDT: any guest exception escalates to a triple fault, which exits.
	 * Real mode starts as after INIT: the vector table at 0, limit 0xffff.
	 */
	vmcs_writel(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, real ? 0xffff : 0);
	vmcs_writel(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, real ? 0xffff : 0);

	vmcs_writel(GUEST_RIP, real ? 0 : e->rip);
	vmcs_writel(GUEST_RSP, lm ? e->rsp : (uint32_t)e->rsp);
	vmcs_writel(GUEST_RFLAGS, VCPU_ENTRY_RFLAGS);
	vmcs_writel(GUEST_DR7, VCPU_ENTRY_DR7);
	vmcs_writel(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, 0);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writel(GUEST_SYSENTER_ESP, 0);
	vmcs_writel(GUEST_SYSENTER_EIP, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	/* Loaded on entry when "load debug controls" is forced on (no TRUE controls). */
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	return 0;
}
