/*
 * VMs built as data (EPT tables, memslots, notifiers) without running a vCPU:
 * the invalidation tests run them under every emulator, VMX or not.
 */
#ifndef MINIHV_TEST_INVAL_UTIL_H
#define MINIHV_TEST_INVAL_UTIL_H

#include "ept_fmt.h"
#include "hostpt.h"
#include "kerrno.h"
#include "ktest.h"
#include "vm.h"
#include "vmx_caps.h"

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
	static const struct vmx_caps caps = {
		.vmx = true, .ept = true, .ept_walk4 = true, .ept_wb = true, .ept_2m = true,
		.invept = true, .invept_single = true,
	};
	char err[200];

	if (!CHECK_EQ(vm_create(vm, "data", &caps, err, sizeof(err)), 0))
		return false;
	vm->flush = dvm_count_flush;
	int r = vm_add_ram(vm, DVM_GPA, size, level, 0, 0, err, sizeof(err));
	if (!CHECK(r == 0, "vm_add_ram: %s", err)) {
		vm_destroy(vm);
		return false;
	}
	return true;
}

static inline uint64_t dvm_hva(struct vm *vm, uint64_t gpa)
{
	return memslot_gfn_to_hva(memslot_find(&vm->slots, gpa >> 12), gpa >> 12);
}

/* Fault @gpa in as the EPT-violation exit would; returns the result. */
static inline int dvm_fault(struct vm *vm, uint64_t gpa, bool write)
{
	char why[160];
	int r = ept_handle_violation(vm, gpa, write ? EPT_QUAL_WRITE : EPT_QUAL_READ, why,
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
