/*
 * AMD SVM's hardware numbers, all in one place: CPUID bits, MSRs, the VMCB
 * layout, intercepts and exit codes (AMD64 APM vol. 2, chapter 15 and
 * appendices B and C).
 */
#ifndef MINIHV_SVM_DEFS_H
#define MINIHV_SVM_DEFS_H

#include "arch/x86/arch.h"

/* CPUID (APM vol. 3, appendix E; vol. 2, 15.4). */
#define CPUID_81_ECX_SVM (1u << 2)        /* 0x80000001 ECX */
#define CPUID_SVM_LEAF 0x8000000au
#define CPUID_SVM_EDX_NP (1u << 0)        /* nested paging */
#define CPUID_SVM_EDX_NRIPS (1u << 3)     /* next RIP saved on exits */
#define CPUID_SVM_EDX_FLUSH_ASID (1u << 6) /* TLB_CONTROL 3: flush one ASID */
#define CPUID_PDPE1GB (1u << 26)          /* 0x80000001 EDX: 1 GiB pages */

/* MSRs (15.30). */
#define MSR_VM_CR 0xc0010114
#define VM_CR_LOCK (1ULL << 3)
#define VM_CR_SVMDIS (1ULL << 4)
#define MSR_VM_HSAVE_PA 0xc0010117
#define EFER_SVME (1ULL << 12)

/* VMCB control area (appendix B, table B-1): byte offsets. */
#define VMCB_INTERCEPT_CR 0x000
#define VMCB_INTERCEPT_DR 0x004
#define VMCB_INTERCEPT_EXC 0x008
#define VMCB_INTERCEPT_MISC1 0x00c
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_IOPM_BASE 0x040
#define VMCB_MSRPM_BASE 0x048
#define VMCB_TSC_OFFSET 0x050
#define VMCB_ASID 0x058
#define VMCB_TLB_CONTROL 0x05c
#define VMCB_VINTR 0x060
#define VMCB_INT_SHADOW 0x068
#define VMCB_EXITCODE 0x070
#define VMCB_EXITINFO1 0x078
#define VMCB_EXITINFO2 0x080
#define VMCB_EXITINTINFO 0x088
#define VMCB_NP_ENABLE 0x090
#define VMCB_EVENTINJ 0x0a8
#define VMCB_NCR3 0x0b0
#define VMCB_CLEAN 0x0c0
#define VMCB_NRIP 0x0c8

/* VMCB state save area (table B-2), from offset 0x400. */
#define VMCB_ES 0x400 /* each segment: selector u16, attrib u16, limit u32, base u64 */
#define VMCB_SEG_ATTR 2  /* within a segment */
#define VMCB_SEG_LIMIT 4
#define VMCB_SEG_BASE 8
#define VMCB_SEG_SIZE 16 /* ES, CS, SS, DS, FS, GS in a row */
#define VMCB_CS 0x410
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_FS 0x440
#define VMCB_GS 0x450
#define VMCB_GDTR 0x460
#define VMCB_LDTR 0x470
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_CPL 0x4cb
#define VMCB_EFER 0x4d0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5d8
#define VMCB_RAX 0x5f8
#define VMCB_CR2 0x640
#define VMCB_G_PAT 0x668
#define VMCB_STAR 0x600 /* the MSRs VMLOAD/VMSAVE switch (15.5.2), in MSR order */
#define VMCB_LSTAR 0x608
#define VMCB_CSTAR 0x610
#define VMCB_SFMASK 0x618
#define VMCB_KERNEL_GS_BASE 0x620
#define VMCB_SYSENTER_CS 0x628
#define VMCB_SYSENTER_ESP 0x630
#define VMCB_SYSENTER_EIP 0x638

/* Segment attributes: the descriptor's bits 47:40 and 55:52, packed (15.5.1). */
#define SVM_ATTR_CODE64 0xa9b /* execute/read accessed, S, present, L, G */
#define SVM_ATTR_DATA 0xc93   /* read/write accessed, S, present, D/B, G */
#define SVM_ATTR_TSS64_BUSY 0x08b
#define SVM_ATTR_CODE32 0xc9b /* execute/read accessed, S, present, D/B, G */
#define SVM_ATTR_CODE16 0x09b /* real mode: execute/read accessed, S, present, 64 KiB */
#define SVM_ATTR_DATA16 0x093 /* real mode: read/write accessed, S, present, 64 KiB */
#define SVM_ATTR_TSS32_BUSY 0x08b /* a busy TSS; 32-bit until long mode, where it is 64-bit */
#define SVM_ATTR_LDT 0x082

/* Intercept vector 3 (MISC1) and 4 (MISC2) bits (table B-1). */
#define SVM_INTERCEPT_INTR (1u << 0)
#define SVM_INTERCEPT_NMI (1u << 1)
#define SVM_INTERCEPT_CPUID (1u << 18)
#define SVM_INTERCEPT_INVD (1u << 22)
#define SVM_INTERCEPT_HLT (1u << 24)
#define SVM_INTERCEPT_INVLPG (1u << 25)
#define SVM_INTERCEPT_INVLPGA (1u << 26)
/* VMCB_INTERCEPT_CR: reads of CRn in bits 0-15, writes in 16-31 (APM vol. 2, 15.9). */
#define SVM_CR_READ(n) (1u << (n))
#define SVM_CR_WRITE(n) (1u << (16 + (n)))
#define SVM_INTERCEPT_IOIO (1u << 27)
#define SVM_INTERCEPT_MSR (1u << 28)
#define SVM_INTERCEPT_SHUTDOWN (1u << 31)
#define SVM_INTERCEPT_VMRUN (1u << 0) /* MISC2: required by VMRUN's checks */
#define SVM_INTERCEPT_VMMCALL (1u << 1)
#define SVM_INTERCEPT_VMLOAD (1u << 2)
#define SVM_INTERCEPT_VMSAVE (1u << 3)
#define SVM_INTERCEPT_STGI (1u << 4)
#define SVM_INTERCEPT_CLGI (1u << 5)
#define SVM_INTERCEPT_SKINIT (1u << 6)
#define SVM_INTERCEPT_WBINVD (1u << 9) /* WBINVD and WBNOINVD */
#define SVM_INTERCEPT_MONITOR (1u << 10)
#define SVM_INTERCEPT_MWAIT (1u << 11)
#define SVM_INTERCEPT_XSETBV (1u << 13)

/* VMCB_VINTR: the guest's RFLAGS.IF masks only virtual interrupts. */
#define SVM_V_INTR_MASKING (1ULL << 24)
/* A virtual interrupt request, to exit (VINTR) once the guest can take one (15.21.4). */
#define SVM_V_IRQ (1ULL << 8)
#define SVM_V_INTR_PRIO_MAX (0xfULL << 16)
#define SVM_V_IGN_TPR (1ULL << 20)
#define SVM_INTERCEPT_VINTR (1u << 4)
#define SVM_INTERCEPT_IRET (1u << 20) /* MISC1 */
#define SVM_EXIT_IRET 0x74
#define SVM_EXIT_VINTR 0x64
#define SVM_INT_SHADOW 1ULL  /* VMCB_INT_SHADOW: after STI or MOV SS */
#define SVM_EVT_TYPE_INTR (0u << 8)
#define SVM_EVT_TYPE_NMI (2u << 8)
#define SVM_ATTR_L (1u << 9)     /* segment attribute: 64-bit code */

/* TLB_CONTROL (15.16.1). */
#define TLB_CONTROL_NONE 0
#define TLB_CONTROL_ALL 1
#define TLB_CONTROL_ASID 3

/* EVENTINJ and EXITINTINFO (15.20): vector, type, error code valid, valid. */
#define SVM_EVT_VECTOR(x) ((x) & 0xff)
#define SVM_EVT_TYPE_EXC (3u << 8)
#define SVM_EVT_ERR_VALID (1u << 11)
#define SVM_EVT_VALID (1u << 31)

/* Exit codes (appendix C). */
#define SVM_EXIT_EXCP_BASE 0x40
#define SVM_EXIT_UD (SVM_EXIT_EXCP_BASE + 6)
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_INVD 0x76
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPG 0x79
#define SVM_EXIT_INVLPGA 0x7a
#define SVM_EXIT_IOIO 0x7b
#define SVM_EXIT_MSR 0x7c
#define SVM_EXIT_SHUTDOWN 0x7f
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_WBINVD 0x89 /* and WBNOINVD */
#define SVM_EXIT_MONITOR 0x8a
#define SVM_EXIT_MWAIT 0x8b
#define SVM_EXIT_XSETBV 0x8d
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID (~0ULL)

/* IOIO EXITINFO1 (15.10.2): IN, string, operand size (one-hot), port. */
#define SVM_IO_IN (1u << 0)
#define SVM_IO_STR (1u << 2)
#define SVM_IO_SIZE(x) (((x) >> 4) & 7) /* 1, 2 or 4 bytes */
#define SVM_IO_PORT(x) ((unsigned)((x) >> 16) & 0xffff)

/* #NPF EXITINFO1: a page-fault error code (15.25.6); bit 1 is a write. */
#define SVM_NPF_WRITE (1ULL << 1)
#define SVM_NPF_RSVD (1ULL << 3) /* a reserved bit set in a nested entry */

/* Permission maps (15.10, 15.11): 12 KiB for ports, 8 KiB for MSRs. */
#define SVM_IOPM_PAGES 3
#define SVM_MSRPM_PAGES 2

#endif
