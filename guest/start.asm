; Guest entry (guest/ABI.md): 64-bit mode, paging on with an
; identity map of the first 4 GiB, RSP at the top of RAM, RDI = RAM size,
; RSI = command, RDX/RCX = arguments. guest_main's return value becomes the
; exit code through the HC_EXIT hypercall.

HC_EXIT equ 2

global _start
extern guest_main
section .text.start
bits 64
_start:
	xor ebp, ebp
	call guest_main
	mov rdi, rax
	mov eax, HC_EXIT
	vmcall
.halt:
	hlt
	jmp .halt
