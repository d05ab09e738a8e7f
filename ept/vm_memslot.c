/*
 * Memslot changes of a VM: never inside an invalidation (mn_active), and a
 * removal is itself an invalidation of the slot's gfns, with the same
 * bracket as a host change (ept/notify.c). Pure: host-tested.
 */
#include "ept/gpc.h"
#include "ept/notify.h"
#include "ept/vm.h"
#include "lib/lib.h"

int vm_memslot_add(struct vm *vm, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		   char *err, size_t errlen)
{
	int r;

	spin_lock(&vm->mmu_lock);
	if (vm->mn_active) {
		/* A start/end pair must see the same slots: no change in between. */
		ksnprintf(err, errlen, "memslot change refused: %ld invalidation(s) in progress",
			  vm->mn_active);
		r = -EBUSY;
	} else {
		r = memslot_add(&vm->slots, gpa, size, hva, flags, err, errlen);
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}

int vm_memslot_remove(struct vm *vm, uint64_t gpa)
{
	struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);
	int r = -ENOENT;

	spin_lock(&vm->mmu_lock);
	if (vm->mn_active) {
		r = -EBUSY;
	} else if (s && s->base_gfn == gpa >> PAGE_SHIFT) {
		/*
		 * Removing a slot is an invalidation of its gfns: a fault that looked
		 * the slot up before must see seq move and retry, not install; and
		 * no cache may keep a page the slot no longer gives the guest.
		 */
		struct mmu_range all = { s->hva, s->hva + (s->npages << PAGE_SHIFT), MMU_EV_UNMAP, 0 };

		mmu_invalidate_begin(&vm->inval);
		gpc_invalidate_start(vm, all.start, all.end);
		vm_zapped(vm, vm_invalidate_gfns(vm, s, s->base_gfn, s->base_gfn + s->npages, &all));
		r = memslot_remove(&vm->slots, gpa);
		mmu_invalidate_end(&vm->inval);
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}
