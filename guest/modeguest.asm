; The entry-mode guest (tests/kernel/test_guest_modes.c), a flat binary in
; two parts. Each reports through HC_EXIT (guest/hypercall.h) a code with one
; bit per check that passed; VMMCALL on an AMD CPU, VMCALL elsewhere.
;
; Offset 0, real16: copied to a page below 1 MiB and entered as an AP at its
; SIPI (VCPU_ENTRY_REAL): code = CS << 16 | checks (MG_REAL_*).
; Offset 0x80, pae32: see there.
; Offset 0x100, prot32: loaded at 1 MiB and entered as a multiboot1 kernel
; (VCPU_ENTRY_PROT32) with EAX = 0x2BADB002 and EBX = MG_EBX; it turns on
; long mode as kvm-unit-tests' cstart64.S does, runs 64-bit code, goes back
; to 32-bit protected mode with paging off and exits: code = checks
; (MG_P32_*, all of them 0xff).

HC_EXIT equ 2
MG_EBX equ 0x0badf00d
MG_STACK equ 0x7f000
MG_PML4 equ 0x1000     ; PML4, PDPT, PD: the first GiB in 2 MiB pages
MSR_EFER equ 0xc0000080
EFER_LME equ 1 << 8
EFER_LMA equ 1 << 10
CR0_PE equ 1
CR0_PG equ 1 << 31
CR4_PAE equ 1 << 5
AMD_EBX equ 0x68747541 ; "Auth" of AuthenticAMD

; HC_EXIT with the code in EDI, after CPUID leaf 0 (EBX: the vendor): VMMCALL
; on AMD, VMCALL elsewhere; it does not return.
%macro hc_exit_any_vendor 0
	mov eax, HC_EXIT
	cmp ebx, AMD_EBX
	je %%amd
	vmcall
	hlt
%%amd:	vmmcall
	hlt
%endmacro

; Fill the page directory at %1 with 512 2 MiB identity entries (present,
; writable, PS), point CR3 at MG_PML4 and set CR4.PAE: both paths page so.
%macro identity_pd_pae 1
	mov edi, %1
	mov eax, 0x83           ; present, writable, 2 MiB
	mov ecx, 512
%%pd:	mov [edi], eax
	add eax, 0x200000
	add edi, 8
	loop %%pd
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, MG_PML4
	mov cr3, eax
%endmacro

org 0x100000

bits 16
real16:
	xor esi, esi
	smsw ax
	test al, CR0_PE
	jnz .1
	or si, 1                ; MG_REAL_PE_CLEAR
.1:	call .here              ; entered at IP 0: IP is .here's offset in the part
.here:	pop bx
	cmp bx, .here - real16
	jne .2
	or si, 2                ; MG_REAL_IP0
.2:	mov ax, cs              ; a write through DS = CS reads back at CS * 16 + offset
	mov ds, ax
	mov word [marker - real16], 0xbeef
	xor dx, dx
	mov es, dx
	mov di, ax
	shl di, 4
	cmp word [es:di + marker - real16], 0xbeef
	jne .3
	or si, 4                ; MG_REAL_BASE
.3:	xor eax, eax
	cpuid
	mov ax, cs
	movzx edi, ax
	shl edi, 16
	or di, si
	hc_exit_any_vendor
marker:	dw 0

; Offset 0x80, pae32: entered as prot32 is, turns on PAE paging without long
; mode (an identity map of the first GiB), which VMX refuses (its PDPTEs are
; not emulated); where it runs, it exits with code MG_PAE32_RAN.
	times 0x80 - ($ - $$) db 0
bits 32
pae32:
	mov edi, MG_PML4        ; PDPT at MG_PML4, PD after it: 2 MiB pages
	mov ecx, 2 * 1024
	xor eax, eax
	rep stosd
	mov dword [MG_PML4], MG_PML4 + 0x1000 + 1
	identity_pd_pae MG_PML4 + 0x1000
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	xor eax, eax
	cpuid
	mov edi, 0x9ae          ; MG_PAE32_RAN
	hc_exit_any_vendor

	times 0x100 - ($ - $$) db 0

bits 32
prot32:
	mov esp, MG_STACK
	xor esi, esi
	cmp eax, 0x2badb002
	jne .1
	or esi, 0x01            ; MG_P32_EAX
.1:	cmp ebx, MG_EBX
	jne .2
	or esi, 0x02            ; MG_P32_EBX
.2:	mov ecx, cr0            ; protected mode, paging off
	and ecx, CR0_PE | CR0_PG
	cmp ecx, CR0_PE
	jne .3
	or esi, 0x04            ; MG_P32_CR0
.3:	xor eax, eax
	cpuid
	cmp ebx, AMD_EBX
	sete byte [is_amd]

	lgdt [gdt_desc]
	jmp 0x08:.cs32
.cs32:	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax

	mov edi, MG_PML4        ; identity-map the first GiB
	mov ecx, 3 * 1024
	xor eax, eax
	rep stosd
	mov dword [MG_PML4], MG_PML4 + 0x1000 + 3
	mov dword [MG_PML4 + 0x1000], MG_PML4 + 0x2000 + 3
	identity_pd_pae MG_PML4 + 0x2000
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	mov eax, cr0            ; compatibility mode now: reads as written, long mode active
	test eax, CR0_PG
	jz .4
	or esi, 0x08            ; MG_P32_PG_SET
.4:	mov ecx, MSR_EFER
	rdmsr
	test eax, EFER_LMA
	jz .5
	or esi, 0x10            ; MG_P32_LMA_SET
.5:	jmp 0x18:long64

bits 64
long64:
	xor edi, edi            ; RDI's upper half is the hypercall's too: clear it here
	mov rcx, rsp            ; 64-bit mode: a push is 8 bytes
	push rax
	sub rcx, rsp
	pop rax
	cmp rcx, 8
	jne .6
	or esi, 0x20            ; MG_P32_PUSH64
.6:	mov rax, 0x123456789    ; and a register holds 64 bits
	shr rax, 32
	cmp eax, 1
	jne .7
	or esi, 0x40            ; MG_P32_REG64
.7:	jmp dword far [rel compat_ptr] ; m16:32 (AMD has no m16:64)

bits 32
compat32:                       ; compatibility mode: leave long mode
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax
	mov ecx, MSR_EFER
	rdmsr
	test eax, EFER_LMA
	jnz .8
	mov eax, cr0
	test eax, CR0_PG
	jnz .8
	or esi, 0x80            ; MG_P32_LEFT_LM
.8:	mov edi, esi
	mov eax, HC_EXIT
	cmp byte [is_amd], 0
	jne .amd
	vmcall
	hlt
.amd:	vmmcall
	hlt

align 8
gdt:	dq 0
	dq 0x00cf9a000000ffff   ; 0x08: 32-bit code, flat
	dq 0x00cf92000000ffff   ; 0x10: data, flat
	dq 0x00af9a000000ffff   ; 0x18: 64-bit code
gdt_desc:
	dw gdt_desc - gdt - 1
	dd gdt
compat_ptr:
	dd compat32
	dw 0x08
is_amd:	db 0
