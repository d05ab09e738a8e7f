; Minimal setjmp/longjmp for the test harness: a test that takes an unexpected
; exception is abandoned and the run goes on with the next test.
; struct kjmp_buf layout: rbx, rbp, r12, r13, r14, r15, rsp, rip.

global ksetjmp, klongjmp
section .text
bits 64

ksetjmp:
	mov [rdi], rbx
	mov [rdi + 8], rbp
	mov [rdi + 16], r12
	mov [rdi + 24], r13
	mov [rdi + 32], r14
	mov [rdi + 40], r15
	lea rdx, [rsp + 8]
	mov [rdi + 48], rdx
	mov rdx, [rsp]
	mov [rdi + 56], rdx
	xor eax, eax
	ret

klongjmp:
	mov rbx, [rdi]
	mov rbp, [rdi + 8]
	mov r12, [rdi + 16]
	mov r13, [rdi + 24]
	mov r14, [rdi + 32]
	mov r15, [rdi + 40]
	mov rsp, [rdi + 48]
	mov eax, esi
	test eax, eax
	jnz .ret
	inc eax
.ret:
	jmp [rdi + 56]
