/*
 * The outermost frame: boot/entry.asm jumps here in 64-bit mode with the
 * boot stack set up and kmain's arguments in EDI/ESI. GNU as rather than
 * NASM for `.cfi_undefined rip`, which tells gdb there is no caller, so a
 * backtrace ends here instead of walking whatever lies above the stack.
 * RBP = 0 ends the kernel's own frame-pointer backtraces (lib/ksyms.c).
 */
	.cfi_sections .debug_frame
	.text
	.code64
	.globl kernel_start64
	.type kernel_start64, @function
kernel_start64:
	.cfi_startproc
	.cfi_undefined rip
	xorl %ebp, %ebp
	call kmain
1:	cli
	hlt
	jmp 1b
	.cfi_endproc
	.size kernel_start64, . - kernel_start64
