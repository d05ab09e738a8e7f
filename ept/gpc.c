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

/*
 * The index of a VM's active caches by uhva (vm->gpc_index), an AVL tree
 * threaded through the caches themselves (nothing to allocate), keyed by
 * (uhva, address) so that caches of one page are distinct keys. Changed and
 * walked under mmu_lock only; a cache's key (uhva) changes only under it
 * too, taken out and put back around the change (index_rekey()).
 */
static int idx_h(const struct gpc *n)
{
	return n ? n->idx_height : 0;
}

static void idx_fix(struct gpc *n)
{
	n->idx_height = 1 + MAX(idx_h(n->idx_left), idx_h(n->idx_right));
}

static struct gpc *idx_rot_right(struct gpc *n)
{
	struct gpc *l = n->idx_left;

	n->idx_left = l->idx_right;
	l->idx_right = n;
	idx_fix(n);
	idx_fix(l);
	return l;
}

static struct gpc *idx_rot_left(struct gpc *n)
{
	struct gpc *r = n->idx_right;

	n->idx_right = r->idx_left;
	r->idx_left = n;
	idx_fix(n);
	idx_fix(r);
	return r;
}

/* Restore |height(left) - height(right)| <= 1 at @n after one insert or erase below it. */
static struct gpc *idx_balance(struct gpc *n)
{
	idx_fix(n);
	int b = idx_h(n->idx_left) - idx_h(n->idx_right);
	if (b > 1) {
		if (idx_h(n->idx_left->idx_left) < idx_h(n->idx_left->idx_right))
			n->idx_left = idx_rot_left(n->idx_left);
		return idx_rot_right(n);
	}
	if (b < -1) {
		if (idx_h(n->idx_right->idx_right) < idx_h(n->idx_right->idx_left))
			n->idx_right = idx_rot_right(n->idx_right);
		return idx_rot_left(n);
	}
	return n;
}

static bool idx_before(const struct gpc *a, const struct gpc *b)
{
	return a->uhva != b->uhva ? a->uhva < b->uhva : (uintptr_t)a < (uintptr_t)b;
}

static struct gpc *idx_insert(struct gpc *root, struct gpc *g)
{
	if (!root) {
		g->idx_left = g->idx_right = NULL;
		g->idx_height = 1;
		return g;
	}
	if (idx_before(g, root))
		root->idx_left = idx_insert(root->idx_left, g);
	else
		root->idx_right = idx_insert(root->idx_right, g);
	return idx_balance(root);
}

static struct gpc *idx_take_min(struct gpc *n, struct gpc **min)
{
	if (!n->idx_left) {
		*min = n;
		return n->idx_right;
	}
	n->idx_left = idx_take_min(n->idx_left, min);
	return idx_balance(n);
}

static struct gpc *idx_erase(struct gpc *root, struct gpc *g)
{
	if (WARN_ON_ONCE(!root)) /* not in the index: its key changed behind its back */
		return NULL;
	if (root == g) {
		struct gpc *m, *right;

		if (!g->idx_right)
			return g->idx_left;
		right = idx_take_min(g->idx_right, &m);
		m->idx_right = right;
		m->idx_left = g->idx_left;
		return idx_balance(m);
	}
	if (idx_before(g, root))
		root->idx_left = idx_erase(root->idx_left, g);
	else
		root->idx_right = idx_erase(root->idx_right, g);
	return idx_balance(root);
}

/* A new uhva for @gpc: mmu_lock and @gpc->lock held. */
static void index_rekey(struct vm *vm, struct gpc *gpc, uint64_t uhva)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (gpc->active)
		vm->gpc_index = idx_erase(vm->gpc_index, gpc);
	gpc->uhva = uhva;
	if (gpc->active)
		vm->gpc_index = idx_insert(vm->gpc_index, gpc);
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
			vm->gpc_index = idx_insert(vm->gpc_index, gpc);
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
	if (was_active)
		vm->gpc_index = idx_erase(vm->gpc_index, gpc);
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
			index_rekey(vm, gpc, memslot_gfn_to_hva(s, gfn));
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

/*
 * Invalidate the caches of @n's subtree whose page overlaps [start, end):
 * each step leaves out a subtree that lies wholly below or above the range,
 * so this visits O(height + hits) caches, whatever the range's size.
 */
static void invalidate_subtree(struct gpc *n, uint64_t start, uint64_t end)
{
	while (n) {
		if (n->uhva + PAGE_SIZE <= start) {
			n = n->idx_right;  /* @n and all left of it end at or below start */
			continue;
		}
		if (n->uhva >= end) {
			n = n->idx_left;   /* @n and all right of it start at or above end */
			continue;
		}
		invalidate_subtree(n->idx_left, start, end);
		/* Under @lock: users read valid under it, refresh clears invalidated under it. */
		write_lock(&n->lock);
		n->valid = false;
		n->invalidated = true;
		write_unlock(&n->lock);
		n = n->idx_right;
	}
}

void gpc_invalidate_start(struct vm *vm, uint64_t start, uint64_t end)
{
	lockdep_assert_held(&vm->mmu_lock);
	/*
	 * uhva may be stale after a memslot change: generation catches that.
	 * The index is keyed by uhva as it is now: every write of uhva
	 * (gpc_snapshot()) holds mmu_lock, as we do.
	 */
	invalidate_subtree(vm->gpc_index, start, end);
}
