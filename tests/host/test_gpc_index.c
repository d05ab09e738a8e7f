/*
 * Host unit tests for the index of a VM's active gfn-to-pfn caches
 * (vm->gpc_index in ept/gpc.c, issue 22): an invalidation finds the caches
 * its range covers through an AVL tree by uhva instead of visiting every
 * cache. Random activations, deactivations, invalidations and a memslot
 * move, each result checked against the rule (a cache is hit iff its page
 * overlaps the range) and the tree against its invariants.
 */
#include "tests/host/xorshift.h"
#include "ept/gpc.h"
#include "tests/host/hostvm.h"

#define LEN 8

static unsigned long w0;

/*
 * The index of active caches (vm.gpc_index, issue 22): an AVL tree in
 * (uhva, address) order holding exactly the active caches once each.
 * Returns the number of nodes, or -1 (with a message) when broken.
 */
static int index_nodes(const struct gpc *n, const struct gpc **prev, int *height)
{
	int hl, hr;

	if (!n) {
		*height = 0;
		return 0;
	}
	int l = index_nodes(n->idx_left, prev, &hl);
	if (l < 0)
		return -1;
	if (!n->active || (*prev && ((*prev)->uhva > n->uhva ||
				     ((*prev)->uhva == n->uhva && *prev >= n)))) {
		printf("# index: inactive or out of order at uhva %#llx\n",
		       (unsigned long long)n->uhva);
		return -1;
	}
	*prev = n;
	int r = index_nodes(n->idx_right, prev, &hr);
	if (r < 0)
		return -1;
	*height = 1 + MAX(hl, hr);
	if (n->idx_height != *height || hl - hr > 1 || hr - hl > 1) {
		printf("# index: height %d (stored %d), children %d and %d\n", *height,
		       n->idx_height, hl, hr);
		return -1;
	}
	return l + 1 + r;
}

static bool index_ok(int active)
{
	const struct gpc *prev = NULL;
	int h, n = index_nodes(vm.gpc_index, &prev, &h), listed = 0;

	for (const struct gpc *c = vm.gpc_list; c; c = c->next)
		listed++;
	if (n != active || listed != active)
		printf("# index: %d caches in the tree, %d on the list, %d active\n", n, listed,
		       active);
	return n == active && listed == active;
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
	return xorshift_below(&rnd_state, n);
}

#define NCACHES 300

/*
 * Many caches on random pages of the slot (several on some pages), random
 * activations, deactivations and invalidations of random ranges: after
 * each invalidation exactly the caches whose page the range overlaps are
 * invalid (valid ones elsewhere stay valid), and the index stays whole.
 * Then the slot moves to another hva: refresh re-keys every cache.
 */
static void test_index_many_caches(void)
{
	static struct gpc cs[NCACHES];
	int active = 0, bad = 0;
	char err[160];

	vm_fresh();
	BUG_ON(vm_ram(GPA0, SZ_2M, HVA0, PT_LEVEL_4K, 0));
	w0 = warn_count;
	for (int i = 0; i < NCACHES; i++)
		gpc_init(&cs[i], &vm);
	for (int op = 0; op < 6000 && !bad; op++) {
		struct gpc *c = &cs[rnd(NCACHES)];
		unsigned kind = (unsigned)rnd(8);

		if (kind < 3) { /* (re)activate, often at a new page */
			bool was = c->active;
			uint64_t gpa = GPA0 + rnd(512) * PAGE_SIZE + rnd(PAGE_SIZE - LEN);
			bad += gpc_activate(c, gpa, LEN) != 0 || !c->valid;
			active += !was;
		} else if (kind < 4) {
			active -= c->active;
			gpc_deactivate(c);
		} else { /* an invalidation of [a, b) */
			uint64_t a = HVA0 + rnd(2 * SZ_2M) - SZ_2M / 2, b = a + 1 + rnd(64 * PAGE_SIZE);
			bool was_valid[NCACHES];

			for (int i = 0; i < NCACHES; i++)
				was_valid[i] = cs[i].valid;
			spin_lock(&vm.mmu_lock);
			gpc_invalidate_start(&vm, a, b);
			spin_unlock(&vm.mmu_lock);
			for (int i = 0; i < NCACHES && !bad; i++) {
				bool hit = cs[i].active && cs[i].uhva < b && cs[i].uhva + PAGE_SIZE > a;
				if (hit ? cs[i].valid || !cs[i].invalidated : cs[i].valid != was_valid[i]) {
					printf("# op %d: cache %d (uhva %#llx) after [%#llx, %#llx): valid %d\n",
					       op, i, (unsigned long long)cs[i].uhva,
					       (unsigned long long)a, (unsigned long long)b, cs[i].valid);
					bad++;
				}
			}
			for (int i = 0; i < NCACHES; i++) /* valid again for the next round */
				if (cs[i].active && !cs[i].valid)
					bad += gpc_refresh(&cs[i], LEN) != 0;
		}
		if (op % 64 == 0 || bad)
			bad += !index_ok(active);
	}
	T(bad == 0 && index_ok(active) && active > 0);

	/* The slot moves: every cache re-resolves its uhva, and the index follows. */
	const uint64_t hva2 = HVA0 + 64 * MiB;
	T(back(hva2, SZ_2M, PT_LEVEL_4K) == 0);
	T(vm_memslot_remove(&vm, GPA0) == 0);
	T(vm_memslot_add(&vm, GPA0, SZ_2M, hva2, 0, err, sizeof(err)) == 0);
	for (int i = 0; i < NCACHES; i++) {
		if (cs[i].active) {
			bad += cs[i].valid || gpc_refresh(&cs[i], LEN) != 0;
			bad += cs[i].uhva != hva2 + (cs[i].gpa & ~(PAGE_SIZE - 1)) - GPA0;
		}
	}
	T(bad == 0 && index_ok(active));
	/* The old backing's changes miss them all; the new one's hit what they cover. */
	T(mm_unmap(&mm, HVA0, SZ_2M) == 512);
	int valid = 0, hit = 0;
	for (int i = 0; i < NCACHES; i++)
		valid += cs[i].active && cs[i].valid;
	T(valid == active);
	T(mm_unmap(&mm, hva2, 16 * PAGE_SIZE) == 16);
	for (int i = 0; i < NCACHES; i++) {
		bool covered = cs[i].active && cs[i].uhva < hva2 + 16 * PAGE_SIZE;
		hit += covered;
		bad += cs[i].active && cs[i].valid == covered;
	}
	T(bad == 0 && hit > 0);
	for (int i = 0; i < NCACHES; i++)
		gpc_deactivate(&cs[i]);
	T(vm.gpc_index == NULL && index_ok(0) && warn_count == w0);
}

int main(void)
{
	RUN(test_index_many_caches);
	return tap_finish();
}
