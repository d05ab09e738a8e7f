/*
 * The VMCB's side of shadow paging (the rest is virt/shadow.c): CR0, CR3
 * and CR4 as the CPU runs with them, and the CR-access and INVLPG exits.
 * Without DecodeAssists or next-RIP saving (QEMU's SVM has neither) the
 * exits say nothing about the instruction, so it is decoded from the
 * guest's memory (virt/insn.c), through the guest's own page tables, or at
 * its physical address while its paging is off (real mode included: CS's
 * base counts there).
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

#define SVM_EXIT_READ_CR0 0x00  /* + n: a read of CRn; SVM_EXIT_WRITE_CR0 + n: a write */
#define SVM_EXIT_WRITE_CR0 0x10

void svm_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw)
{
	/*
	 * The guest's reads of CR0 and CR3 exit: virt/shadow.c answers them.
	 * Those of CR4 only while the CPU's differs (PAE set for a guest with
	 * paging off): otherwise they cost an exit for nothing.
	 */
	if (cr == 4) {
		uint32_t icpt = vmcb_read32(v, VMCB_INTERCEPT_CR) & ~SVM_CR_READ(4);

		vmcb_write32(v, VMCB_INTERCEPT_CR, icpt | (guest != hw ? SVM_CR_READ(4) : 0));
	}
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

#define SVM_ATTR_DB (1u << 10) /* segment attribute: 32-bit default operand size */

static bool in_64bit_mode(struct vcpu *v)
{
	return (vmcb_read64(v, VMCB_EFER) & EFER_LMA) &&
	       (vmcb_read16(v, VMCB_CS + VMCB_SEG_ATTR) & SVM_ATTR_L);
}

/*
 * SMSW (0F 01 /4), which CR0's read intercept catches as MOV from CR0 (as
 * KVM's intercept table maps it), and which virt/insn.c does not decode: a
 * register destination only, of 16, 32 or 64 bits by the prefixes and
 * CS.D. The low 16 bits are the guest's CR0's; wider, the rest of CR0
 * (undefined in 32 bits by the SDM, what today's CPUs store). True if it
 * was one (handled, or the vCPU stopped).
 */
static bool try_smsw(struct vcpu *v, uint64_t code)
{
	uint8_t b[INSN_MAX_LEN];
	size_t got, i = 0;
	uint64_t la;
	bool long64 = in_64bit_mode(v), opsize = false;
	unsigned rex = 0;

	if (code != SVM_EXIT_READ_CR0 || vcpu_shadow_fetch_bytes(v, b, &got, &la))
		return false;
	for (; i < got && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0x26 || b[i] == 0x2e ||
			   b[i] == 0x36 || b[i] == 0x3e || b[i] == 0x64 || b[i] == 0x65); i++)
		opsize |= b[i] == 0x66;
	if (long64 && i < got && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i + 3 > got || b[i] != 0x0f || b[i + 1] != 0x01 || ((b[i + 2] >> 3) & 7) != 4)
		return false;
	if ((b[i + 2] >> 6) != 3) {
		vcpu_stop(v, STOP_UNHANDLED, "SMSW to memory at linear address %#llx (%02x %02x "
			  "%02x) is not emulated under shadow paging", (unsigned long long)la, b[i],
			  b[i + 1], b[i + 2]);
		return true;
	}
	uint64_t *reg = reg_of(v, (int)((b[i + 2] & 7) | (rex & 1 ? 8 : 0)));
	uint64_t cr0 = vcpu_shadow_read_cr(v, 0);
	bool wide = long64 || (vmcb_read16(v, VMCB_CS + VMCB_SEG_ATTR) & SVM_ATTR_DB);
	unsigned size = rex & 8 ? 8 : opsize == wide ? 2 : 4;

	*reg = size == 2 ? (*reg & ~0xffffULL) | (cr0 & 0xffff) : size == 4 ? (uint32_t)cr0 : cr0;
	svm_set_rip(v, svm_guest_rip(v) + i + 3);
	return true;
}

void svm_handle_cr_access(struct vcpu *v, uint64_t code)
{
	struct insn in;
	uint64_t cr0 = vcpu_shadow_read_cr(v, 0), val;
	/* Outside 64-bit mode MOV CR moves 32 bits: a register's upper half is not the guest's. */
	uint64_t mask = in_64bit_mode(v) ? ~0ULL : 0xffffffffULL;

	if (try_smsw(v, code))
		return;
	if (!decode(v, &in))
		return;
	bool done = true; /* false: the write faulted (#GP injected) or stopped the vCPU */

	switch (in.kind) {
	case INSN_MOV_TO_CR:
		done = vcpu_shadow_write_cr(v, in.cr, *reg_of(v, in.gpr) & mask);
		break;
	case INSN_MOV_FROM_CR:
		*reg_of(v, in.gpr) = vcpu_shadow_read_cr(v, in.cr) & mask;
		break;
	case INSN_CLTS:
		done = vcpu_shadow_write_cr(v, 0, cr0 & ~X86_CR0_TS);
		break;
	case INSN_LMSW:
		if (in.mem)
			goto unhandled;
		/* CR0[3:0] from the operand, but PE is never cleared (SDM vol. 2, LMSW). */
		val = *reg_of(v, in.gpr);
		done = vcpu_shadow_write_cr(v, 0, (cr0 & ~0xfULL) | (val & 0xf) |
						       (cr0 & X86_CR0_PE));
		break;
	default:
unhandled:
		vcpu_stop(v, STOP_UNHANDLED, "exit %#llx: the instruction at RIP %#llx is not "
			  "a MOV to or from CR0, CR3 or CR4, CLTS, SMSW or LMSW of a register",
			  (unsigned long long)code, (unsigned long long)svm_guest_rip(v));
		return;
	}
	if (done && v->stop == STOP_NONE)
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
