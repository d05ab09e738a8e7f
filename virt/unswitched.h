/*
 * Guest state that neither VM entry/exit nor vmx/run.asm switches: the x87/
 * MMX/SSE registers, CR2 and XCR0 (virt/unswitched.c).
 */
#ifndef MINIHV_UNSWITCHED_H
#define MINIHV_UNSWITCHED_H

#include "arch/x86/arch.h"

struct vcpu_unswitched {
	uint8_t fxsave[FXSAVE_SIZE + 16]; /* the FXSAVE area at its first 16-byte boundary */
	uint64_t cr2;
	uint64_t xcr0;      /* the guest's; XCR0_X87 at reset */
	uint64_t host_xcr0; /* the host's, while the guest's is loaded */
	bool xsave;         /* the CPU has XCR0 (CPUID.1:ECX.XSAVE) */
};

/* The reset state (FINIT, MXCSR 0x1f80, XMM zero, CR2 0, XCR0 1); lets the host run FXSAVE. */
void vcpu_unswitched_init(struct vcpu_unswitched *u);
/* Into the CPU when vcpu_run() starts, back out when it returns. */
void vcpu_unswitched_load(struct vcpu_unswitched *u);
void vcpu_unswitched_save(struct vcpu_unswitched *u);
/* XSETBV emulated (virt/pc.c): the guest's XCR0, in force now (between load and save). */
void vcpu_unswitched_set_xcr0(struct vcpu_unswitched *u, uint64_t xcr0);

#endif
