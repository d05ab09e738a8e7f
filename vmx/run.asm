; Guest entry and exit. vmx_run saves the host's callee-saved registers,
; records RSP in the VMCS (HOST_RSP), loads the guest's general registers and
; enters the guest. A VM exit lands in vmx_exit_entry (HOST_RIP) with RSP as
; recorded: it stores the guest registers and returns 0 from vmx_run.
; If VMLAUNCH/VMRESUME itself fails, vmx_run returns 1 (VM-instruction error
; in the VMCS).

%include "asm-offsets.inc"
%include "virt/guest_regs.inc"

global vmx_run, vmx_exit_entry
section .text
bits 64

; int vmx_run(struct vcpu_regs *regs [rdi], int launched [esi])
vmx_run:
	PUSH_HOST_REGS
	push rdi                       ; [rsp] = regs, found again on exit
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jbe .fail_nopop                ; VMfail: no guest state was loaded yet

	test esi, esi
	mov rax, [rdi + REGS_RAX]
	LOAD_GUEST_REGS
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
	STORE_GUEST_REGS
	pop qword [rdi + REGS_RDI]     ; guest RDI, straight to memory
	add rsp, 8                     ; drop the saved regs pointer
	xor eax, eax
vmx_run_out:
	POP_HOST_REGS
	ret
