; Guest entry and exit. vmx_run saves the host's callee-saved registers,
; records RSP in the VMCS (HOST_RSP), loads the guest's general registers and
; enters the guest. A VM exit lands in vmx_exit_entry (HOST_RIP) with RSP as
; recorded: it stores the guest registers and returns 0 from vmx_run.
; If VMLAUNCH/VMRESUME itself fails, vmx_run returns 1 (VM-instruction error
; in the VMCS).

%include "asm-offsets.inc"

global vmx_run, vmx_exit_entry
section .text
bits 64

; int vmx_run(struct vcpu_regs *regs [rdi], int launched [esi])
vmx_run:
	push rbp
	mov rbp, rsp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi                       ; [rsp] = regs, found again on exit
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jbe .fail_nopop                ; VMfail: no guest state was loaded yet

	test esi, esi
	mov rax, [rdi + REGS_RAX]
	mov rbx, [rdi + REGS_RBX]
	mov rcx, [rdi + REGS_RCX]
	mov rdx, [rdi + REGS_RDX]
	mov rsi, [rdi + REGS_RSI]
	mov rbp, [rdi + REGS_RBP]
	mov r8, [rdi + REGS_R8]
	mov r9, [rdi + REGS_R9]
	mov r10, [rdi + REGS_R10]
	mov r11, [rdi + REGS_R11]
	mov r12, [rdi + REGS_R12]
	mov r13, [rdi + REGS_R13]
	mov r14, [rdi + REGS_R14]
	mov r15, [rdi + REGS_R15]
	mov rdi, [rdi + REGS_RDI]      ; flags from `test` survive the movs
	jnz .resume
	vmlaunch
	jmp .fail
.resume:
	vmresume
.fail:
.fail_nopop:
	add rsp, 8                     ; drop the saved regs pointer
	mov eax, 1
	jmp vmx_run_out

vmx_exit_entry:
	push rdi                       ; guest RDI; [rsp + 8] = regs
	mov rdi, [rsp + 8]
	mov [rdi + REGS_RAX], rax
	mov [rdi + REGS_RBX], rbx
	mov [rdi + REGS_RCX], rcx
	mov [rdi + REGS_RDX], rdx
	mov [rdi + REGS_RSI], rsi
	mov [rdi + REGS_RBP], rbp
	mov [rdi + REGS_R8], r8
	mov [rdi + REGS_R9], r9
	mov [rdi + REGS_R10], r10
	mov [rdi + REGS_R11], r11
	mov [rdi + REGS_R12], r12
	mov [rdi + REGS_R13], r13
	mov [rdi + REGS_R14], r14
	mov [rdi + REGS_R15], r15
	pop qword [rdi + REGS_RDI]     ; guest RDI, straight to memory
	add rsp, 8                     ; drop the saved regs pointer
	xor eax, eax
vmx_run_out:
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
