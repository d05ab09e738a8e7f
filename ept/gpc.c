#include "ept/gpc.h"
#include "ept/inval.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

static bool fits_in_page(uint64_t gpa, uint64_t len)
{
	return len && (gpa & (PAGE_SIZE - 1)) + len <= PAGE_SIZE;
}

static void gpc_step(struct gpc *gpc, enum gpc_step step)
{
	if (gpc->hook)
		gpc->hook(gpc, step, gpc->hook_ctx);
}

/* Forget the mapping; @lock held for write. */
static void gpc_unmap(struct gpc *gpc)
{
	gpc->valid = false;
	gpc->pa = INVALID_GPA;
	gpc->khva = NULL;
}

void gpc_init(struct gpc *gpc, struct vm *vm)
{
	memset(gpc, 0, sizeof(*gpc));
	gpc->vm = vm;
	gpc->pa = INVALID_GPA;
	gpc->gpa = INVALID_GPA;
	rwlock_init(&gpc->lock, LOCK_RANK_GPC, "gpc->lock");
	spin_lock_init(&gpc->refresh_lock, LOCK_RANK_GPC_REFRESH, "gpc->refresh_lock");
}

/*
 * The memslot a cache at @gfn writes through (mmu_lock held): 0 with *@out,
 * -EFAULT where no slot is, -EACCES for a read-only one (the hypervisor
 * writes through the cache).
 */
static int cache_slot(struct vm *vm, uint64_t gfn, struct memslot **out)
{
	lockdep_assert_held(&vm->mmu_lock);
	*out = memslot_find(&vm->slots, gfn);
	return !*out ? -EFAULT : ((*out)->flags & MEMSLOT_READONLY) ? -EACCES : 0;
}

int gpc_activate(struct gpc *gpc, uint64_t gpa, uint64_t len)
{
	struct vm *vm = gpc->vm;
	struct memslot *s;

	/* Validate before touching anything: a refusal changes nothing. */
	if (gpa == INVALID_GPA || !fits_in_page(gpa, len))
		return -EINVAL;
	/*
	 * Everything under mmu_lock, which memslot changes and invalidations
	 * hold: the slot is looked up against a stable array, and whether the
	 * cache goes on vm->gpc_list is decided by @active read under the same
	 * lock that deactivate clears it under. Two CPUs activating one cache
	 * at once (or one activating while another deactivates) link it once,
	 * or not at all; deciding before taking the lock linked it twice, a
	 * cycle on the list. On the list before anything is mapped, so no
	 * invalidation is missed. Lock order mmu_lock -> gpc->lock, as in
	 * gpc_invalidate_start().
	 */
	spin_lock(&vm->mmu_lock);
	int r = cache_slot(vm, gpa >> PAGE_SHIFT, &s);
	if (!r) {
		write_lock(&gpc->lock);
		if (!gpc->active) {
			gpc->next = vm->gpc_list;
			vm->gpc_list = gpc;
		}
		gpc_unmap(gpc);
		gpc->gpa = gpa;
		gpc->len = len;
		gpc->generation = vm->slots.generation - 1; /* resolve the memslot again */
		gpc->active = true;
		write_unlock(&gpc->lock);
	}
	spin_unlock(&vm->mmu_lock);
	return r ? r : gpc_refresh(gpc, len);
}

void gpc_deactivate(struct gpc *gpc)
{
	struct vm *vm = gpc->vm;

	/* Under mmu_lock as gpc_activate(): @active and list membership change together. */
	spin_lock(&vm->mmu_lock);
	write_lock(&gpc->lock);
	gpc_unmap(gpc);
	bool was_active = gpc->active;
	gpc->active = false;
	write_unlock(&gpc->lock);
	for (struct gpc **p = &vm->gpc_list; was_active && *p; p = &(*p)->next) {
		if (*p == gpc) {
			*p = gpc->next;
			break;
		}
	}
	spin_unlock(&vm->mmu_lock);
}

bool gpc_check(struct gpc *gpc, uint64_t len)
{
	return gpc->active && gpc->valid && gpc->khva &&
	       gpc->generation == READ_ONCE(gpc->vm->slots.generation) &&
	       fits_in_page(gpc->gpa, len);
}

/* What the refresh loop learns under mmu_lock, before its walk. */
struct gpc_snap {
	bool busy;          /* an invalidation covering the gfn runs now */
	bool own;           /* ... and this CPU is inside an invalidation */
	int err;            /* the slot is gone (-EFAULT) or read-only (-EACCES) */
	uint64_t uhva;      /* where to walk */
};

/*
 * Is an invalidation covering our gfn running right now, and where does
 * the memslot put gpa? Under mmu_lock, which every memslot change and
 * invalidation holds (the slot array is never read without it). A new
 * uhva is published under @lock too, inside mmu_lock (the order of
 * gpc_invalidate_start()), before the walk: an invalidation that starts
 * after this point matches it and sets @invalidated.
 */
static void gpc_snapshot(struct gpc *gpc, struct gpc_snap *sn)
{
	struct vm *vm = gpc->vm;

	spin_lock(&vm->mmu_lock);
	write_lock(&gpc->lock);
	uint64_t gfn = gpc->gpa >> PAGE_SHIFT;
	sn->busy = vm->inval.in_progress &&
		   (vm->inval.range_start == INVALID_GPA ||
		    (gfn >= vm->inval.range_start && gfn < vm->inval.range_end));
	sn->own = sn->busy && vm_in_invalidation_here(vm);
	sn->err = 0;
	if (gpc->generation != vm->slots.generation) {
		struct memslot *s;

		sn->err = cache_slot(vm, gfn, &s);
		if (!sn->err) {
			gpc->uhva = memslot_gfn_to_hva(s, gfn);
			gpc->generation = vm->slots.generation;
		}
	}
	sn->uhva = gpc->uhva;
	write_unlock(&gpc->lock);
	spin_unlock(&vm->mmu_lock);
}

/*
 * The refresh loop of seed ../shared/seeds/001_2f6288b8cba2f4fe.txt, kept in
 * one function (a little over 60 lines) so that each unlock, walk and
 * recheck reads in order against the invalidation that may run between them.
 */
int gpc_refresh(struct gpc *gpc, uint64_t len)
{
	struct vm *vm = gpc->vm;
	int r = 0;

	spin_lock(&gpc->refresh_lock);
	write_lock(&gpc->lock);
	if (!gpc->active || !fits_in_page(gpc->gpa, len)) {
		r = -EINVAL;
		goto out;
	}
	/* Invalid before the lock is dropped: no user may trust the old mapping now. */
	gpc_unmap(gpc);
	gpc->refreshes++;
	for (;;) {
		struct pt_walk w;
		struct gpc_snap sn;

		gpc->refresh_loops++;
		gpc->invalidated = false;
		write_unlock(&gpc->lock);
		/*
		 * Each turn serves the calls other CPUs sent here, as KVM's vCPU
		 * loop would take their IPI. The vCPU loop calls this with
		 * interrupts off (vcpu_update_info() -> gpc_lock()), and the
		 * invalidation this loop waits for may itself wait, before its
		 * end(), for this CPU to acknowledge its TLB shootdown (mm/mm.c):
		 * without the poll each CPU waits for the other forever.
		 */
		smp_poll_calls();
		gpc_step(gpc, GPC_STEP_UNLOCKED);
		/*
		 * An invalidation that started before @invalidated was cleared and
		 * still runs may change the page tables during the walk and end
		 * before the lock is re-taken, unseen by @invalidated: look for one
		 * now, before the walk. Taken without @lock held, so the lock order
		 * stays mmu_lock -> @lock as in gpc_invalidate_start(). The slot
		 * again whenever memslots changed, also while the lock was dropped.
		 */
		gpc_snapshot(gpc, &sn);
		int found = sn.err ? -ENOENT : mm_lookup(vm->mm, sn.uhva, &w);
		gpc_step(gpc, GPC_STEP_WALKED);
		write_lock(&gpc->lock);

		if (!gpc->active) {
			r = -EINVAL; /* deactivated meanwhile */
			break;
		}
		if (sn.err) {
			r = sn.err;
			break;
		}
		/*
		 * The busy invalidation is this CPU's own (refresh called from a
		 * notifier or an mm step hook): it cannot end while we loop.
		 */
		if (sn.own) {
			r = -EAGAIN;
			break;
		}
		/*
		 * Retry if an invalidation covering this page ran at the walk, or
		 * one hit it while the lock was dropped (one running now is either,
		 * or clears @valid once it gets @lock). Invalidations elsewhere do
		 * not matter: the loop always makes progress against them.
		 */
		if (sn.busy || gpc->invalidated ||
		    gpc->generation != READ_ONCE(vm->slots.generation))
			continue;
		if (found || !(w.prot & PT_PROT_W)) {
			/* Not mapped, or write-protected by the host: stay invalid. */
			r = -EFAULT;
			break;
		}
		gpc->pa = ALIGN_DOWN(w.pa, PAGE_SIZE);
		gpc->khva = (uint8_t *)phys_to_virt(gpc->pa) + (gpc->gpa & (PAGE_SIZE - 1));
		gpc->valid = true;
		break;
	}
out:
	write_unlock(&gpc->lock);
	spin_unlock(&gpc->refresh_lock);
	return r;
}

int gpc_lock(struct gpc *gpc, uint64_t len, void **p)
{
	read_lock(&gpc->lock);
	while (!gpc_check(gpc, len)) {
		read_unlock(&gpc->lock);
		int r = gpc_refresh(gpc, len);
		if (r)
			return r;
		read_lock(&gpc->lock);
	}
	*p = gpc->khva;
	return 0;
}

void gpc_unlock(struct gpc *gpc)
{
	read_unlock(&gpc->lock);
}

void gpc_invalidate_start(struct vm *vm, uint64_t start, uint64_t end)
{
	lockdep_assert_held(&vm->mmu_lock);
	for (struct gpc *gpc = vm->gpc_list; gpc; gpc = gpc->next) {
		/*
		 * uhva may be stale after a memslot change: generation catches
		 * that. Read under @lock: gpc_refresh() sets it under @lock alone.
		 */
		write_lock(&gpc->lock);
		if (gpc->uhva < end && gpc->uhva + PAGE_SIZE > start) {
			gpc->valid = false;
			gpc->invalidated = true;
		}
		write_unlock(&gpc->lock);
	}
}
