/*
 * The VMCB's side of shadow paging (the rest is virt/shadow.c): CR0, CR3
 * and CR4 as the CPU runs with them, and the CR-access and INVLPG exits.
 * Without DecodeAssists or next-RIP saving (QEMU's SVM has neither) the
 * exits say nothing about the instruction, so it is decoded from the
 * guest's memory (virt/insn.c), through the guest's own page tables.
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

#define SVM_EXIT_READ_CR0 0x00  /* + n: a read of CRn; SVM_EXIT_WRITE_CR0 + n: a write */
#define SVM_EXIT_WRITE_CR0 0x10

void svm_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw)
{
	(void)guest; /* the guest's reads of CR0 and CR3 exit: virt/shadow.c answers them */
	vmcb_write64(v, cr == 0 ? VMCB_CR0 : cr == 3 ? VMCB_CR3 : VMCB_CR4, hw);
}

void svm_set_rip(struct vcpu *v, uint64_t rip)
{
	vmcb_write64(v, VMCB_RIP, rip);
}

/* Decode the exiting instruction; false if the vCPU stopped, or must exit here again. */
static bool decode(struct vcpu *v, struct insn *in)
{
	char why[200];
	int r = vcpu_shadow_fetch_insn(v, in, why, sizeof(why));

	if (r == 0)
		return true;
	if (r == -EAGAIN)
		return false; /* the guest exits here again */
	vcpu_stop(v, STOP_UNHANDLED, "exit %#x: %s", v->last_exit_reason, why);
	return false;
}

static uint64_t *reg_of(struct vcpu *v, int gpr)
{
	/* RSP lives in the VMCB, the others in v->regs. */
	return gpr == 4 ? (uint64_t *)(vmcb(v) + VMCB_RSP) : vcpu_gpr(v, (unsigned)gpr);
}

void svm_handle_cr_access(struct vcpu *v, uint64_t code)
{
	struct insn in;
	uint64_t cr0 = vcpu_shadow_read_cr(v, 0);

	if (!decode(v, &in))
		return;
	switch (in.kind) {
	case INSN_MOV_TO_CR:
		vcpu_shadow_write_cr(v, in.cr, *reg_of(v, in.gpr));
		break;
	case INSN_MOV_FROM_CR:
		*reg_of(v, in.gpr) = vcpu_shadow_read_cr(v, in.cr);
		break;
	case INSN_CLTS:
		vcpu_shadow_write_cr(v, 0, cr0 & ~X86_CR0_TS);
		break;
	default:
		vcpu_stop(v, STOP_UNHANDLED, "exit %#llx: the instruction at RIP %#llx is not "
			  "a MOV to or from CR0, CR3 or CR4, nor CLTS (LMSW is not emulated)",
			  (unsigned long long)code, (unsigned long long)svm_guest_rip(v));
		return;
	}
	if (v->stop == STOP_NONE)
		svm_set_rip(v, svm_guest_rip(v) + in.len);
}

void svm_handle_invlpg(struct vcpu *v)
{
	struct insn in;

	if (!decode(v, &in))
		return;
	if (in.kind != INSN_INVLPG) {
		vcpu_stop(v, STOP_UNHANDLED, "INVLPG exit, but RIP %#llx holds another instruction",
			  (unsigned long long)svm_guest_rip(v));
		return;
	}
	/* No DecodeAssists: the address is not known, and the whole root is synced anyway. */
	vcpu_shadow_invlpg(v, 0);
	svm_set_rip(v, svm_guest_rip(v) + in.len);
}
