/*
 * The local APIC timer's interrupt: count it on this CPU and signal end of interrupt.
 * It only arrives at the STGI after an SVM guest exit (svm/run.asm), the
 * one place minihv runs with RFLAGS.IF set. The spurious vector needs no EOI
 * (SDM 3A, 11.9).
 */
	.text
	.code64
	.globl lapic_timer_isr, lapic_spurious_isr

lapic_timer_isr:
	pushq %rax
	incq %gs:16			/* this CPU's timer_ticks (arch/x86/percpu.h) */
	movq lapic_eoi_reg(%rip), %rax
	movl $0, (%rax)
	popq %rax
	iretq

lapic_spurious_isr:
	iretq
