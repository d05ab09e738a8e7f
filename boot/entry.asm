; 32-bit entry from GRUB (multiboot2 machine state: protected mode, paging off,
; EAX = magic, EBX = physical address of the boot information). Builds an
; identity map of the first 4 GiB with 2 MiB pages, enables PAE and long mode
; and jumps to kernel_start64 (boot/start64.S), which calls kmain(magic, mbi).
; kmain replaces these tables with the host page tables of mm/hostpt.c as soon
; as the frame allocator is up.

MB2_BOOT_MAGIC  equ 0x36d76289
COM1            equ 0x3f8

CR0_PE          equ 1 << 0
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
MSR_EFER        equ 0xc0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11
CPUID_LM        equ 1 << 29      ; CPUID.80000001H:EDX.LM
CPUID_NX        equ 1 << 20      ; CPUID.80000001H:EDX.NX

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_PS          equ 1 << 7
BOOT_PDS        equ 4            ; 4 page directories x 1 GiB = 4 GiB

global _start
global boot_pml4
extern kernel_start64


section .boot32 exec
bits 32
_start:
	cli
	cld
	mov esp, boot_stack_top
	cmp eax, MB2_BOOT_MAGIC
	jne .bad_magic
	mov [boot_magic], eax
	mov [boot_mbi], ebx

	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, CPUID_LM
	jz .no_long_mode
	mov [boot_ext_edx], edx

	; PML4[0] -> PDPT, PDPT[0..3] -> PD[0..3], PD entries: 2 MiB identity pages.
	mov eax, boot_pdpt
	or eax, PTE_P | PTE_W
	mov [boot_pml4], eax
	xor ecx, ecx
.fill_pdpt:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd
	or eax, PTE_P | PTE_W
	mov [boot_pdpt + ecx * 8], eax
	inc ecx
	cmp ecx, BOOT_PDS
	jb .fill_pdpt
	xor ecx, ecx
.fill_pd:
	mov eax, ecx
	shl eax, 21                    ; low 32 bits of ecx * 2 MiB
	or eax, PTE_P | PTE_W | PTE_PS
	mov [boot_pd + ecx * 8], eax
	mov eax, ecx
	shr eax, 11                    ; high bits of ecx * 2 MiB
	mov [boot_pd + ecx * 8 + 4], eax
	inc ecx
	cmp ecx, BOOT_PDS * 512
	jb .fill_pd

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	test dword [boot_ext_edx], CPUID_NX
	jz .no_nx
	or eax, EFER_NXE
.no_nx:
	wrmsr
	mov eax, cr0
	or eax, CR0_PE | CR0_PG | CR0_WP
	mov cr0, eax
	lgdt [boot_gdt_ptr]
	jmp 0x08:long_entry

.bad_magic:
	mov esi, msg_magic
	jmp .fail
.no_long_mode:
	mov esi, msg_lm
.fail:
	mov dx, COM1
.putc:
	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .putc
.halt:
	hlt
	jmp .halt

bits 64
long_entry:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	mov edi, [boot_magic]
	mov esi, [boot_mbi]
	jmp kernel_start64             ; boot/start64.S: the outermost frame, calls kmain

section .rodata
msg_magic: db "minihv: not started by a multiboot2 loader (bad magic in EAX)", 13, 10, 0
msg_lm:    db "minihv: CPU has no long mode (CPUID.80000001H:EDX.LM clear)", 13, 10, 0

align 8
boot_gdt:
	dq 0
	dq 0x00af9a000000ffff          ; 0x08: 64-bit code, DPL 0
	dq 0x00cf92000000ffff          ; 0x10: data, DPL 0
boot_gdt_ptr:
	dw boot_gdt_ptr - boot_gdt - 1
	dd boot_gdt

section .data
boot_magic:   dd 0
boot_mbi:     dd 0
boot_ext_edx: dd 0

section .bss
align 4096
boot_pml4: resb 4096
boot_pdpt: resb 4096
boot_pd:   resb 4096 * BOOT_PDS

BOOT_STACK_SIZE equ 16384
global boot_stack_top
align 16
boot_stack: resb BOOT_STACK_SIZE
boot_stack_top:
