/*
 * VMs built as data (EPT tables, memslots, notifiers) without running a vCPU:
 * the invalidation tests run them under every emulator, VMX or not.
 */
#ifndef MINIHV_TEST_INVAL_UTIL_H
#define MINIHV_TEST_INVAL_UTIL_H

#include "ept/ept_fmt.h"
#include "mm/hostpt.h"
#include "lib/kerrno.h"
#include "lib/ktest.h"
#include "ept/vm.h"

#define DVM_GPA (1ULL << 30)
#define SZ_2M (2ULL << 20)

static unsigned long dvm_flushes;

static inline void dvm_count_flush(struct vm *vm)
{
	(void)vm;
	dvm_flushes++; /* never launched: no TLB holds its translations */
}

/* A VM with @size of RAM at DVM_GPA backed by @level host pages. */
static inline bool dvm_create(struct vm *vm, uint64_t size, int level)
{
	static const struct mmu_caps caps = {
		.leaf_levels = (1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M), .ad = false,
		.flush = dvm_count_flush,
	};
	char err[200];

	if (!CHECK_EQ(vm_create(vm, "data", &caps, err, sizeof(err)), 0))
		return false;
	int r = vm_add_ram(vm, DVM_GPA, size, level, 0, 0, err, sizeof(err));
	if (!CHECK(r == 0, "vm_add_ram: %s", err)) {
		vm_destroy(vm);
		return false;
	}
	return true;
}

static inline uint64_t dvm_hva(struct vm *vm, uint64_t gpa)
{
	return memslots_page_hva(&vm->slots, gpa);
}

/* Fault @gpa in as the EPT-violation exit would; returns the result. */
static inline int dvm_fault(struct vm *vm, uint64_t gpa, bool write)
{
	char why[160];
	int r = mmu_fault(vm, gpa, write ? PT_PROT_W : PT_PROT_R, why,
				     sizeof(why));

	if (r)
		printk("# fault at %#llx: %s\n", (unsigned long long)gpa, why);
	return r;
}

static inline bool dvm_mapped(struct vm *vm, uint64_t gpa, uint64_t *pa)
{
	struct pt_walk w;

	if (pt_lookup(&vm->ept, gpa, &w))
		return false;
	if (pa)
		*pa = w.pa;
	return true;
}

/* The invariant, checked after every end(): EPT maps only what the host maps. */
static inline bool dvm_coherent(struct vm *vm)
{
	char why[200];
	long bad = ept_check_coherent(vm, why, sizeof(why));

	return CHECK(bad == 0, "%ld incoherent EPT leaves: %s", bad, why);
}

#endif
