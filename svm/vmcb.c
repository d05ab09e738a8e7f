/*
 * A vCPU's VMCB: the intercepts, the permission maps, nested paging with the
 * VM's tables and its ASID, and the guest's entry state of guest/ABI.md (64-bit
 * mode, paging on with the loader's CR3, flat segments), as VMRUN's
 * consistency checks want it (APM vol. 2, 15.5.1).
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

#define GUEST_PAT_DEFAULT 0x0007040600070406ULL /* the power-on PAT (SDM 3A, 13.12.4) */

static void setup_controls(struct vcpu *v)
{
	/* Exceptions are recorded, then re-delivered (svm/exception.c); #UD may be a VMCALL. */
	vmcb_write32(v, VMCB_INTERCEPT_EXC, svm_exc_intercepts());
	/*
	 * INVD, WBINVD and XSETBV exit, as on VMX (INVD and XSETBV exit there
	 * unconditionally): run in the guest, INVD would drop the host's dirty
	 * cache lines and XSETBV would leave the guest's XCR0 in force after
	 * #VMEXIT, which does not switch XCR0 (APM vol. 2, 15.5.1, 15.9).
	 */
	vmcb_write32(v, VMCB_INTERCEPT_MISC1, SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI |
			     SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT | SVM_INTERCEPT_INVLPGA |
			     SVM_INTERCEPT_IOIO | SVM_INTERCEPT_MSR | SVM_INTERCEPT_SHUTDOWN |
			     SVM_INTERCEPT_INVD);
	/* The SVM instructions are not the guest's: SVM is hidden from its CPUID. */
	vmcb_write32(v, VMCB_INTERCEPT_MISC2, SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL |
			     SVM_INTERCEPT_VMLOAD | SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI |
			     SVM_INTERCEPT_CLGI | SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_MONITOR |
			     SVM_INTERCEPT_MWAIT | SVM_INTERCEPT_WBINVD | SVM_INTERCEPT_XSETBV);
	vmcb_write64(v, VMCB_IOPM_BASE, svm_this_cpu.iopm_pa);
	vmcb_write64(v, VMCB_MSRPM_BASE, svm_this_cpu.msrpm_pa);
	/* VMCB_ASID: handed out before each VMRUN (svm_vcpu_run(), svm/asid.c). */
	vmcb_write64(v, VMCB_VINTR, SVM_V_INTR_MASKING);
	if (v->vm->shadow) {
		/*
		 * Shadow paging: the guest's CR0 and CR3 reads and writes, CR4
		 * writes and INVLPG exit (virt/shadow.c); CR0 reads too, as the
		 * CPU runs with WP set whatever the guest chose.
		 */
		vmcb_write32(v, VMCB_INTERCEPT_CR, SVM_CR_READ(0) | SVM_CR_READ(3) | SVM_CR_WRITE(0) |
						     SVM_CR_WRITE(3) | SVM_CR_WRITE(4));
		vmcb_write32(v, VMCB_INTERCEPT_MISC1,
			     vmcb_read32(v, VMCB_INTERCEPT_MISC1) | SVM_INTERCEPT_INVLPG);
		return;
	}
	vmcb_write64(v, VMCB_NP_ENABLE, 1);
	vmcb_write64(v, VMCB_NCR3, v->vm->ept.root);
}

/* 64-bit mode, paging on with the loader's tables (guest/ABI.md). */
static void setup_long(struct vcpu *v, const struct vcpu_entry *e)
{
	vmcb_write64(v, VMCB_CR0, VCPU_ENTRY_CR0);
	vmcb_write64(v, VMCB_CR3, e->cr3);
	vmcb_write64(v, VMCB_CR4, VCPU_ENTRY_CR4);
	/* EFER.SVME must be set in the guest's EFER too, or VMRUN fails (15.5.1). */
	vmcb_write64(v, VMCB_EFER, EFER_LME | EFER_LMA | EFER_SVME);
	vmcb_write_seg(v, VMCB_CS, GDT_KERNEL_CS, SVM_ATTR_CODE64, 0xffffffff, 0);
	for (unsigned s = VMCB_ES; s <= VMCB_GS; s += VMCB_SEG_SIZE)
		if (s != VMCB_CS)
			vmcb_write_seg(v, s, GDT_KERNEL_DS, SVM_ATTR_DATA, 0xffffffff, 0);
	vmcb_write_seg(v, VMCB_TR, GDT_TSS, SVM_ATTR_TSS64_BUSY, sizeof(struct tss64) - 1, 0);
}

/*
 * A multiboot1 kernel's entry (Multiboot 0.6.96, 3.2): protected mode with
 * paging off, flat 4 GiB segments, A20 on. With nested paging the CPU runs
 * a paging-off guest as it is, and every later mode change (PAE, EFER.LME,
 * CR0.PG) is the guest's own: nothing intercepts them (APM vol. 2, 15.19).
 */
static void setup_prot32(struct vcpu *v, const struct vcpu_entry *e)
{
	vmcb_write64(v, VMCB_CR0, X86_CR0_PE | X86_CR0_ET);
	vmcb_write64(v, VMCB_CR3, 0);
	vmcb_write64(v, VMCB_CR4, 0);
	vmcb_write64(v, VMCB_EFER, EFER_SVME);
	vmcb_write_seg(v, VMCB_CS, GDT_KERNEL_CS, SVM_ATTR_CODE32, 0xffffffff, 0);
	for (unsigned s = VMCB_ES; s <= VMCB_GS; s += VMCB_SEG_SIZE)
		if (s != VMCB_CS)
			vmcb_write_seg(v, s, GDT_KERNEL_DS, SVM_ATTR_DATA, 0xffffffff, 0);
	vmcb_write_seg(v, VMCB_TR, 0, SVM_ATTR_TSS32_BUSY, 0xffff, 0);
	v->regs.rbx = e->rbx;
}

/* An AP after INIT and SIPI (SDM 3A, 9.1.1 table 9-1; 9.4.4): real mode at vector << 12. */
static void setup_real(struct vcpu *v, const struct vcpu_entry *e)
{
	vmcb_write64(v, VMCB_CR0, X86_CR0_ET | X86_CR0_CD | X86_CR0_NW);
	vmcb_write64(v, VMCB_CR3, 0);
	vmcb_write64(v, VMCB_CR4, 0);
	vmcb_write64(v, VMCB_EFER, EFER_SVME);
	vmcb_write_seg(v, VMCB_CS, (uint16_t)(e->rip >> 4), SVM_ATTR_CODE16, 0xffff, e->rip);
	for (unsigned s = VMCB_ES; s <= VMCB_GS; s += VMCB_SEG_SIZE)
		if (s != VMCB_CS)
			vmcb_write_seg(v, s, 0, SVM_ATTR_DATA16, 0xffff, 0);
	vmcb_write_seg(v, VMCB_TR, 0, SVM_ATTR_TSS32_BUSY, 0xffff, 0);
}

static void setup_guest_state(struct vcpu *v, const struct vcpu_entry *e)
{
	uint64_t rip = e->rip;

	if (e->mode == VCPU_ENTRY_PROT32)
		setup_prot32(v, e);
	else if (e->mode == VCPU_ENTRY_REAL)
		setup_real(v, e), rip = 0;
	else
		setup_long(v, e);
	vmcb_write_seg(v, VMCB_LDTR, 0, 0, 0, 0);
	/* No IDT: any guest exception escalates to a triple fault, a shutdown exit. */
	vmcb_write_seg(v, VMCB_GDTR, 0, 0, e->mode == VCPU_ENTRY_REAL ? 0xffff : 0, 0);
	vmcb_write_seg(v, VMCB_IDTR, 0, 0, e->mode == VCPU_ENTRY_REAL ? 0x3ff : 0, 0);
	vmcb_write8(v, VMCB_CPL, 0);
	vmcb_write64(v, VMCB_RIP, rip);
	vmcb_write64(v, VMCB_RSP, e->rsp);
	vmcb_write64(v, VMCB_RFLAGS, VCPU_ENTRY_RFLAGS);
	vmcb_write64(v, VMCB_DR6, 0xffff0ff0);
	vmcb_write64(v, VMCB_DR7, VCPU_ENTRY_DR7);
	vmcb_write64(v, VMCB_G_PAT, GUEST_PAT_DEFAULT);
	vmcb_write64(v, VMCB_EVENTINJ, 0);
	v->regs.rax = e->mode == VCPU_ENTRY_PROT32 ? e->rax : 0;
}

void vmcb_reset_guest(struct vcpu *v, const struct vcpu_entry *e)
{
	setup_guest_state(v, e);
}

void vmcb_setup(struct vcpu *v, const struct vcpu_entry *e)
{
	memset(vmcb(v), 0, PAGE_SIZE);
	setup_controls(v);
	setup_guest_state(v, e);
}
