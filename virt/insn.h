/*
 * A decoder for the few 64-bit-mode instructions the hypervisor emulates
 * itself (virt/insn.c, pure and host-tested). QEMU's SVM has no
 * DecodeAssists and no next-RIP, so an intercepted MOV CR, CLTS, LMSW or
 * INVLPG is decoded here for its operands and length; and a guest write to
 * a write-protected guest page table (shadow MMU) is decoded here for the
 * value it stores. The encodings are the Intel SDM's, vol. 2, chapter 2.
 */
#ifndef MINIHV_VIRT_INSN_H
#define MINIHV_VIRT_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INSN_MAX_LEN 15 /* SDM vol. 2, 2.3.11: longer is #GP */

enum insn_kind {
	INSN_OTHER,       /* anything not below: -EOPNOTSUPP */
	INSN_MOV_TO_CR,   /* 0F 22 /r: MOV CRn, reg */
	INSN_MOV_FROM_CR, /* 0F 20 /r: MOV reg, CRn */
	INSN_CLTS,        /* 0F 06 */
	INSN_LMSW,        /* 0F 01 /6 */
	INSN_INVLPG,      /* 0F 01 /7 with a memory operand */
	INSN_STORE,       /* MOV to memory: 88 /r, 89 /r, C6 /0 ib, C7 /0 iw/id, A2, A3 */
	INSN_LOAD,        /* MOV from memory: 8A /r, 8B /r, A0, A1 (emulated MMIO reads) */
	INSN_STOS,        /* [REP] STOS: AA, AB (memset and clear_page of a guest table) */
};

struct insn {
	enum insn_kind kind;
	unsigned len; /* bytes, prefixes included */
	/*
	 * MOV CR: the control register as encoded (ModRM.reg | REX.R << 3);
	 * only CR0, CR2, CR3, CR4 and CR8 exist, the others are #UD: the
	 * caller's to refuse.
	 */
	unsigned cr;
	/*
	 * MOV CR: the GPR (ModRM.rm | REX.B << 3). LMSW: the same, or -1 for a
	 * memory operand. STORE: the source register (ModRM.reg | REX.R << 3),
	 * or -1 for an immediate. LOAD: the destination register, likewise.
	 * -1 otherwise.
	 */
	int gpr;
	bool high8;    /* 88/8A without REX, reg 4-7: AH, CH, DH, BH (gpr = 0..3) */
	unsigned size; /* STORE, LOAD: bytes written or read, 1, 2, 4 or 8 */
	uint64_t imm;  /* STORE with an immediate: the value, sign-extended to 8 bytes */
	bool mem;      /* LMSW: the operand is memory */
	bool rep;      /* STOS with a REP (F3) or REPNE (F2, which STOS takes as REP) prefix */
};

/*
 * Decodes the 64-bit-mode instruction at @b, of which @avail bytes are
 * readable; never reads past min(@avail, INSN_MAX_LEN). Returns 0 for a kind
 * above; -EOPNOTSUPP for INSN_OTHER, with len set where this decoder knows
 * the length (an opcode it reads, in a form it does not emulate: a
 * register-to-register MOV, 0F 01 other than LMSW and INVLPG, a LOCK
 * prefix on any of the above), else 0; -EINVAL, with len 0, when the bytes
 * run out or the instruction would be longer than INSN_MAX_LEN.
 * Precondition: the guest runs in 64-bit mode (CS.L = 1).
 */
int insn_decode(const uint8_t *b, size_t avail, struct insn *out);

/*
 * The value a STORE (or each step of a STOS: gpr 0, RAX) writes, from the
 * 16 GPRs in x86 order (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI,
 * 7 RDI, 8-15 R8-R15).
 * Precondition: insn_decode() returned 0 and kind INSN_STORE or INSN_STOS.
 */
uint64_t insn_store_value(const struct insn *i, const uint64_t gprs[16]);

/*
 * A LOAD's effect on its destination register's old value @old: a 4-byte
 * load zero-extends into all 64 bits, 1- and 2-byte loads keep the rest
 * (SDM vol. 1, 3.4.1.1), AH-BH land in bits 15:8.
 */
uint64_t insn_load_result(const struct insn *i, uint64_t old, uint64_t val);

#endif
