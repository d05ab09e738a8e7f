/*
 * Unsync shadow pages: marking them up to the roots, and the walk that
 * collects them for a sync (seed ../shared/seeds/004_a8b0bafe251e54eb.txt,
 * ../shared/DESIGN.md "Unsync walk"). Pure: no hardware, no allocation;
 * the caller holds mmu_lock. Host-tested by tests/host/test_unsync.c.
 */
#include "ept/shadow_page.h"

static bool unsync_bit(const struct shadow_page *sp, unsigned i)
{
	return sp->unsync_child_bitmap[i / 64] >> (i % 64) & 1;
}

/* The first set bit of @sp's bitmap at or after @i, or PT_ENTRIES if none. */
static unsigned next_unsync_bit(const struct shadow_page *sp, unsigned i)
{
	while (i < PT_ENTRIES) {
		uint64_t w = sp->unsync_child_bitmap[i / 64] >> (i % 64);

		if (w)
			return i + (unsigned)__builtin_ctzll(w);
		i = (i | 63) + 1;
	}
	return PT_ENTRIES;
}

/*
 * Each set bit once, in index order (KVM's for_each_set_bit). The walk
 * clears only the bit it stands on, so reading the bitmap afresh is safe.
 */
#define for_each_unsync_bit(i, sp) \
	for ((i) = next_unsync_bit(sp, 0); (i) < PT_ENTRIES; (i) = next_unsync_bit(sp, (i) + 1))

/* KVM's mmu_is_page_vec_full(): true when one more page would not fit. */
static bool vec_full(const struct sp_vec *vec)
{
	unsigned cap = vec->cap && vec->cap < SP_VEC_MAX ? vec->cap : SP_VEC_MAX;

	return vec->n >= cap;
}

/* Only after vec_full() said no: this add always has room (seed 004). */
static void vec_add(struct sp_vec *vec, struct shadow_page *child, unsigned i)
{
	vec->page[vec->n].sp = child;
	vec->page[vec->n].index = i;
	vec->n++;
}

void sp_clear_unsync_child_bit(struct shadow_page *sp, unsigned i)
{
	/*
	 * The count is the number of set bits: a clear of a bit that is not
	 * set, or with the count already 0, means the two disagree. Leave the
	 * count alone rather than let it wrap.
	 */
	if (WARN_ON_ONCE(i >= PT_ENTRIES || !unsync_bit(sp, i)))
		return;
	sp->unsync_child_bitmap[i / 64] &= ~(1ULL << (i % 64));
	if (!WARN_ON_ONCE(!sp->unsync_children))
		sp->unsync_children--;
}

int sp_unsync_walk(struct shadow_page *sp, struct sp_vec *vec)
{
	int nr = 0;
	unsigned i;

	for_each_unsync_bit(i, sp) {
		struct shadow_page *child;
		pte_t ent = pte_read(&sp->spt[i]);
		int ret;

		/* Zapped, or replaced by a huge leaf since the bit was set: stale. */
		if (!spte_present(ent) || spte_huge(ent))
			goto clear_unsync_child;

		/* A present table entry always has its shadow page: a broken tree. */
		child = sp->child[i];
		if (WARN_ON_ONCE(!child))
			goto clear_unsync_child;
		/* Synced or zapped since: the bit is stale. */
		if (!child->unsync && !child->unsync_children)
			goto clear_unsync_child;

		/*
		 * Check for room BEFORE adding, and return with the bit still
		 * set: the child was not handed over, so it is neither in sync
		 * nor going to be, and only the bit lets the next walk find it
		 * (seed 004 rejects clearing it first). And the add never runs
		 * on a full vector: no "add anyway, report full afterwards"
		 * (the ordering seed 004 calls "downright evil").
		 */
		if (vec_full(vec))
			return -ENOSPC;

		vec_add(vec, child, i);

		if (child->unsync_children) {
			ret = sp_unsync_walk(child, vec);
			if (!ret)
				goto clear_unsync_child;
			else if (ret > 0)
				nr += ret;
			else
				return ret; /* the child's own bits say what is left */
		} else {
			nr++;
		}

clear_unsync_child:
		/*
		 * Clear the unsync info, the child is either already sync
		 * (bitmap is stale) or is guaranteed to be zapped/synced by
		 * the caller before mmu_lock is released. Note, the caller is
		 * required to zap/sync all entries in @vec even if an error
		 * is returned! (seed 004)
		 */
		sp_clear_unsync_child_bit(sp, i);
	}
	return nr;
}

static void mark_parents_unsync(struct shadow_page *sp);

/*
 * KVM's kvm_mmu_mark_parents_unsync()/mark_unsync(): set @sp's bit in each
 * parent; a parent whose count goes 0 -> 1 is newly "has unsync children",
 * so its own parents learn it too. A parent whose bit was already set, or
 * whose count was already non-zero, has told its parents before: stop there.
 * Parents are not themselves unsync: only level-1 pages are.
 */
void sp_set_unsync_child_bit(struct shadow_page *parent, unsigned i)
{
	if (WARN_ON_ONCE(i >= PT_ENTRIES) || unsync_bit(parent, i))
		return;
	parent->unsync_child_bitmap[i / 64] |= 1ULL << (i % 64);
	if (parent->unsync_children++ == 0)
		mark_parents_unsync(parent);
}

static void mark_parents_unsync(struct shadow_page *sp)
{
	for (struct sp_parent *p = sp->parents; p; p = p->next)
		sp_set_unsync_child_bit(p->sp, p->index);
}

void sp_mark_unsync(struct shadow_page *sp)
{
	sp->unsync = true;
	/*
	 * Even when @sp was unsync already: a parent linked since then has no
	 * bit for it yet. The bits make this idempotent (no count moves twice).
	 */
	mark_parents_unsync(sp);
}
