/*
 * A #PF caught by a guest's own IDT and resumed after the faulting access
 * (guest/testguest_shadow.c, guest/testguest_ptfuzz.c): what a guest that
 * manages its own page tables needs to check its faults.
 */
#ifndef MINIHV_GUEST_PF_CATCH_H
#define MINIHV_GUEST_PF_CATCH_H

#include <stdbool.h>
#include <stdint.h>

/*
 * What the handler saw last, how many #PFs so far, and where an armed
 * access resumes. One per vCPU, at the bottom of its stack's 64 KiB (vCPU
 * i starts with RSP = RAM size - i * 64 KiB, guest/ABI.md; the self-test
 * guest's RAM is a multiple of 64 KiB), so vCPUs fault side by side.
 */
struct pfc_state {
	uint64_t vector, error, rip, cr2, count;
	uint64_t resume, fault; /* the handler's: set by the pfc_* accesses */
};

static inline volatile struct pfc_state *pfc_here(void)
{
	uint64_t sp;

	__asm__ __volatile__("movq %%rsp, %0" : "=r"(sp));
	return (volatile struct pfc_state *)(sp & ~0xffffULL);
}

/* This vCPU's state, as a variable. */
#define pfc_seen (*pfc_here())

/* Where the IDT is (a test keeps its own tables clear of it). */
uint64_t pfc_idt_address(void);
/* Load a GDT and an IDT of the guest's own whose #PF handler is pfc's. */
void pfc_load_tables(void);
/* Read @va (@write: store a byte to it) with recovery armed: a #PF resumes after it. */
void pfc_touch(uint64_t va, bool write);
/* 0 if touching @va raised exactly one #PF, at that instruction, with @err; else 1-4. */
long pfc_expect_pf(uint64_t va, bool write, uint64_t err);

/* The quadword at @va read (written) with recovery armed: false if it raised a #PF. */
bool pfc_read64(uint64_t va, uint64_t *val);
bool pfc_write64(uint64_t va, uint64_t val);

#endif
