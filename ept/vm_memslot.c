/*
 * Memslot changes of a VM: never inside an invalidation (mn_active), and a
 * removal is itself an invalidation of the slot's gfns, with the same
 * bracket as a host change (ept/notify.c). Pure: host-tested.
 */
#include "ept/gpc.h"
#include "ept/notify.h"
#include "ept/vm.h"
#include "lib/lib.h"

/*
 * Take mmu_lock with no invalidation active: a start/end pair must see the
 * same slots, so a change waits for those in flight (KVM's
 * mn_active_invalidate_count wait) with the lock dropped, so that their
 * end() can take it. 0 with mmu_lock held, or -EDEADLK without it when this
 * CPU is inside one of them itself (a notifier or an mm step hook): its
 * end() cannot run while we wait.
 *
 * New invalidations may keep starting while we wait: this waits for a
 * moment with none, as KVM's does (it makes new ones wait instead, a
 * fairness this minimal VM does not need yet).
 */
static int lock_quiescent(struct vm *vm)
{
	for (;;) {
		spin_lock(&vm->mmu_lock);
		if (!vm->mn_active)
			return 0;
		spin_unlock(&vm->mmu_lock);
		if (vm_in_invalidation_here(vm))
			return -EDEADLK;
		while (READ_ONCE(vm->mn_active))
			hal_cpu_relax();
	}
}

int vm_memslot_add(struct vm *vm, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		   char *err, size_t errlen)
{
	/*
	 * The slot arrays come from the frames of the VM's EPT on its first
	 * slot (ept/memslot.h: too big for struct vm), before the lock: the
	 * allocator has a lock of its own. Every VM gets its first slot
	 * before a second CPU could add one.
	 */
	int r = memslots_alloc(&vm->slots, vm->ept.fa);

	if (r) {
		ksnprintf(err, errlen, "no memory for the memslot arrays");
		return r;
	}
	r = lock_quiescent(vm);
	if (r) {
		ksnprintf(err, errlen, "memslot change refused: called inside an invalidation "
			  "on this CPU, which would wait for itself");
		return r;
	}
	r = memslot_add(&vm->slots, gpa, size, hva, flags, err, errlen);
	spin_unlock(&vm->mmu_lock);
	return r;
}

int vm_memslot_remove(struct vm *vm, uint64_t gpa)
{
	int r = lock_quiescent(vm);

	if (r)
		return r;
	/* Looked up under the lock: another CPU may change the array until we hold it. */
	struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);
	r = -ENOENT;
	if (s && s->base_gfn == gpa >> PAGE_SHIFT) {
		/*
		 * Removing a slot is an invalidation of its gfns: a fault that looked
		 * the slot up before must see seq move and retry, not install; and
		 * no cache may keep a page the slot no longer gives the guest.
		 */
		struct mmu_range all = { s->hva, s->hva + (s->npages << PAGE_SHIFT), MMU_EV_UNMAP, 0 };

		mmu_invalidate_begin(&vm->inval);
		gpc_invalidate_start(vm, all.start, all.end);
		long zapped = vm_invalidate_gfns(vm, s, s->base_gfn, s->base_gfn + s->npages, &all);

		if (vm->shadow)
			zapped += shadow_zap_slot(vm, s->base_gfn, s->base_gfn + s->npages);
		vm_zapped(vm, zapped);
		r = memslot_remove(&vm->slots, gpa);
		mmu_invalidate_end(&vm->inval);
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}
