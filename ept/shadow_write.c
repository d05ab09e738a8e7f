/*
 * Writes to guest page tables the shadow MMU protects (ept/shadow.c's
 * companion): whether a gfn is write-protected, protecting and
 * unprotecting it, and a store emulated into one, with the shadow entries
 * built from what it overwrote dropped. Pure: host-tested.
 */
#include "ept/fault.h"
#include "ept/shadow_int.h"
#include "ept/shadow_walk.h"
#include "ept/vm.h"
#include "lib/lib.h"

bool gfn_write_protected(struct vm *vm, uint64_t gfn)
{
	for (struct shadow_page *sp = sp_first_of_gfn(vm, gfn); sp;
	     sp = sp_next_of_gfn(vm, sp->hash_next, gfn))
		if (!sp->unsync)
			return true;
	return false;
}

bool shadow_write_protect_gfn(struct vm *vm, uint64_t gfn)
{
	bool any = rmap_for_gfn(vm, gfn, rmap_wp_one, NULL) > 0;

	if (any)
		vm->smmu.need_flush = true;
	return any;
}

bool shadow_unprotect_gfn(struct vm *vm, uint64_t gfn)
{
	bool any = false;

	spin_lock(&vm->mmu_lock);
	for (struct shadow_page *sp = sp_first_of_gfn(vm, gfn); sp; sp = sp_first_of_gfn(vm, gfn)) {
		sp_zap(vm, sp);
		any = true;
	}
	if (any)
		vm_stat_inc(vm, shadow_unprotected);
	shadow_flush(vm);
	spin_unlock(&vm->mmu_lock);
	return any;
}

void shadow_track_write(struct vm *vm, uint64_t gfn, uint64_t off, uint64_t len)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (!len || off + len > PAGE_SIZE)
		return;
	for (struct shadow_page *sp = sp_first_of_gfn(vm, gfn); sp;
	     sp = sp_next_of_gfn(vm, sp->hash_next, gfn))
		for (unsigned i = (unsigned)(off / 8); i <= (off + len - 1) / 8; i++)
			if (spte_present(pte_read(&sp->spt[i])))
				vm->smmu.need_flush |= sp_drop_entry(vm, sp, i);
	shadow_flush(vm);
}

int shadow_emulated_write(struct vm *vm, uint64_t gpa, uint64_t val, unsigned len, char *why,
			  size_t n)
{
	uint64_t gfn = gpa >> PAGE_SHIFT, off = gpa & (PAGE_SIZE - 1);

	if (!len || len > 8 || off + len > PAGE_SIZE) {
		ksnprintf(why, n, "emulated write of %u bytes at GPA %#llx crosses a page", len,
			  (unsigned long long)gpa);
		return -EINVAL;
	}
	bool hw;
	uint64_t missing;

	spin_lock(&vm->mmu_lock);
	/*
	 * Under mmu_lock no invalidation can start, but one that started
	 * before may be replacing @gfn's host page (a migrate copies it after
	 * start()): a store through the old mapping could land in a frame
	 * already copied, and be lost. The guest stores again after end(), as
	 * a fault would retry.
	 */
	if (mmu_invalidate_covers_gfn(&vm->inval, gfn)) {
		spin_unlock(&vm->mmu_lock);
		vm_stat_inc(vm, ept_retries);
		return -EAGAIN;
	}
	uint64_t *word = shadow_gpa_word(vm, gfn << PAGE_SHIFT, &hw, &missing);
	if (word && hw) {
		memcpy((char *)word + off, &val, len);
		shadow_track_write(vm, gfn, off, len);
		spin_unlock(&vm->mmu_lock);
		return 0;
	}
	spin_unlock(&vm->mmu_lock);
	if (!word && !missing) {
		ksnprintf(why, n, "guest write to GPA %#llx outside every memslot",
			  (unsigned long long)gpa);
		return -EFAULT;
	}
	if (word) {
		ksnprintf(why, n, "guest write to GPA %#llx, whose host page is read-only",
			  (unsigned long long)gpa);
		return -EPERM;
	}
	int r = mm_fault_in(vm->mm, missing);
	if (r && r != -EAGAIN)
		return r;
	return -EAGAIN; /* the guest executes the store again (walk_unlocked() says why) */
}
