; Guest entry and exit on SVM (APM vol. 2, 15.5 "VMRUN", 15.5.2 "VMSAVE and
; VMLOAD"). VMRUN itself saves and restores only part of the host's state;
; the rest (FS, GS, TR, LDTR with their hidden parts, KernelGsBase, the
; SYSCALL and SYSENTER MSRs) is kept with VMSAVE/VMLOAD around it, and the
; guest's copy of the same lives in its VMCB. GIF is clear from before the
; host's VMSAVE to after its VMLOAD, so no interrupt sees the guest's FS/GS;
; RFLAGS.IF is set inside that window, so that a host interrupt arriving
; while the guest runs exits it (the INTR intercept, the watchdog) and is
; taken at the STGI (APM vol. 2, 15.17 and 15.21.1).
; RAX travels in the VMCB, the other general registers in struct vcpu_regs.

%include "asm-offsets.inc"
%include "virt/guest_regs.inc"

global svm_run
section .text
bits 64

; void svm_run(struct vcpu_regs *regs [rdi], u64 vmcb_pa [rsi], u64 host_save_pa [rdx])
svm_run:
	PUSH_HOST_REGS
	push rdx                       ; [rsp + 16] = host save area
	push rsi                       ; [rsp + 8]  = VMCB
	push rdi                       ; [rsp]      = regs

	clgi
	sti                            ; GIF holds interrupts off until the STGI below
	mov rax, rdx
	vmsave                         ; the host's hidden state
	mov rax, rsi
	vmload                         ; the guest's

	LOAD_GUEST_REGS
	mov rdi, [rdi + REGS_RDI]
	vmrun                          ; rax = VMCB; back here after #VMEXIT, rax and rsp restored

	vmsave                         ; the guest's hidden state, into its VMCB
	push rdi                       ; guest RDI; [rsp + 8] = regs
	mov rdi, [rsp + 8]
	STORE_GUEST_REGS
	pop qword [rdi + REGS_RDI]
	mov rax, [rsp + 16]
	vmload                         ; the host's hidden state back
	stgi                           ; a pending host interrupt (the watchdog's timer) is taken here
	cli
	add rsp, 24
	POP_HOST_REGS
	ret
