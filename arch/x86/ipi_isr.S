/*
 * The call-function IPI (arch/x86/smp.c): save the registers a C call may
 * clobber, run the calls aimed at this CPU, signal end of interrupt.
 * On entry RSP % 16 == 8 (the CPU aligned it, then pushed five words); nine
 * pushes make it 0 for the call (SysV ABI).
 */
	.text
	.code64
	.globl ipi_call_isr, ipi_kick_isr

/*
 * The kick: its work was the VM exit it caused; the vCPU loop then looks at
 * its requests. Only the end of interrupt is left (lapic_eoi_reg).
 */
ipi_kick_isr:
	pushq %rax
	movq lapic_eoi_reg(%rip), %rax
	movl $0, (%rax)
	popq %rax
	iretq

ipi_call_isr:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	cld
	call smp_ipi_interrupt
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
