/*
 * The secondary MMU's side of the primary MMU's notifiers (../shared/DESIGN.md,
 * "The rules to reproduce"; seeds 000_2316efe6a1f42eb7.txt and
 * 002_e1e06e68a47d5deb.txt under ../shared/seeds/): every
 * host change is an invalidation of the gfns it covers, with precise zaps and
 * at most one flush per batch; aging reads (and clears) EPT accessed bits.
 * Pure: host-tested against an arena-backed mm.
 */
#include "ept/ept_fmt.h"
#include "ept/gpc.h"
#include "ept/notify.h"
#include "ept/vm.h"
#include "lib/lib.h"

#define vm_of(mn) ((struct vm *)((char *)(mn) - offsetof(struct vm, mn)))

/* The gfn range of @s that host [start, end) covers; partly covered pages count. */
static bool slot_gfns(const struct memslot *s, uint64_t start, uint64_t end, uint64_t *gs,
		      uint64_t *ge)
{
	uint64_t s_end = s->hva + (s->npages << PAGE_SHIFT);
	uint64_t a = MAX(start, s->hva), b = MIN(end, s_end);

	if (a >= b)
		return false;
	*gs = s->base_gfn + ((a - s->hva) >> PAGE_SHIFT);
	*ge = s->base_gfn + ((b + PAGE_SIZE - 1 - s->hva) >> PAGE_SHIFT);
	return true;
}

/*
 * Call @fn for the gfns of each memslot that host [start, end) covers; the
 * sum of what it returns (with a NULL @fn: how many slots the range touches).
 */
static long for_each_slot_range(struct vm *vm, uint64_t start, uint64_t end,
				long (*fn)(struct vm *vm, const struct memslot *s, uint64_t gs,
					   uint64_t ge, void *ctx),
				void *ctx)
{
	long sum = 0;

	for (unsigned i = 0; i < vm->slots.n; i++) {
		uint64_t gs, ge;

		if (slot_gfns(&vm->slots.slot[i], start, end, &gs, &ge))
			sum += fn ? fn(vm, &vm->slots.slot[i], gs, ge, ctx) : 1;
	}
	return sum;
}

/* What an event takes away from the guest: the protection EPT may keep (0 = nothing). */
static unsigned keep_prot(const struct mmu_range *r)
{
	if (r->event != MMU_EV_PROTECT || !(r->prot & PT_PROT_R))
		return 0; /* everything goes */
	return (r->prot & PT_PROT_W) ? PT_PROT_RWX : PT_PROT_R | PT_PROT_X;
}

struct numa_zap {
	struct vm *vm;
	const struct memslot *slot;
	long zapped;
};

static bool numa_zap_one(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct numa_zap *z = ctx;
	uint64_t hva = memslot_gfn_to_hva(z->slot, gpa >> PAGE_SHIFT);
	bool changes = false;

	/* A huge leaf sits on huge host pages, which never migrate: ask page by page anyway. */
	for (uint64_t off = 0; off < pt_level_size(level) && !changes; off += PAGE_SIZE)
		changes = mm_numa_would_change(z->vm->mm, hva + off);
	if (changes) {
		/* An exchange: a running vCPU may be setting A/D bits (pt_zap() in mm/pt.c). */
		__atomic_exchange_n(entry, 0, __ATOMIC_ACQ_REL);
		z->zapped++;
	}
	return true;
}

/*
 * NUMA hinting (seed 002): zap only the leaves whose host pages the hint
 * really changes; start() runs before the change, so the mm still tells.
 */
static long zap_numa(struct vm *vm, const struct memslot *slot, uint64_t gs, uint64_t ge)
{
	struct numa_zap z = { vm, slot, 0 };

	pt_for_each_leaf(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, numa_zap_one, &z);
	return z.zapped;
}

long vm_invalidate_gfns(struct vm *vm, const struct memslot *s, uint64_t gs, uint64_t ge,
			void *ctx)
{
	const struct mmu_range *r = ctx;
	unsigned keep = keep_prot(r);

	lockdep_assert_held(&vm->mmu_lock);
	mmu_invalidate_range_add(&vm->inval, gs, ge);
	/* Precise: a change that takes nothing from the guest zaps nothing. */
	if (r->event == MMU_EV_PROTECT_NUMA)
		return vm->shadow ? shadow_zap_numa(vm, s, gs, ge) : zap_numa(vm, s, gs, ge);
	if (r->event == MMU_EV_PROTECT && keep == PT_PROT_RWX)
		return 0;
	if (vm->shadow)
		return shadow_zap_gfns(vm, gs, ge, keep);
	return pt_zap(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, keep);
}

void vm_zapped(struct vm *vm, long zapped)
{
	vm_stat_add(vm, ept_zaps, zapped);
	/* One flush per batch, and none if nothing present was zapped. */
	if (zapped)
		vm_flush_ept(vm);
}

static void vm_invalidate_start(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct vm *vm = vm_of(mn);

	spin_lock(&vm->mmu_lock);
	/*
	 * Every invalidation counts, memslot or not (KVM's
	 * mn_active_invalidate_count): a memslot added in the middle of one
	 * would give its end() a slot whose start() never ran.
	 */
	/* WRITE_ONCE: memslot changes wait for it to drop without the lock (vm_memslot.c). */
	WRITE_ONCE(vm->mn_active, vm->mn_active + 1);
	if (cpu_id() < LOCKDEP_MAX_CPUS)
		vm->mn_active_cpu[cpu_id()]++;
	/* Caches first: one may point at a page no memslot covers any more. */
	gpc_invalidate_start(vm, r->start, r->end);
	if (!for_each_slot_range(vm, r->start, r->end, NULL, NULL)) {
		spin_unlock(&vm->mmu_lock);
		return; /* no gfn can change: no begin(), no zap, no flush */
	}
	mmu_invalidate_begin(&vm->inval);
	long zapped = for_each_slot_range(vm, r->start, r->end, vm_invalidate_gfns, (void *)r);
	vm_stat_inc(vm, invalidations);
	vm_zapped(vm, zapped);
	spin_unlock(&vm->mmu_lock);
}

static void vm_invalidate_end(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct vm *vm = vm_of(mn);

	spin_lock(&vm->mmu_lock);
	/* No memslot changed since start() (mn_active kept them out): the same test. */
	if (for_each_slot_range(vm, r->start, r->end, NULL, NULL) &&
	    !mmu_invalidate_end(&vm->inval))
		VM_BUG_ON(true, vm); /* more end()s than begin()s */
	if (VM_BUG_ON(vm->mn_active <= 0, vm))
		vm->mn_active = 1; /* an end() without its start(): keep the count sane */
	WRITE_ONCE(vm->mn_active, vm->mn_active - 1);
	if (cpu_id() < LOCKDEP_MAX_CPUS && vm->mn_active_cpu[cpu_id()])
		vm->mn_active_cpu[cpu_id()]--;
	spin_unlock(&vm->mmu_lock);
}

struct young_ctx {
	bool clear, ad, young;
	long zapped;
	uint64_t accessed; /* the format's accessed bit */
};

static bool young_one(void *ctx, uint64_t va, int level, pte_t *entry)
{
	struct young_ctx *y = ctx;
	pte_t e = pte_read(entry);

	(void)va, (void)level;
	if (y->ad) {
		y->young |= (e & y->accessed) != 0;
		/*
		 * An atomic and-not, not a store of e & ~accessed: a vCPU running
		 * on another CPU sets the dirty bit with a locked
		 * read-modify-write (SDM 3C 29.3.5), and a store of the value
		 * read before would take that dirty bit away again.
		 */
		if (y->clear && (e & y->accessed))
			__atomic_fetch_and(entry, ~y->accessed, __ATOMIC_ACQ_REL);
	} else {
		/* No accessed bits: a mapping counts as young; clearing zaps it. */
		y->young = true;
		if (y->clear) {
			__atomic_exchange_n(entry, 0, __ATOMIC_ACQ_REL);
			y->zapped++;
		}
	}
	return true;
}

static long young_slot(struct vm *vm, const struct memslot *s, uint64_t gs, uint64_t ge,
		       void *ctx)
{
	(void)s;
	if (vm->shadow) {
		struct young_ctx *y = ctx;

		y->young |= shadow_young(vm, gs, ge, y->clear);
		return 0;
	}
	pt_for_each_leaf(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, young_one, ctx);
	return 0;
}

static bool vm_young(struct mmu_notifier *mn, uint64_t start, uint64_t end, bool clear)
{
	struct vm *vm = vm_of(mn);
	struct young_ctx y = { clear, vm->ept_ad, false, 0, vm->ept.fmt->accessed_mask };

	spin_lock(&vm->mmu_lock);
	for_each_slot_range(vm, start, end, young_slot, &y);
	/*
	 * Cleared accessed bits only come back if the CPU walks EPT again, and
	 * zapped leaves must not stay cached: flush once either way.
	 */
	if (clear && y.young)
		vm_flush_ept(vm);
	vm_stat_add(vm, ept_zaps, y.zapped);
	spin_unlock(&vm->mmu_lock);
	return y.young;
}

static bool vm_clear_young(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	return vm_young(mn, start, end, true);
}

static bool vm_test_young(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	return vm_young(mn, start, end, false);
}

static const struct mmu_notifier_ops vm_mmu_ops = {
	.invalidate_range_start = vm_invalidate_start,
	.invalidate_range_end = vm_invalidate_end,
	.clear_young = vm_clear_young,
	.test_young = vm_test_young,
};

void vm_mmu_attach(struct vm *vm, struct mm *mm)
{
	vm->mm = mm;
	vm->mn.ops = &vm_mmu_ops;
	vm->ept.defer_frees = true; /* EPT tables are freed after the INVEPT that forgets them */
	spin_lock_init(&vm->mmu_lock, LOCK_RANK_MMU, "mmu_lock");
	mmu_inval_init(&vm->inval, &vm->mmu_lock);
	/*
	 * Refused while a change of @mm is between start() and end() (the rule
	 * at mmu_notifier_register()): the change runs on another CPU and needs
	 * nothing of this one, so wait for its end().
	 */
	while (mmu_notifier_register(mm, &vm->mn) == -EBUSY)
		hal_cpu_relax();
}

void vm_mmu_detach(struct vm *vm)
{
	if (vm->mm)
		mmu_notifier_unregister(vm->mm, &vm->mn);
	vm->mm = NULL;
}
