/*
 * Exception entry stubs: push a dummy error code where the CPU pushes none,
 * push the vector, save the general registers as a struct trap_frame
 * (arch/x86/traps.h) and call trap_handler(frame). The handler may change
 * the frame (RIP, RAX) to resume elsewhere, e.g. after a probed instruction.
 *
 * GNU as rather than NASM for the CFI: it tells gdb that isr_common's caller
 * is the interrupted code (a signal frame, as Linux's entry_64.S does), so a
 * backtrace from a trap handler goes on into the code that faulted instead
 * of reading garbage off the stack.
 */
	.cfi_sections .debug_frame
	.text
	.code64

/* Vectors with an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14,
 * #AC 17, #CP 21, #VC 29, #SX 30 (SDM vol. 3A, table 6-1). */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
		      (v) == 29 || (v) == 30)

	.altmacro
	.macro isr v
isr\v:
	.if !HAS_ERROR(\v)
	pushq $0
	.endif
	pushq $\v
	jmp isr_common
	.endm

	.set v, 0
	.rept 32
	isr %v
	.set v, v + 1
	.endr

	.type isr_common, @function
isr_common:
	/* RSP -> vector, error, then the CPU's RIP, CS, RFLAGS, RSP, SS: CFA past SS. */
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_def_cfa rsp, 7 * 8
	.cfi_offset rip, -5 * 8
	.cfi_offset rsp, -2 * 8
	.irp r, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
	pushq %\r
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset \r, 0
	.endr
	cld
	movq %rsp, %rdi
	call trap_handler
	.irp r, r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax
	popq %\r
	.cfi_adjust_cfa_offset -8
	.cfi_restore \r
	.endr
	addq $16, %rsp
	.cfi_adjust_cfa_offset -16
	iretq
	.cfi_endproc
	.size isr_common, . - isr_common

	.section .rodata
	.balign 8
	.globl isr_table
	.macro isr_entry v
	.quad isr\v
	.endm
isr_table:
	.set v, 0
	.rept 32
	isr_entry %v
	.set v, v + 1
	.endr
