/*
 * The PC-platform test guest's entry (tests/kernel/test_pc_platform.c): a
 * multiboot1 kernel entered in 32-bit protected mode with paging off, as
 * GRUB or QEMU's -kernel enter kvm-unit-tests. It records the entry state,
 * identity-maps [0, 4 GiB) with 2 MiB pages, turns on long mode itself and
 * calls pc_main(). An AP's startup IPI lands in ap_tramp (copied below
 * 1 MiB by the BSP): real mode -> 32-bit -> the same long-mode switch.
 * Linked as ELF64 and converted to ELF32 (the Makefile), as
 * kvm-unit-tests' x86/*.flat are.
 */
#define MB1_MAGIC 0x1badb002
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PE_PG 0x80000001
#define CR4_PAE 0x20
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define STACK_SIZE 0x4000

	.section .multiboot, "a"
	.align 4
	.long MB1_MAGIC
	.long 0                 /* flags: load by the ELF program headers */
	.long -MB1_MAGIC        /* checksum: magic + flags + checksum = 0 */

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl %eax, entry_eax
	movl %ebx, entry_ebx
	movl %cr0, %eax
	movl %eax, entry_cr0
	movw %cs, entry_sel
	movw %ds, entry_sel + 2
	movw %es, entry_sel + 4
	movw %ss, entry_sel + 6
	/* Flat segments: a store through ES reads back through DS and SS. */
	movl $0x5aa5c33c, %es:flat_probe
	movl %ds:flat_probe, %eax
	movl %ss:flat_probe, %edx
	movl %eax, flat_read
	movl %edx, flat_read + 4
	movl $bsp_stack + STACK_SIZE, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> 4 PDs of 512 2 MiB pages (PS | W | P). */
	movl $pdpt + 3, pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $pd + 3, %eax
	movl %eax, pdpt(, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, pd(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b
	movl $bsp_stack + STACK_SIZE, %edi
	movl $bsp_main64, %esi
	jmp to_long

/* EDI = 64-bit stack, ESI = where to go in 64-bit mode; paging off, GDT any. */
to_long:
	lgdt gdt_ptr
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PE_PG, %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $1f
	.code64
1:	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl %edi, %esp
	movl %esi, %esi
	jmp *%rsi

bsp_main64:
	call idt_load
	call pc_main
	/* pc_main never returns: fail with code 0x7f if it does. */
	movl $0x7f, %eax
	outl %eax, $0xf4
	hlt

ap_main64:
	call idt_load
	call ap_main
	hlt

	/* An AP's first instructions: copied to a page below 1 MiB, run at CS:0. */
	.code16
	.globl ap_tramp, ap_tramp_end, ap_tramp_cs, ap_tramp_msw
ap_tramp:
	cli
	movw %cs, %cs:(ap_tramp_cs - ap_tramp)  /* for the BSP to check: CS and CR0 */
	smsw %ax
	movw %ax, %cs:(ap_tramp_msw - ap_tramp)
	lgdtl %cs:(ap_gdt_ptr - ap_tramp)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_start32
	.align 8
ap_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_cs: .word 0
ap_tramp_msw: .word 0xffff
ap_tramp_end:

	.code32
ap_start32:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $ap_stack + STACK_SIZE, %edi
	movl $ap_main64, %esi
	jmp to_long

	.code64
/* Interrupt and exception stubs: 16 bytes each, vector i at isr_stubs + 16 * i. */
	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30
	.else
	pushq $0                /* no error code: a zero in its place */
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

/* struct frame (pcguest.c): 15 registers, vector, error code, then the CPU's frame. */
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call trap
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.align 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff  /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff  /* 0x10: flat data */
	.quad 0x00cf9a000000ffff  /* 0x18: flat 32-bit code */
gdt_end:
	.align 8
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.align 4
	.globl entry_eax, entry_ebx, entry_cr0, entry_sel, flat_read
entry_eax: .long 0
entry_ebx: .long 0
entry_cr0: .long 0
entry_sel: .word 0, 0, 0, 0     /* CS, DS, ES, SS */
flat_probe: .long 0
flat_read: .long 0, 0           /* flat_probe read through DS, SS */

	.bss
	.align 4096
pml4: .skip 4096
pdpt: .skip 4096
pd: .skip 4 * 4096
bsp_stack: .skip STACK_SIZE
ap_stack: .skip STACK_SIZE

	.section .note.GNU-stack, "", @progbits
