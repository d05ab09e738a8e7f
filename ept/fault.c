/*
 * The EPT-violation path: build the secondary MMU on demand from the primary
 * one. Order matters (DESIGN.md, seeds 002 and 003):
 *   snapshot seq (+ smp_rmb) -> gfn -> memslot -> hva -> walk the host page
 *   tables reading each entry once -> take mmu_lock -> retry_gfn? -> install.
 * The host mapping level is consumed only under mmu_lock after retry_gfn()
 * said no invalidation raced with the walk (seed 003, first rule).
 */
#include "bug.h"
#include "ept.h"
#include "hostpt.h"
#include "kerrno.h"
#include "printk.h"
#include "vm.h"
#include "vmcs_defs.h"

int ept_handle_violation(struct vm *vm, uint64_t gpa, uint64_t qual, char *why, size_t len)
{
	uint64_t seq = mmu_invalidate_seq_snapshot(&vm->inval);
	uint64_t gfn = gpa >> PAGE_SHIFT;
	bool write = qual & EPT_QUAL_WRITE;

	vm->stats.ept_violations++;
	struct memslot *slot = memslot_find(&vm->slots, gfn);
	if (!slot) {
		ksnprintf(why, len, "guest access to GPA %#llx outside every memslot",
			  (unsigned long long)gpa);
		return -EFAULT;
	}
	slot->ept_violations++;
	if (write && (slot->flags & MEMSLOT_READONLY)) {
		ksnprintf(why, len, "guest write to read-only memory at GPA %#llx",
			  (unsigned long long)gpa);
		return -EACCES;
	}

	uint64_t hva = memslot_gfn_to_hva(slot, gfn);
	struct pt_walk w;
	if (host_lookup(hva, &w)) {
		ksnprintf(why, len, "GPA %#llx: backing hva %#llx is not mapped by the host",
			  (unsigned long long)gpa, (unsigned long long)hva);
		return -EFAULT;
	}
	unsigned prot = PT_PROT_R | PT_PROT_X;
	if (!(slot->flags & MEMSLOT_READONLY) && (w.prot & PT_PROT_W))
		prot |= PT_PROT_W;

	/* Leaf level: min(host level, memslot alignment, EPT capability). */
	int level = MIN(w.level, vm->ept_max_level);
	level = memslot_max_level(slot, gfn, level);
	uint64_t size = pt_level_size(level);
	uint64_t base_gpa = ALIGN_DOWN(gpa, size) & ~(PAGE_SIZE - 1);
	uint64_t base_pa = ALIGN_DOWN(w.pa, size);
	/* gfn and pfn congruent modulo the page size: memslot_max_level() checked hva. */
	WARN_ON_ONCE((w.pa - base_pa) != ((gpa & ~(PAGE_SIZE - 1)) - base_gpa));

	/* Lockless pre-check: a fault inside a running invalidation retries at once. */
	if (mmu_invalidate_retry_gfn_unsafe(&vm->inval, seq, gfn)) {
		vm->stats.ept_retries++;
		return 0;
	}
	spin_lock(&vm->mmu_lock);
	if (mmu_invalidate_retry_gfn(&vm->inval, seq, gfn)) {
		spin_unlock(&vm->mmu_lock);
		vm->stats.ept_retries++;
		return 0; /* the guest re-faults and walks the new host state */
	}
	int r = pt_map(&vm->ept, base_gpa, base_pa, size, prot, level);
	if (r == -EEXIST) {
		struct pt_walk e;

		if (pt_lookup(&vm->ept, gpa, &e) == 0) {
			/* Another path mapped it first: nothing to do. */
			vm->stats.ept_spurious++;
			r = 0;
		} else {
			/* Smaller mappings exist inside the block: map just this page. */
			level = PT_LEVEL_4K;
			r = pt_map(&vm->ept, gpa & ~(PAGE_SIZE - 1),
				   w.pa & ~(PAGE_SIZE - 1), PAGE_SIZE, prot, level);
			if (!r)
				vm->stats.ept_installed[level]++;
		}
	} else if (!r) {
		vm->stats.ept_installed[level]++;
	}
	spin_unlock(&vm->mmu_lock);
	if (r)
		ksnprintf(why, len, "cannot install EPT entry: %s", errno_name(r));
	return r;
}
