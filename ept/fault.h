/* The fault path's resolve step, shared by EPT/NPT (ept/fault.c) and shadow paging. */
#ifndef MINIHV_EPT_FAULT_H
#define MINIHV_EPT_FAULT_H

#include "lib/lib.h"

struct vm;

/*
 * What resolve() found, consumed by install() only under mmu_lock (seed
 * ../shared/seeds/003_c1c4202c3c43e2ca.txt).
 */
struct fault {
	uint64_t gpa, gfn, seq;
	bool write;
	unsigned prot;      /* for the leaf: R|X, W where slot and host allow it */
	int level;          /* min(host level, memslot alignment, EPT capability) */
	uint64_t page_pa;   /* the host frame of the faulting page */
	struct memslot_cache *cache; /* the vCPU's, or NULL */
};

/*
 * gfn -> memslot -> hva -> host page tables (each entry read once, seed
 * 003), faulting the backing in where the host has none. The caller took
 * its seq snapshot first. 0 with @f filled, 1 to retry, or -errno with @why.
 */
int mmu_resolve(struct vm *vm, struct fault *f, char *why, size_t len);

#endif
