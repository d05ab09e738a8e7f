/*
 * Host unit tests for ept/unsync.c: sp_mark_unsync() and the unsync walk of
 * seed 004 (../shared/seeds/004_a8b0bafe251e54eb.txt, ../shared/DESIGN.md
 * "Unsync walk"). Shadow trees are built by hand in heap memory: a page is
 * its spt[] and child[] arrays and its parent links; entries are X86_PTE_P
 * (a table) or X86_PTE_P | X86_PTE_PS (a huge leaf). The caller's loop is
 * played as KVM's mmu_sync_children() plays it: walk, sync every unsync page
 * handed over (even when the walk said -ENOSPC), walk again while -ENOSPC.
 *
 * WARN_ON_ONCE state lives for the whole process: the test that provokes
 * the warnings runs last; every other test asserts that nothing warned.
 */
#include <stdlib.h>
#include <string.h>
#include "ept/shadow_page.h"
#include "tests/host/hostshim.h"

#define MAXP 64
/* A path below an L4 root is L3, L2, L1: a vector smaller cannot hand a leaf over. */
#define PATH (PT_LEVELS - 1)

static struct shadow_page *pages[MAXP]; /* the tree's pages; gfn = slot here */
static unsigned npages;
static unsigned synced[MAXP]; /* times handed over while unsync (then synced) */
static unsigned added[MAXP];  /* times handed over at all */
static unsigned long w0;

static struct shadow_page *sp_new(unsigned level)
{
	struct shadow_page *sp = calloc(1, sizeof(*sp));

	if (!sp || npages == MAXP)
		abort();
	sp->gfn = npages;
	sp->role.level = level & 7;
	sp->spt = calloc(PT_ENTRIES, sizeof(*sp->spt));
	sp->child = calloc(PT_ENTRIES, sizeof(*sp->child));
	if (!sp->spt || !sp->child)
		abort();
	pages[npages++] = sp;
	return sp;
}

/* parent->spt[i] becomes a table entry for @child. */
static struct shadow_page *sp_link(struct shadow_page *parent, unsigned i, struct shadow_page *child)
{
	struct sp_parent *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	parent->spt[i] = X86_PTE_P | X86_PTE_W | (child->gfn + 1) << 12;
	parent->child[i] = child;
	p->sp = parent;
	p->index = i;
	p->next = child->parents;
	child->parents = p;
	return child;
}

/* A new page of @level linked at parent->spt[i]. */
static struct shadow_page *sp_below(struct shadow_page *parent, unsigned i)
{
	return sp_link(parent, i, sp_new(parent->role.level - 1));
}

/* Set bit @i by hand, as an earlier mark whose page has changed since would have. */
static void set_bit_by_hand(struct shadow_page *sp, unsigned i)
{
	sp->unsync_child_bitmap[i / 64] |= 1ULL << (i % 64);
	sp->unsync_children++;
}

static bool bit(const struct shadow_page *sp, unsigned i)
{
	return sp->unsync_child_bitmap[i / 64] >> (i % 64) & 1;
}

static void tree_free(void)
{
	for (unsigned k = 0; k < npages; k++) {
		struct sp_parent *p = pages[k]->parents;

		while (p) {
			struct sp_parent *next = p->next;

			free(p);
			p = next;
		}
		free(pages[k]->spt);
		free(pages[k]->child);
		free(pages[k]);
	}
	npages = 0;
	memset(synced, 0, sizeof(synced));
	memset(added, 0, sizeof(added));
}

/* Every page's count is the number of its set bits. */
static bool counts_consistent(void)
{
	for (unsigned k = 0; k < npages; k++) {
		unsigned n = 0;

		for (unsigned w = 0; w < PT_ENTRIES / 64; w++)
			n += (unsigned)__builtin_popcountll(pages[k]->unsync_child_bitmap[w]);
		if (n != pages[k]->unsync_children)
			return false;
	}
	return true;
}

static bool all_clear(void)
{
	for (unsigned k = 0; k < npages; k++)
		if (pages[k]->unsync_children || pages[k]->unsync)
			return false;
	return counts_consistent();
}

/* What the caller does with a vector: sync each unsync page (KVM: kvm_sync_page). */
static void process(const struct sp_vec *vec)
{
	for (unsigned k = 0; k < vec->n; k++) {
		struct shadow_page *sp = vec->page[k].sp;

		added[sp->gfn]++;
		if (sp->unsync) {
			synced[sp->gfn]++;
			sp->unsync = false;
		}
	}
}

/*
 * The caller's loop with vectors of @cap: returns the number of walks, or 0
 * if it did not end within @max walks. Checks on the way that no walk
 * overruns its vector (a canary in the slot after cap).
 */
static unsigned sync_loop(struct shadow_page *root, unsigned cap, unsigned max)
{
	for (unsigned walks = 1; walks <= max; walks++) {
		struct sp_vec vec = { .cap = cap };
		unsigned c = cap ? cap : SP_VEC_MAX;
		int r;

		if (c < SP_VEC_MAX)
			vec.page[c].index = 0xdead;
		r = sp_unsync_walk(root, &vec);
		T(vec.n <= c);
		if (c < SP_VEC_MAX)
			T(vec.page[c].index == 0xdead && !vec.page[c].sp);
		process(&vec); /* even on -ENOSPC (seed 004) */
		if (r != -ENOSPC) {
			T(r >= 0);
			return walks;
		}
	}
	return 0;
}

/*
 * The deep tree: L4 root, leaves in three branches and in several bitmap
 * words; leaves 1 and 3 stay in sync. Its full walk hands over, in order:
 */
struct deep {
	struct shadow_page *root, *leaf[6];
	struct shadow_page *order[9];  /* the pages, in the walk's order */
	struct shadow_page *parent[9]; /* ... the page each was found in */
	unsigned index[9];             /* ... at this index */
};
#define DEEP_N 9      /* pages the full walk adds */
#define DEEP_LEAVES 4 /* unsync leaves among them */

static void deep_tree(struct deep *t)
{
	struct shadow_page *root = sp_new(4);
	struct shadow_page *l3a = sp_below(root, 0), *l3b = sp_below(root, 511);
	struct shadow_page *l2a = sp_below(l3a, 1), *l2b = sp_below(l3a, 64);
	struct shadow_page *l2c = sp_below(l3b, 63);
	struct shadow_page *l[6] = { sp_below(l2a, 0),   sp_below(l2a, 2),   sp_below(l2a, 100),
				     sp_below(l2b, 128), sp_below(l2b, 200), sp_below(l2c, 7) };
	const struct { struct shadow_page *sp, *parent; unsigned index; } order[DEEP_N] = {
		{ l3a, root, 0 }, { l2a, l3a, 1 }, { l[0], l2a, 0 }, { l[2], l2a, 100 },
		{ l2b, l3a, 64 }, { l[4], l2b, 200 }, { l3b, root, 511 }, { l2c, l3b, 63 },
		{ l[5], l2c, 7 },
	};

	t->root = root;
	memcpy(t->leaf, l, sizeof(l));
	for (unsigned k = 0; k < DEEP_N; k++) {
		t->order[k] = order[k].sp;
		t->parent[k] = order[k].parent;
		t->index[k] = order[k].index;
	}
	sp_mark_unsync(l[0]);
	sp_mark_unsync(l[2]);
	sp_mark_unsync(l[4]);
	sp_mark_unsync(l[5]);
}

static bool leaves_synced_once(const struct deep *t)
{
	bool ok = true;

	for (unsigned k = 0; k < 6; k++) {
		unsigned want = k == 1 || k == 3 ? 0 : 1;

		ok &= synced[t->leaf[k]->gfn] == want && added[t->leaf[k]->gfn] == want;
	}
	return ok;
}

static void test_deep_tree_walk(void)
{
	struct deep t;
	struct sp_vec vec = { 0 };

	w0 = warn_count;
	deep_tree(&t);
	T(counts_consistent());
	T(t.root->unsync_children == 2 && bit(t.root, 0) && bit(t.root, 511));
	T(sp_unsync_walk(t.root, &vec) == DEEP_LEAVES);
	T(vec.n == DEEP_N);
	for (unsigned k = 0; k < DEEP_N && k < vec.n; k++)
		T(vec.page[k].sp == t.order[k] && vec.page[k].index == t.index[k]);
	process(&vec);
	T(leaves_synced_once(&t));
	T(all_clear());
	/* Nothing left: a second walk hands over nothing. */
	vec = (struct sp_vec){ 0 };
	T(sp_unsync_walk(t.root, &vec) == 0 && vec.n == 0);
	T(warn_count == w0);
	tree_free();
}

/* Stale bits, huge leaves, non-present entries: cleared, nothing added. */
static void test_stale_bits(void)
{
	struct shadow_page *root, *l3, *l2, *sync_leaf, *old, *zapped, *leaf, *l2sync, *l3b;
	struct sp_vec vec = { 0 };

	w0 = warn_count;
	root = sp_new(4);
	l3 = sp_below(root, 5);
	l2 = sp_below(l3, 6);
	sync_leaf = sp_below(l2, 3);
	old = sp_below(l2, 65);
	zapped = sp_below(l2, 130);
	leaf = sp_below(l2, 511);
	l2sync = sp_below(l3, 300);
	sp_mark_unsync(leaf);
	/* A child that is in sync again (synced since the mark). */
	set_bit_by_hand(l2, 3);
	/* A huge leaf, no child; and a huge leaf that replaced a table with an unsync child. */
	l2->spt[64] = X86_PTE_P | X86_PTE_PS;
	set_bit_by_hand(l2, 64);
	old->unsync = true;
	l2->spt[65] = X86_PTE_P | X86_PTE_PS;
	set_bit_by_hand(l2, 65);
	/* Zapped (not present), its child page still unsync. */
	zapped->unsync = true;
	l2->spt[130] = 0;
	set_bit_by_hand(l2, 130);
	/* An L2 in sync with no unsync children. */
	set_bit_by_hand(l3, 300);
	T(counts_consistent() && l2->unsync_children == 5 && l3->unsync_children == 2);

	T(sp_unsync_walk(root, &vec) == 1);
	T(vec.n == 3);
	T(vec.page[0].sp == l3 && vec.page[1].sp == l2 && vec.page[2].sp == leaf);
	T(vec.page[2].index == 511);
	T(root->unsync_children == 0 && l3->unsync_children == 0 && l2->unsync_children == 0);
	T(counts_consistent());
	(void)sync_leaf;
	(void)l2sync;
	tree_free();

	/*
	 * Only stale bits below a page that says it has unsync children: the
	 * page is handed over (added before the recursion), the recursion
	 * finds nothing (0), and its bit is cleared all the same.
	 */
	vec = (struct sp_vec){ 0 };
	root = sp_new(4);
	l3 = sp_below(root, 1);
	l3b = sp_below(root, 2);
	l2 = sp_below(l3, 2);
	set_bit_by_hand(root, 1);
	set_bit_by_hand(l3, 2);
	l3->spt[9] = 0;
	set_bit_by_hand(l3, 9);
	set_bit_by_hand(root, 2);
	T(!l3b->unsync && !l3b->unsync_children); /* stale */
	T(sp_unsync_walk(root, &vec) == 0);
	T(vec.n == 1 && vec.page[0].sp == l3 && vec.page[0].index == 1);
	T(root->unsync_children == 0 && l3->unsync_children == 0 && counts_consistent());
	T(warn_count == w0);
	tree_free();
}

/*
 * The vector fills at every position: cap = 1 .. DEEP_N. Below DEEP_N the
 * walk says -ENOSPC with exactly cap pages, the walk's prefix, and the page
 * it could not add keeps its bit; from DEEP_N on it finishes. The caller's
 * loop then ends with each unsync leaf synced exactly once, all bits clear.
 */
static void test_fill_every_position(void)
{
	w0 = warn_count;
	for (unsigned cap = 1; cap <= DEEP_N + 1; cap++) {
		struct deep t;
		struct sp_vec vec = { .cap = cap };
		int r;

		deep_tree(&t);
		vec.page[cap].index = 0xdead; /* canary: cap < SP_VEC_MAX here */
		r = sp_unsync_walk(t.root, &vec);
		T(vec.page[cap].index == 0xdead && !vec.page[cap].sp);
		if (cap < DEEP_N) {
			T(r == -ENOSPC);
			T(vec.n == cap);
			/* The child that could not be added keeps its bit. */
			T(bit(t.parent[cap], t.index[cap]));
		} else {
			T(r == DEEP_LEAVES);
			T(vec.n == DEEP_N);
		}
		for (unsigned k = 0; k < vec.n && k < DEEP_N; k++)
			T(vec.page[k].sp == t.order[k] && vec.page[k].index == t.index[k]);
		T(counts_consistent());
		process(&vec);

		if (cap >= PATH) {
			/* Each walk hands at least one more leaf over: the loop ends. */
			T(sync_loop(t.root, cap, DEEP_LEAVES + 1) != 0);
		} else {
			/*
			 * A vector shorter than a path never reaches a leaf: every
			 * walk says -ENOSPC and hands none over, but nothing is lost
			 * (the bits still lead to every unsync leaf).
			 */
			T(sync_loop(t.root, cap, 3) == 0);
			T(!synced[t.leaf[0]->gfn] && t.leaf[0]->unsync);
			T(bit(t.root, 0) && bit(t.root, 511) && counts_consistent());
			T(sync_loop(t.root, 0, 1) == 1);
		}
		T(leaves_synced_once(&t));
		T(all_clear());
		tree_free();
	}
	T(warn_count == w0);
}

/*
 * More unsync leaves than SP_VEC_MAX, over all eight bitmap words of one
 * L2 (28 pages in all): cap = PATH .. SP_VEC_MAX, and 0 (SP_VEC_MAX).
 */
static void test_wide_tree_loop(void)
{
	enum { NA = 20, NB = 5 };
	const unsigned n = 1 + 1 + NA + 1 + NB; /* L3, L2a, leaves, L2b, leaves */

	w0 = warn_count;
	T(n > SP_VEC_MAX && n < 2 * SP_VEC_MAX);
	for (unsigned cap = PATH; cap <= SP_VEC_MAX + 1; cap++) {
		unsigned c = cap > SP_VEC_MAX ? 0 : cap;
		struct shadow_page *root = sp_new(4), *l3 = sp_below(root, 3);
		struct shadow_page *a = sp_below(l3, 9), *b = sp_below(l3, 400), *leaf[NA + NB];
		unsigned walks;

		for (unsigned k = 0; k < NA; k++)
			sp_mark_unsync(leaf[k] = sp_below(a, k * 25 + 1));
		for (unsigned k = 0; k < NB; k++)
			sp_mark_unsync(leaf[NA + k] = sp_below(b, 511 - k));
		T(a->unsync_children == NA && b->unsync_children == NB && counts_consistent());
		walks = sync_loop(root, c, NA + NB + 1);
		T(walks != 0);
		if (!c || c == SP_VEC_MAX)
			T(walks == 2); /* 28 pages: 16, then the rest */
		for (unsigned k = 0; k < NA + NB; k++)
			T(synced[leaf[k]->gfn] == 1 && added[leaf[k]->gfn] == 1);
		T(all_clear());
		tree_free();
	}
	T(warn_count == w0);
}

/*
 * Seed 004's two rejected orderings must not come back:
 *  (a) clearing the bit of a child that could not be added: the child is
 *      then lost, no later walk finds it;
 *  (b) adding first and checking for room after ("mmu_pages_add() can
 *      always add, returns true when full"): a walk that starts on a full
 *      vector writes past cap, and a vector that fills exactly on the last
 *      page reports -ENOSPC with nothing left to do.
 */
static void test_seed004_orderings(void)
{
	struct shadow_page *root, *l3, *l2, *x, *y;
	struct sp_vec vec = { .cap = 3 };
	struct deep t;

	w0 = warn_count;
	/* (a): room for L3, L2 and x; y is the child that does not fit. */
	root = sp_new(4);
	l3 = sp_below(root, 0);
	l2 = sp_below(l3, 0);
	x = sp_below(l2, 10);
	y = sp_below(l2, 20);
	sp_mark_unsync(x);
	sp_mark_unsync(y);
	vec.page[3].index = 0xdead;
	T(sp_unsync_walk(root, &vec) == -ENOSPC);
	T(vec.n == 3 && vec.page[2].sp == x && vec.page[3].index == 0xdead);
	T(bit(l2, 20) && l2->unsync_children == 1);
	T(!bit(l2, 10));
	T(bit(l3, 0) && bit(root, 0)); /* the path down to y is kept */
	process(&vec);
	vec = (struct sp_vec){ .cap = 3 };
	T(sp_unsync_walk(root, &vec) == 1);
	T(vec.n == 3 && vec.page[2].sp == y && vec.page[2].index == 20);
	process(&vec);
	T(synced[x->gfn] == 1 && synced[y->gfn] == 1 && all_clear());
	tree_free();

	/* (b): a walk that starts on a full vector adds nothing. */
	deep_tree(&t);
	vec = (struct sp_vec){ .cap = 2, .n = 2 };
	vec.page[2].index = 0xdead;
	T(sp_unsync_walk(t.root, &vec) == -ENOSPC);
	T(vec.n == 2 && vec.page[2].index == 0xdead && !vec.page[2].sp);
	T(bit(t.root, 0) && t.root->unsync_children == 2 && counts_consistent());
	/* A vector exactly as long as the walk: all handed over, no -ENOSPC. */
	vec = (struct sp_vec){ .cap = DEEP_N };
	T(sp_unsync_walk(t.root, &vec) == DEEP_LEAVES && vec.n == DEEP_N);
	process(&vec);
	T(leaves_synced_once(&t) && all_clear());
	tree_free();
	T(warn_count == w0);
}

/*
 * sp_mark_unsync() through a page linked from two parents (two L2s of one
 * L3) up to the root; a second mark counts nothing twice; a page linked
 * after it went unsync gets its bit on the next mark.
 */
static void test_mark_two_parents(void)
{
	struct shadow_page *root, *l3, *b, *c, *x, *y, *d;
	struct sp_vec vec = { 0 };

	w0 = warn_count;
	root = sp_new(4);
	l3 = sp_below(root, 1);
	b = sp_below(l3, 2);
	c = sp_below(l3, 3);
	x = sp_below(b, 10);
	sp_link(c, 20, x);
	y = sp_below(b, 11);

	sp_mark_unsync(x);
	T(x->unsync && !b->unsync && !c->unsync && !l3->unsync && !root->unsync);
	T(bit(b, 10) && b->unsync_children == 1);
	T(bit(c, 20) && c->unsync_children == 1);
	T(bit(l3, 2) && bit(l3, 3) && l3->unsync_children == 2);
	T(bit(root, 1) && root->unsync_children == 1);
	T(counts_consistent());
	sp_mark_unsync(x);
	T(b->unsync_children == 1 && c->unsync_children == 1);
	T(l3->unsync_children == 2 && root->unsync_children == 1 && counts_consistent());
	sp_mark_unsync(y);
	T(b->unsync_children == 2 && l3->unsync_children == 2 && root->unsync_children == 1);

	/* A third parent links x (already unsync): the next mark tells it. */
	d = sp_below(root, 7);
	d = sp_below(d, 8);
	sp_link(d, 30, x);
	sp_mark_unsync(x);
	T(bit(d, 30) && d->unsync_children == 1 && root->unsync_children == 2);
	T(counts_consistent());

	/*
	 * The walk hands x over once per link that leads to it (as the seed's
	 * code does: no dedup); the caller syncs it at the first.
	 */
	T(sp_unsync_walk(root, &vec) == 4);
	T(vec.n == 9);
	process(&vec);
	T(added[x->gfn] == 3 && synced[x->gfn] == 1 && synced[y->gfn] == 1);
	T(all_clear());
	T(warn_count == w0);
	tree_free();
}

/* Last: the WARN_ON_ONCEs of a broken tree and of a misused clear. */
static void test_warnings(void)
{
	struct shadow_page *root, *l3;
	struct sp_vec vec = { 0 };

	w0 = warn_count;
	/* A present table entry with no shadow page behind it: warn, clear, add nothing. */
	root = sp_new(4);
	l3 = sp_below(root, 4);
	root->child[4] = NULL;
	set_bit_by_hand(root, 4);
	T(sp_unsync_walk(root, &vec) == 0 && vec.n == 0);
	T(!bit(root, 4) && root->unsync_children == 0);
	T(warn_count == w0 + 1);
	/* Clearing a bit that is not set: warn, the count stays. */
	set_bit_by_hand(l3, 1);
	sp_clear_unsync_child_bit(l3, 2);
	T(warn_count == w0 + 2 && l3->unsync_children == 1 && bit(l3, 1));
	/* A set bit with the count at 0: cleared, warn, no wrap. */
	l3->unsync_children = 0;
	sp_clear_unsync_child_bit(l3, 1);
	T(warn_count == w0 + 3 && l3->unsync_children == 0 && !bit(l3, 1));
	tree_free();
}

int main(void)
{
	RUN(test_deep_tree_walk);
	RUN(test_stale_bits);
	RUN(test_fill_every_position);
	RUN(test_wide_tree_loop);
	RUN(test_seed004_orderings);
	RUN(test_mark_two_parents);
	RUN(test_warnings); /* last: see the comment at the top */
	return tap_finish();
}
