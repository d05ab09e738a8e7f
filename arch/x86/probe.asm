; Probes that may fault. Each faulting instruction has an exception-table
; entry {insn, fixup}: the trap handler resumes at the fixup with RAX set to
; the vector. On success each probe returns -1 in EAX.

%macro EXTABLE 2
section .extable
	dq %1, %2
section .text
%endmacro

global probe_ud, probe_read64, probe_write64, probe_rdmsr

section .text
bits 64

probe_ud:
.insn:	ud2
	mov eax, -1
.fixup:	ret
EXTABLE probe_ud.insn, probe_ud.fixup

; int probe_read64(const volatile void *addr [rdi], uint64_t *val [rsi])
probe_read64:
.insn:	mov rdx, [rdi]
	mov [rsi], rdx
	mov eax, -1
.fixup:	ret
EXTABLE probe_read64.insn, probe_read64.fixup

; int probe_write64(volatile void *addr [rdi], uint64_t val [rsi])
probe_write64:
.insn:	mov [rdi], rsi
	mov eax, -1
.fixup:	ret
EXTABLE probe_write64.insn, probe_write64.fixup

; int probe_rdmsr(uint32_t msr [edi], uint64_t *val [rsi])
probe_rdmsr:
	mov ecx, edi
.insn:	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	mov eax, -1
.fixup:	ret
EXTABLE probe_rdmsr.insn, probe_rdmsr.fixup
