/*
 * Offsets of C structures for the assembly in vmx/run.asm and svm/run.asm. Compiled to
 * assembly only; the Makefile turns the "->NAME value" markers into
 * build/asm-offsets.inc, so no offset is ever counted by hand.
 */
#include <stddef.h>
#include "vmx/vcpu.h"
#include "vmx/vmcs_defs.h"

#define DEFINE(sym, val) __asm__ __volatile__("\n.ascii \"->" #sym " %c0\"" ::"i"(val))
#define OFFSET(sym, str, mem) DEFINE(sym, offsetof(struct str, mem))

void asm_offsets(void);
void asm_offsets(void)
{
	OFFSET(REGS_RAX, vcpu_regs, rax);
	OFFSET(REGS_RBX, vcpu_regs, rbx);
	OFFSET(REGS_RCX, vcpu_regs, rcx);
	OFFSET(REGS_RDX, vcpu_regs, rdx);
	OFFSET(REGS_RSI, vcpu_regs, rsi);
	OFFSET(REGS_RDI, vcpu_regs, rdi);
	OFFSET(REGS_RBP, vcpu_regs, rbp);
	OFFSET(REGS_R8, vcpu_regs, r8);
	OFFSET(REGS_R9, vcpu_regs, r9);
	OFFSET(REGS_R10, vcpu_regs, r10);
	OFFSET(REGS_R11, vcpu_regs, r11);
	OFFSET(REGS_R12, vcpu_regs, r12);
	OFFSET(REGS_R13, vcpu_regs, r13);
	OFFSET(REGS_R14, vcpu_regs, r14);
	OFFSET(REGS_R15, vcpu_regs, r15);
	DEFINE(VMCS_HOST_RSP, HOST_RSP);
}
