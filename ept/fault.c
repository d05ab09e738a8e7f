/*
 * The secondary MMU's fault path (../shared/DESIGN.md, "Fault path"; seeds
 * 002 and 003 under ../shared/seeds/): a guest access that missed EPT is
 * resolved (gfn -> memslot -> hva -> host page tables, without mmu_lock),
 * then installed under mmu_lock if no invalidation raced with it. Pure: the
 * kernel runs it against host_mm, the host unit tests against an arena mm.
 */
#include "ept/ept_fmt.h"
#include "ept/fault.h"
#include "ept/vm.h"
#include "lib/lib.h"

static void fault_step(struct vm *vm, enum fault_step step)
{
	if (vm->fault_hook)
		vm->fault_hook(vm, step, vm->fault_hook_ctx);
}

/*
 * The host page fault a guest access causes, through the mm and its rules:
 * 0 with @w filled, 1 to retry (a change owns the page: a migrate between
 * its unmap and re-map), or -errno.
 */
static int host_fault_in(struct vm *vm, uint64_t hva, struct pt_walk *w)
{
	int r = mm_fault_in(vm->mm, hva);

	if (r == -EAGAIN)
		return 1;
	if (!r)
		vm_stat_inc(vm, host_faultins);
	return r ? r : mm_lookup_leaf(vm->mm, hva, w) ? -ENOENT : 0;
}

/*
 * Steps 1-3: snapshot seq, gfn -> memslot -> hva, walk the host page tables
 * (each entry read once, seed 003). 0 with @f filled, 1 to retry, or -errno
 * with @why.
 */
static int resolve(struct vm *vm, struct fault *f, char *why, size_t len)
{
	f->seq = mmu_invalidate_seq_snapshot(&vm->inval);
	vm_stat_inc(vm, ept_violations);
	fault_step(vm, FAULT_STEP_SNAPSHOT);
	return mmu_resolve(vm, f, why, len);
}

int mmu_resolve(struct vm *vm, struct fault *f, char *why, size_t len)
{
	/*
	 * A copy, taken under mmu_lock, which memslot changes hold: another
	 * CPU may change the slot array at any time (a removed slot's place is
	 * reused), and a removal after the copy moves seq, so the locked check
	 * discards this fault.
	 */
	struct memslot sl;
	struct memslot *slot;
	struct memslot_cache *mc = f->cache;

	/*
	 * The vCPU's copy serves while the generation it was taken at holds:
	 * the seq snapshot was read before the generation (smp_rmb), so a
	 * change that bumped it before the snapshot is seen here, and one
	 * after it moves seq (a removal is an invalidation: vm_memslot_remove())
	 * and the locked check discards this fault, as for the copy below.
	 */
	if (mc && READ_ONCE(vm->slots.generation) == mc->generation &&
	    f->gfn - mc->copy.base_gfn < mc->copy.npages) {
		slot = mc->slot;
		sl = mc->copy;
		__atomic_fetch_add(&slot->ept_violations, 1, __ATOMIC_RELAXED);
	} else {
		spin_lock(&vm->mmu_lock);
		slot = memslot_find(&vm->slots, f->gfn);
		if (slot) {
			__atomic_fetch_add(&slot->ept_violations, 1, __ATOMIC_RELAXED);
			sl = *slot;
			if (mc)
				*mc = (struct memslot_cache){ vm->slots.generation, slot, sl };
		}
		spin_unlock(&vm->mmu_lock);
	}
	if (!slot) {
		ksnprintf(why, len, "guest access to GPA %#llx outside every memslot",
			  (unsigned long long)f->gpa);
		return -EFAULT;
	}
	if (f->write && (sl.flags & MEMSLOT_READONLY)) {
		ksnprintf(why, len, "guest write to read-only memory at GPA %#llx",
			  (unsigned long long)f->gpa);
		return -EACCES;
	}
	uint64_t hva = memslot_gfn_to_hva(&sl, f->gfn);
	struct pt_walk w;
	int r = mm_lookup_leaf(vm->mm, hva, &w) ? host_fault_in(vm, hva, &w) : 0;
	if (r == 1) {
		vm_stat_inc(vm, ept_retries);
		return 1;
	}
	if (r) {
		ksnprintf(why, len, "GPA %#llx: cannot map backing at hva %#llx: %s",
			  (unsigned long long)f->gpa, (unsigned long long)hva, errno_name(r));
		return r;
	}
	if (w.prot & PT_PROT_NUMA) {
		/* The host's NUMA hint fault (Linux's do_numa_page), taken for the guest. */
		mm_numa_fault(vm->mm, hva);
		vm_stat_inc(vm, numa_faults);
		w.prot &= ~PT_PROT_NUMA;
	}
	if (f->write && !(w.prot & PT_PROT_W)) {
		ksnprintf(why, len, "guest write to GPA %#llx, whose host page %#llx is "
			  "write-protected", (unsigned long long)f->gpa, (unsigned long long)hva);
		return -EPERM;
	}
	fault_step(vm, FAULT_STEP_WALKED);
	f->prot = PT_PROT_R | PT_PROT_X;
	if (!(sl.flags & MEMSLOT_READONLY) && (w.prot & PT_PROT_W))
		f->prot |= PT_PROT_W;
	f->level = memslot_max_level(&sl, f->gfn, MIN(w.level, vm->ept_max_level));
	f->page_pa = ALIGN_DOWN(w.pa, PAGE_SIZE);
	return 0;
}

static bool count_one(void *ctx, uint64_t va, int level, pte_t *e)
{
	(void)va, (void)level, (void)e;
	(*(long *)ctx)++;
	return true;
}

static long count_leaves(struct pt *pt, uint64_t va, uint64_t size)
{
	long n = 0;

	pt_for_each_leaf(pt, va, size, count_one, &n);
	return n;
}

/*
 * pt_map() found something in the way of @f's leaf: empty tables that a
 * larger leaf may replace, a leaf mapped meanwhile, or smaller leaves / a
 * read-only leaf to replace page-wise. mmu_lock held.
 */
static int map_over(struct vm *vm, struct fault *f, uint64_t base_gpa, uint64_t base_pa,
		    uint64_t size)
{
	int r = -EEXIST;

	if (f->level > PT_LEVEL_4K && !count_leaves(&vm->ept, base_gpa, size)) {
		/*
		 * Zapped leaves leave their tables behind. Drop the empty ones so a
		 * larger leaf can take their place (after a collapse), and flush:
		 * the CPU may cache the old table pointers; the pages wait for that
		 * flush before they are freed (defer_frees).
		 */
		pt_unmap(&vm->ept, base_gpa, size);
		vm_flush_ept(vm);
		r = pt_map(&vm->ept, base_gpa, base_pa, size, f->prot, f->level);
		if (r != -EEXIST)
			return r;
	}
	struct pt_walk e;
	if (pt_lookup(&vm->ept, f->gpa, &e) == 0 && (!f->write || (e.prot & PT_PROT_W))) {
		vm_stat_inc(vm, ept_spurious); /* mapped meanwhile: nothing to do */
		f->level = 0;
		return 0;
	}
	/* Smaller leaves live inside the block, or a read-only leaf is upgraded: one page. */
	int old_level = 0;
	uint64_t page = ALIGN_DOWN(f->gpa, PAGE_SIZE);

	pt_find_leaf(&vm->ept, f->gpa, &old_level);
	/*
	 * A huge leaf goes whole, also over pages not mapped back here:
	 * flush, or a later invalidation of one of them finds no leaf,
	 * skips its flush and leaves the old translation cached.
	 */
	if (pt_zap(&vm->ept, page, PAGE_SIZE, 0) && old_level > PT_LEVEL_4K)
		vm_flush_ept(vm);
	f->level = PT_LEVEL_4K;
	return pt_map(&vm->ept, page, f->page_pa, PAGE_SIZE, f->prot, f->level);
}

/* Steps 4-5: the lockless pre-check, then under mmu_lock the locked check decides. */
static int install(struct vm *vm, struct fault *f, char *why, size_t len)
{
	uint64_t size = pt_level_size(f->level);
	uint64_t base_gpa = ALIGN_DOWN(f->gpa, size);
	uint64_t base_pa = f->page_pa - (ALIGN_DOWN(f->gpa, PAGE_SIZE) - base_gpa);

	/* Seed 002: a fault in a running invalidation retries now, without the lock. */
	if (mmu_invalidate_retry_gfn_unsafe(&vm->inval, f->seq, f->gfn)) {
		vm_stat_inc(vm, ept_retries);
		vm_stat_inc(vm, ept_retries_unlocked);
		return 0;
	}
	fault_step(vm, FAULT_STEP_LOCK);
	spin_lock(&vm->mmu_lock);
	if (mmu_invalidate_retry_gfn(&vm->inval, f->seq, f->gfn)) {
		spin_unlock(&vm->mmu_lock);
		vm_stat_inc(vm, ept_retries);
		return 0; /* the guest re-faults and walks the new host state */
	}
	/* gfn and pfn congruent modulo the leaf size. */
	WARN_ON_ONCE(!IS_ALIGNED(base_pa, size));
	/* A 4 KiB leaf under tables already built, the common first touch: one walk. */
	int r = f->level == PT_LEVEL_4K ? pt_map_4k(&vm->ept, base_gpa, base_pa, f->prot) : -EAGAIN;
	if (r == -EAGAIN)
		r = pt_map(&vm->ept, base_gpa, base_pa, size, f->prot, f->level);
	if (r == -EEXIST)
		r = map_over(vm, f, base_gpa, base_pa, size);
	if (!r && f->level)
		vm_stat_inc(vm, ept_installed[f->level]);
	/* A failed map rolls back, possibly dropping tables the CPU may have cached. */
	if (r)
		vm_flush_ept(vm);
	spin_unlock(&vm->mmu_lock);
	if (r)
		ksnprintf(why, len, "cannot install EPT entry for GPA %#llx: %s",
			  (unsigned long long)f->gpa, errno_name(r));
	return r;
}

int mmu_fault_cached(struct vm *vm, struct memslot_cache *mc, uint64_t gpa, unsigned access,
		     char *why, size_t len)
{
	struct fault f = { .gpa = gpa, .gfn = gpa >> PAGE_SHIFT, .write = access & PT_PROT_W,
			   .cache = mc };
	int r = resolve(vm, &f, why, len);

	if (r)
		return r == 1 ? 0 : r;
	return install(vm, &f, why, len);
}

int mmu_fault(struct vm *vm, uint64_t gpa, unsigned access, char *why, size_t len)
{
	return mmu_fault_cached(vm, NULL, gpa, access, why, len);
}
