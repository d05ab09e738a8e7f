/*
 * The primary MMU's changes, applied to shadow leaves through the rmap
 * (ept/notify.c calls these under mmu_lock, between the same begin/end as
 * for EPT/NPT): zap or write-protect, NUMA hints, aging (the coherence
 * check and the auditor are in ept/shadow_audit.c). A host change never zaps
 * shadow pages themselves: the guest's tables keep their contents when their
 * backing moves. Pure: host-tested.
 */
#include "ept/shadow_int.h"
#include "ept/vm.h"
#include "lib/lib.h"

static bool zap_one(struct vm *vm, struct rmap_ent *e, void *ctx)
{
	(void)ctx;
	return spte_drop_leaf(vm, e->sptep, e->gfn);
}

bool rmap_wp_one(struct vm *vm, struct rmap_ent *e, void *ctx)
{
	(void)vm, (void)ctx;
	if (!(pte_read(e->sptep) & X86_PTE_W))
		return false; /* precise: nothing the guest could do changes */
	/* An and-not: the CPU may set the dirty bit meanwhile (notify.c's young_one()). */
	__atomic_fetch_and(e->sptep, ~X86_PTE_W, __ATOMIC_ACQ_REL);
	return true;
}

long shadow_zap_gfns(struct vm *vm, uint64_t gs, uint64_t ge, unsigned keep)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (keep & PT_PROT_W)
		return 0;
	return rmap_for_range(vm, gs, ge, keep ? rmap_wp_one : zap_one, NULL);
}

long shadow_zap_numa(struct vm *vm, const struct memslot *s, uint64_t gs, uint64_t ge)
{
	long n = 0;

	/* start() runs before the change, so the mm still tells which pages it changes. */
	for (uint64_t gfn = gs; gfn < ge; gfn++)
		if (mm_numa_would_change(vm->mm, memslot_gfn_to_hva(s, gfn)))
			n += rmap_for_gfn(vm, gfn, zap_one, NULL);
	return n;
}

/* @sp was built from a guest table in [gs, ge), or maps a guest huge page that overlaps it. */
static bool sp_in_gfns(const struct shadow_page *sp, uint64_t gs, uint64_t ge)
{
	uint64_t span = sp->role.direct ? 1ULL << (9 * sp->role.level) : 1;

	return sp->gfn < ge && sp->gfn + span > gs;
}

long shadow_zap_slot(struct vm *vm, uint64_t gs, uint64_t ge)
{
	long n = 0;

	lockdep_assert_held(&vm->mmu_lock);
	/*
	 * From the list's head after each zap: a zap takes orphaned children
	 * off the list too, any of which the walk might be holding. Quadratic
	 * in the worst case, for a rare event over a bounded number of pages.
	 */
	for (;;) {
		struct shadow_page *sp = vm->smmu.all;

		while (sp && !sp_in_gfns(sp, gs, ge))
			sp = sp->all_next;
		if (!sp)
			return n;
		sp_zap(vm, sp);
		n++;
	}
}

static bool young_one(struct vm *vm, struct rmap_ent *e, void *ctx)
{
	(void)vm;
	if (!(pte_read(e->sptep) & X86_PTE_A))
		return false;
	if (*(bool *)ctx) /* an and-not, as rmap_wp_one()'s */
		__atomic_fetch_and(e->sptep, ~X86_PTE_A, __ATOMIC_ACQ_REL);
	return true;
}

bool shadow_young(struct vm *vm, uint64_t gs, uint64_t ge, bool clear)
{
	return rmap_for_range(vm, gs, ge, young_one, &clear) > 0;
}

struct mappings {
	unsigned n;
	bool w;
};

static bool count_one(struct vm *vm, struct rmap_ent *e, void *ctx)
{
	struct mappings *m = ctx;

	(void)vm;
	m->n++;
	m->w |= (pte_read(e->sptep) & X86_PTE_W) != 0;
	return true;
}

pte_t *shadow_leaf_of(struct vm *vm, uint64_t gfn)
{
	pte_t *leaf = NULL;

	spin_lock(&vm->mmu_lock);
	for (struct rmap_ent *e = vm->smmu.rmap[rmap_hash(gfn)]; e && !leaf; e = e->next)
		if (e->gfn == gfn)
			leaf = e->sptep;
	spin_unlock(&vm->mmu_lock);
	return leaf;
}

unsigned shadow_gfn_mappings(struct vm *vm, uint64_t gfn, bool *writable)
{
	struct mappings m = { 0, false };

	spin_lock(&vm->mmu_lock);
	rmap_for_gfn(vm, gfn, count_one, &m);
	spin_unlock(&vm->mmu_lock);
	if (writable)
		*writable = m.w;
	return m.n;
}
