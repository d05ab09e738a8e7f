; The application processors' way from real mode to the kernel (SDM 3A, 9.4.4
; "MP Initialization Example" and 9.9 "Mode Switching"). arch/x86/smp.c copies
; this blob to AP_TRAMPOLINE (below 1 MiB, 4 KiB aligned: the SIPI vector is
; its page number) and fills in the parameters at its end; an AP starts at
; CS:IP = (AP_TRAMPOLINE >> 4):0 in real mode. The code is position-dependent
; on AP_TRAMPOLINE only: every address below is AP_TRAMPOLINE + offset.

AP_TRAMPOLINE   equ 0x8000          ; keep in sync with arch/x86/smp.h
CR0_PE          equ 1 << 0
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xc0000080

%define TR(label) (AP_TRAMPOLINE + (label) - ap_trampoline_start)

global ap_trampoline_start, ap_trampoline_end
global ap_tr_cr3, ap_tr_efer, ap_tr_stack, ap_tr_cpu, ap_tr_entry

section .rodata
bits 16
ap_trampoline_start:
	cli
	cld
	xor ax, ax
	mov ds, ax
	lgdt [TR(tr_gdt_ptr)]
	mov eax, cr0
	or eax, CR0_PE
	mov cr0, eax
	jmp dword 0x08:TR(tr_pm32)

bits 32
tr_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [TR(ap_tr_cr3)]        ; the kernel's page tables (below 4 GiB)
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, [TR(ap_tr_efer)]        ; LME, and NXE as on the boot CPU
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_WP
	mov cr0, eax
	jmp 0x18:TR(tr_lm64)

bits 64
tr_lm64:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rsp, [TR(ap_tr_stack)]
	mov edi, [TR(ap_tr_cpu)]
	mov rax, [TR(ap_tr_entry)]
	xor ebp, ebp                    ; ends backtraces (lib/ksyms.c)
	push rbp                        ; a return address slot: RSP % 16 == 8 at entry
	jmp rax                         ; ap_main(cpu) never returns

align 8
tr_gdt:
	dq 0
	dq 0x00cf9a000000ffff           ; 0x08: 32-bit code, flat
	dq 0x00cf92000000ffff           ; 0x10: data, flat
	dq 0x00af9a000000ffff           ; 0x18: 64-bit code
tr_gdt_ptr:
	dw 4 * 8 - 1
	dd TR(tr_gdt)
align 8
ap_tr_cr3:   dq 0
ap_tr_efer:  dq 0
ap_tr_stack: dq 0
ap_tr_cpu:   dq 0
ap_tr_entry: dq 0
ap_trampoline_end:
