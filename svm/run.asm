; Guest entry and exit on SVM (APM vol. 2, 15.5 "VMRUN", 15.5.2 "VMSAVE and
; VMLOAD"). VMRUN itself saves and restores only part of the host's state;
; the rest (FS, GS, TR, LDTR with their hidden parts, KernelGsBase, the
; SYSCALL and SYSENTER MSRs) is kept with VMSAVE/VMLOAD around it, and the
; guest's copy of the same lives in its VMCB. The host's copy is saved once
; per svm_vcpu_run() (nothing in the run loop changes it, as KVM saves it
; once per vCPU load) and loaded back after every VMRUN. GIF is clear from before the
; guest's VMLOAD to after the host's, so no interrupt sees the guest's FS/GS;
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
	push rdx                       ; [rsp + 8] = host save area
	push rdi                       ; [rsp]     = regs

	clgi
	sti                            ; GIF holds interrupts off until the STGI below
	mov rax, rsi                   ; the host's hidden state is in host_save_pa already:
	vmload                         ; svm_vcpu_run() saved it once; now the guest's

	LOAD_GUEST_REGS
	mov rdi, [rdi + REGS_RDI]
	vmrun                          ; rax = VMCB; back here after #VMEXIT, rax and rsp restored

	vmsave                         ; the guest's hidden state, into its VMCB
	push rdi                       ; guest RDI; [rsp + 8] = regs
	mov rdi, [rsp + 8]
	STORE_GUEST_REGS
	pop qword [rdi + REGS_RDI]
	mov rax, [rsp + 8]
	vmload                         ; the host's hidden state back
	stgi                           ; a pending host interrupt (the watchdog's timer) is taken here
	cli
	add rsp, 16
	POP_HOST_REGS
	ret
