/*
 * Host unit tests for mm/mm.c, the primary MMU: every live-mapping change is
 * bracketed by invalidate_range_start() (page tables still old) and
 * invalidate_range_end() (page tables new, TLB flushed), with the right event
 * and range; mm_map() notifies nobody; addresses below dyn_base are refused;
 * aging ORs over all notifiers. A recording notifier looks at the page tables
 * from inside its callbacks.
 */
#include "tests/host/hostvm.h"

struct rec {
	struct mmu_notifier mn;
	int starts, ends, clears, tests;
	bool young;           /* what clear_young/test_young answer */
	struct mmu_range r_start, r_end;
	uint64_t probe;       /* hva looked up inside the callbacks */
	int rc_start, rc_end; /* pt_lookup() results there */
	struct pt_walk w_start, w_end;
	unsigned long tlb_at_start, tlb_at_end;
	uint64_t watch_pa;    /* frame whose freeness is sampled in the callbacks */
	bool watch_free_start, watch_free_end;
	uint64_t y_start, y_end;
};

static void rec_start(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct rec *x = (struct rec *)mn;

	x->starts++;
	x->r_start = *r;
	x->rc_start = pt_lookup(&mm.pt, x->probe, &x->w_start);
	x->tlb_at_start = tlb_flushes;
	x->watch_free_start = x->watch_pa && frame_is_free(&fa, x->watch_pa);
}

static void rec_end(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct rec *x = (struct rec *)mn;

	x->ends++;
	x->r_end = *r;
	x->rc_end = pt_lookup(&mm.pt, x->probe, &x->w_end);
	x->tlb_at_end = tlb_flushes;
	x->watch_free_end = x->watch_pa && frame_is_free(&fa, x->watch_pa);
}

static bool rec_clear(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	struct rec *x = (struct rec *)mn;

	x->clears++;
	x->y_start = start, x->y_end = end;
	return x->young;
}

static bool rec_test(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	struct rec *x = (struct rec *)mn;

	x->tests++;
	x->y_start = start, x->y_end = end;
	return x->young;
}

static const struct mmu_notifier_ops rec_ops = { rec_start, rec_end, rec_clear, rec_test };
static const struct mmu_notifier_ops empty_ops = { 0 };
static struct rec rec;

static void fresh(uint64_t probe)
{
	mm_fresh();
	memset(&rec, 0, sizeof(rec));
	rec.mn.ops = &rec_ops;
	rec.probe = probe;
	mmu_notifier_register(&mm, &rec.mn);
}

/* One start and one end, both with @ev over [start, end), TLB flushed in between. */
static bool bracketed(enum mmu_event ev, uint64_t start, uint64_t end)
{
	const struct mmu_range *a = &rec.r_start, *b = &rec.r_end;

	return rec.starts == 1 && rec.ends == 1 && a->event == ev && b->event == ev &&
	       a->start == start && a->end == end && b->start == start && b->end == end &&
	       a->prot == b->prot && rec.tlb_at_end > rec.tlb_at_start;
}

static void test_map_is_silent(void)
{
	unsigned long w0 = warn_count;

	fresh(HVA0);
	T(back(HVA0, 8 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(back(HVA0 + SZ_2M, SZ_2M, PT_LEVEL_2M) == 0);
	T(rec.starts == 0 && rec.ends == 0 && tlb_flushes == 0);
	T(page_is(HVA0 + 3 * PAGE_SIZE, page_tag(HVA0 + 3 * PAGE_SIZE)));
	/* Mapping over a mapping is refused by the walker, still silently. */
	T(mm_map(&mm, HVA0, 0x10000, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == -EEXIST);
	T(rec.starts == 0 && rec.ends == 0 && warn_count == w0);
	T(strcmp(mmu_event_name(MMU_EV_SPLIT), "split") == 0);
	T(strcmp(mmu_event_name(MMU_EV_PROTECT_NUMA), "protect-numa") == 0);
	T(strcmp(mmu_event_name((enum mmu_event)42), "?") == 0);
}

static void test_unmap(void)
{
	uint64_t va = HVA0 + 2 * PAGE_SIZE;

	fresh(va);
	T(back(HVA0, 8 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	uint64_t pa = hva_pa(va);
	T(mm_unmap(&mm, va, 3 * PAGE_SIZE) == 3);
	T(bracketed(MMU_EV_UNMAP, va, va + 3 * PAGE_SIZE));
	T(rec.rc_start == 0 && rec.w_start.pa == pa); /* start: still the old mapping */
	T(rec.rc_end == -ENOENT);                      /* end: gone */
	T(hva_ptr(va + PAGE_SIZE) == NULL && hva_ptr(va + 2 * PAGE_SIZE) == NULL);
	T(hva_ptr(va - PAGE_SIZE) && hva_ptr(va + 3 * PAGE_SIZE));
	/* Nothing mapped there any more: still bracketed, 0 leaves. */
	T(mm_unmap(&mm, va, PAGE_SIZE) == 0 && rec.starts == 2 && rec.ends == 2);
	/* Unaligned: refused before any notification. */
	T(mm_unmap(&mm, va + 1, PAGE_SIZE) == -EINVAL && mm_unmap(&mm, va, 100) == -EINVAL);
	T(rec.starts == 2 && rec.ends == 2);
}

static void test_protect(void)
{
	uint64_t va = HVA0 + PAGE_SIZE;

	fresh(va);
	T(back(HVA0, 4 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	uint64_t pa = hva_pa(va);
	T(mm_protect(&mm, va, 2 * PAGE_SIZE, PT_PROT_R, false) == 2);
	T(bracketed(MMU_EV_PROTECT, va, va + 2 * PAGE_SIZE) && rec.r_start.prot == PT_PROT_R);
	T(rec.rc_start == 0 && rec.w_start.prot == PT_PROT_RW && rec.w_start.pa == pa);
	T(rec.rc_end == 0 && rec.w_end.prot == PT_PROT_R && rec.w_end.pa == pa);
	/* Pages outside the range keep RW. */
	struct pt_walk w;
	T(pt_lookup(&mm.pt, HVA0, &w) == 0 && w.prot == PT_PROT_RW);
	T(pt_lookup(&mm.pt, va + 2 * PAGE_SIZE, &w) == 0 && w.prot == PT_PROT_RW);
	T(mm_protect(&mm, va, PAGE_SIZE, PT_PROT_RWX, false) == 1);
	T(rec.starts == 2 && rec.r_end.prot == PT_PROT_RWX && rec.w_end.prot == PT_PROT_RWX);
	T(mm_protect(&mm, va, 3, PT_PROT_R, false) == -EINVAL && rec.starts == 2);
}

/* Part of a huge page: the walker splits it, so the whole huge page is notified (hole 1). */
static void test_protect_part_of_huge(void)
{
	uint64_t va = HVA0 + SZ_2M;

	fresh(va + PAGE_SIZE);
	T(back(va, SZ_2M, PT_LEVEL_2M) == 0);
	T(mm_protect(&mm, va + PAGE_SIZE, PAGE_SIZE, PT_PROT_R, false) == 1);
	T(bracketed(MMU_EV_PROTECT, va, va + SZ_2M));
	T(rec.rc_start == 0 && rec.w_start.level == PT_LEVEL_2M && rec.w_start.prot == PT_PROT_RW);
	T(rec.rc_end == 0 && rec.w_end.prot == PT_PROT_R && rec.w_end.level == PT_LEVEL_4K);
	T(pt_mapping_level(&mm.pt, va) == PT_LEVEL_4K && hva_ptr(va) != NULL);
	/* Now 4 KiB pages: a page is notified alone. */
	T(mm_unmap(&mm, va + 7 * PAGE_SIZE, PAGE_SIZE) == 1);
	T(rec.starts == 2 && rec.r_start.start == va + 7 * PAGE_SIZE &&
	  rec.r_start.end == va + 8 * PAGE_SIZE);
	/* Unmapping the middle of another huge page: its whole range, once. */
	T(back(va + SZ_2M, SZ_2M, PT_LEVEL_2M) == 0);
	T(mm_unmap(&mm, va + SZ_2M + 5 * PAGE_SIZE, 3 * PAGE_SIZE) == 3);
	T(rec.starts == 3 && rec.r_end.start == va + SZ_2M && rec.r_end.end == va + 2 * SZ_2M);
}

/*
 * NUMA hinting, precise (seed ../shared/seeds/002_e1e06e68a47d5deb.txt,
 * hole 8): only 4 KiB pages not hinted yet
 * change, access is left alone, and exactly the pages that change are
 * notified, in one batch.
 */
static void test_protect_numa(void)
{
	uint64_t va = HVA0 + SZ_2M;
	struct pt_walk w;

	fresh(va + PAGE_SIZE);
	T(back(va, 8 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(back(va + SZ_2M, SZ_2M, PT_LEVEL_2M) == 0);
	T(mm_protect(&mm, va + PAGE_SIZE, 2 * PAGE_SIZE, 0, true) == 2);
	T(bracketed(MMU_EV_PROTECT_NUMA, va + PAGE_SIZE, va + 3 * PAGE_SIZE));
	T(rec.rc_start == 0 && rec.w_start.prot == PT_PROT_RW);
	T(rec.rc_end == 0 && rec.w_end.prot == (PT_PROT_RW | PT_PROT_NUMA));
	T(pt_lookup(&mm.pt, va, &w) == 0 && w.prot == PT_PROT_RW);
	/* Already hinted: nothing changes, nothing is notified. */
	T(mm_protect(&mm, va + PAGE_SIZE, 2 * PAGE_SIZE, 0, true) == 0 && rec.starts == 1);
	T(!mm_numa_would_change(&mm, va + PAGE_SIZE) && mm_numa_would_change(&mm, va));
	/* Mixed: one batch from the first page that changes to the last. */
	T(mm_protect(&mm, va, 7 * PAGE_SIZE, 0, true) == 5);
	T(rec.starts == 2 && rec.r_start.start == va && rec.r_start.end == va + 7 * PAGE_SIZE);
	/* Huge pages cannot migrate: never hinted, never notified, never split. */
	T(mm_protect(&mm, va + SZ_2M, SZ_2M, 0, true) == 0 && rec.starts == 2);
	T(!mm_numa_would_change(&mm, va + SZ_2M));
	T(pt_mapping_level(&mm.pt, va + SZ_2M) == PT_LEVEL_2M);
	/* The hint fault clears the mark, once, without a notification. */
	T(mm_numa_fault(&mm, va + PAGE_SIZE) == 0 && mm_numa_fault(&mm, va + PAGE_SIZE) == -ENOENT);
	T(pt_lookup(&mm.pt, va + PAGE_SIZE, &w) == 0 && w.prot == PT_PROT_RW);
	T(mm.numa_faults == 1 && rec.starts == 2 && mm_numa_would_change(&mm, va + PAGE_SIZE));
}

static void test_split(void)
{
	uint64_t va = HVA0 + 2 * SZ_2M;

	fresh(va + 7 * PAGE_SIZE);
	T(back(va, SZ_2M, PT_LEVEL_2M) == 0);
	uint64_t pa = hva_pa(va);
	/* Any address inside: the range is the whole huge page. */
	T(mm_split(&mm, va + 7 * PAGE_SIZE + 5, PT_LEVEL_2M) == 0);
	T(bracketed(MMU_EV_SPLIT, va, va + SZ_2M));
	T(rec.rc_start == 0 && rec.w_start.level == PT_LEVEL_2M &&
	  rec.w_start.pa == pa + 7 * PAGE_SIZE);
	T(rec.rc_end == 0 && rec.w_end.level == PT_LEVEL_4K && rec.w_end.pa == pa + 7 * PAGE_SIZE);
	/* Same frames, same contents, every page. */
	bool same = true;
	for (uint64_t off = 0; off < SZ_2M; off += PAGE_SIZE)
		same &= hva_pa(va + off) == pa + off && pt_mapping_level(&mm.pt, va + off) == 1;
	T(same && page_is(va + SZ_2M - PAGE_SIZE, page_tag(va + SZ_2M - PAGE_SIZE)));
	T(mm_split(&mm, va, 1) == -EINVAL && mm_split(&mm, va, 4) == -EINVAL);
	T(rec.starts == 1);
}

static void test_collapse(void)
{
	uint64_t va = HVA0 + 3 * SZ_2M, old[PT_ENTRIES];

	fresh(va + 9 * PAGE_SIZE);
	T(back(va, SZ_2M, PT_LEVEL_4K) == 0);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		old[i] = hva_pa(va + i * PAGE_SIZE);
	T(old[1] != old[0] + PAGE_SIZE); /* not physically contiguous */
	/* A hole: refused, nobody told. */
	T(mm_unmap(&mm, va + 100 * PAGE_SIZE, PAGE_SIZE) == 1);
	uint64_t hole_pa = old[100];
	T(mm_collapse(&mm, va) == -EINVAL && rec.starts == 1);
	T(mm_map(&mm, va + 100 * PAGE_SIZE, hole_pa, PAGE_SIZE, PT_PROT_RW, 1) == 0);
	T(mm_collapse(&mm, va + PAGE_SIZE) == -EINVAL && rec.starts == 1);
	/* One read-only page: the huge page gets the common protection. */
	T(mm_protect(&mm, va + 300 * PAGE_SIZE, PAGE_SIZE, PT_PROT_R, false) == 1);
	memset(&rec.r_start, 0, sizeof(rec.r_start));
	rec.starts = rec.ends = 0;
	rec.watch_pa = old[9];

	uint64_t free0 = fa.nfree + mm.pt.table_pages;
	T(mm_collapse(&mm, va) == 0);
	T(bracketed(MMU_EV_COLLAPSE, va, va + SZ_2M));
	T(rec.rc_start == 0 && rec.w_start.level == PT_LEVEL_4K && rec.w_start.pa == old[9]);
	T(rec.rc_end == 0 && rec.w_end.level == PT_LEVEL_2M && rec.w_end.prot == PT_PROT_R);
	/* Old frames are handed back only after end(): no secondary MMU still uses them. */
	T(!rec.watch_free_start && !rec.watch_free_end);
	bool freed = true, copied = true;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		freed &= frame_is_free(&fa, old[i]);
		copied &= page_is(va + i * PAGE_SIZE, page_tag(va + i * PAGE_SIZE));
	}
	T(freed && copied);
	uint64_t huge = hva_pa(va);
	T(IS_ALIGNED(huge, SZ_2M) && hva_pa(va + SZ_2M - 1) == huge + SZ_2M - 1);
	/* 2 MiB taken, 512 frames back; table pages move between the two counts. */
	T(fa.nfree + mm.pt.table_pages == free0);
	/* Already huge: refused. */
	T(mm_collapse(&mm, va) == -EINVAL && rec.starts == 1);
}

static void test_migrate(void)
{
	uint64_t va = HVA0 + 5 * PAGE_SIZE, new_pa, old_pa = 0;

	fresh(va);
	T(back(HVA0, 8 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(mm_protect(&mm, va, PAGE_SIZE, PT_PROT_R | PT_PROT_X, false) == 1);
	rec.starts = rec.ends = 0;
	uint64_t pa = hva_pa(va);
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	memset(phys_to_virt(new_pa), 0xee, PAGE_SIZE);
	T(mm_migrate(&mm, va, new_pa, &old_pa) == 0);
	T(bracketed(MMU_EV_MIGRATE, va, va + PAGE_SIZE));
	T(rec.rc_start == 0 && rec.w_start.pa == pa);
	T(rec.rc_end == 0 && rec.w_end.pa == new_pa && rec.w_end.level == PT_LEVEL_4K);
	T(rec.w_end.prot == (PT_PROT_R | PT_PROT_X)); /* protection kept */
	T(old_pa == pa && !frame_is_free(&fa, pa)); /* the caller frees it */
	T(page_is(va, page_tag(va)));
	T(frame_free(&fa, old_pa, FRAME_ORDER_4K) == 0);
	/* Refusals, none notified. */
	uint64_t keep = old_pa;
	T(mm_migrate(&mm, va, new_pa + 8, &old_pa) == -EINVAL);
	T(mm_migrate(&mm, HVA0 + 8 * PAGE_SIZE, pa, &old_pa) == -ENOENT);
	T(back(HVA0 + SZ_2M, SZ_2M, PT_LEVEL_2M) == 0);
	T(mm_migrate(&mm, HVA0 + SZ_2M, pa, &old_pa) == -EINVAL);
	T(rec.starts == 1 && rec.ends == 1 && old_pa == keep);
}

static void test_dyn_base(void)
{
	uint64_t lo = DYN_BASE - SZ_2M, pa;

	fresh(lo);
	T(frame_alloc(&fa, FRAME_ORDER_2M, &pa) == 0);
	T(mm_map(&mm, lo, pa, SZ_2M, PT_PROT_RW, PT_LEVEL_2M) == -EINVAL);
	T(mm_map(&mm, DYN_BASE - PAGE_SIZE, pa, 2 * PAGE_SIZE, PT_PROT_RW, 1) == -EINVAL);
	/* Below dyn_base by other means (the direct map): mm_* must leave it alone. */
	T(pt_map(&mm.pt, lo, pa, SZ_2M, PT_PROT_RW, PT_LEVEL_2M) == 0);
	T(mm_unmap(&mm, lo, PAGE_SIZE) == -EINVAL);
	T(mm_unmap(&mm, DYN_BASE - PAGE_SIZE, 2 * PAGE_SIZE) == -EINVAL);
	T(mm_protect(&mm, lo, PAGE_SIZE, PT_PROT_R, false) == -EINVAL);
	T(mm_protect(&mm, lo, PAGE_SIZE, PT_PROT_R, true) == -EINVAL);
	T(mm_split(&mm, lo, PT_LEVEL_2M) == -EINVAL);
	T(mm_collapse(&mm, lo) == -EINVAL);
	uint64_t old = 0;
	T(mm_migrate(&mm, lo, pa, &old) == -EINVAL && old == 0);
	/* The top of the address space and wrap-around. */
	T(mm_unmap(&mm, (1ULL << PT_VA_BITS) - PAGE_SIZE, 2 * PAGE_SIZE) == -EINVAL);
	T(mm_protect(&mm, ~0ULL & ~(PAGE_SIZE - 1), 2 * PAGE_SIZE, 0, false) == -EINVAL);
	T(rec.starts == 0 && rec.ends == 0 && tlb_flushes == 0);
	T(hva_pa(lo) == pa && pt_mapping_level(&mm.pt, lo) == PT_LEVEL_2M);
}

/*
 * mm_leaves() (a VM's teardown, issue 22): the leaves overlapping a range
 * in address order, a huge one that starts below the range included, at
 * most @max, and nothing else; sparse leaves far apart cost no more.
 */
static void test_leaves(void)
{
	struct mm_leaf l[4];
	uint64_t pa2m, pa[3];

	mm_fresh();
	T(frame_alloc(&fa, FRAME_ORDER_2M, &pa2m) == 0);
	T(mm_map(&mm, HVA0, pa2m, SZ_2M, PT_PROT_RW, PT_LEVEL_2M) == 0);
	for (int i = 0; i < 3; i++) {
		T(frame_alloc(&fa, FRAME_ORDER_4K, &pa[i]) == 0);
		T(mm_map(&mm, HVA0 + (uint64_t)(i + 1) * GiB + (uint64_t)i * PAGE_SIZE, pa[i],
			 PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == 0);
	}
	/* From inside the 2M leaf: it comes first, whole. */
	T(mm_leaves(&mm, HVA0 + PAGE_SIZE, 4 * GiB, l, 4) == 4);
	T(l[0].va == HVA0 && l[0].pa == pa2m && l[0].level == PT_LEVEL_2M);
	for (int i = 0; i < 3; i++)
		T(l[i + 1].va == HVA0 + (uint64_t)(i + 1) * GiB + (uint64_t)i * PAGE_SIZE &&
		  l[i + 1].pa == pa[i] && l[i + 1].level == PT_LEVEL_4K);
	/* At most @max, and the rest from where the last one ended. */
	T(mm_leaves(&mm, HVA0, 4 * GiB, l, 2) == 2 && l[1].pa == pa[0]);
	T(mm_leaves(&mm, l[1].va + PAGE_SIZE, 4 * GiB, l, 4) == 2 && l[0].pa == pa[1]);
	/* Nothing mapped in the range; an empty range; no room. */
	T(mm_leaves(&mm, HVA0 + SZ_2M, GiB - SZ_2M, l, 4) == 0);
	T(mm_leaves(&mm, HVA0, 0, l, 4) == 0 && mm_leaves(&mm, HVA0, GiB, l, 0) == 0);
	T(tlb_flushes == 0);
}

static void test_young(void)
{
	struct rec a, b, c;
	struct mmu_notifier none = { &empty_ops, NULL };

	fresh(HVA0);
	mmu_notifier_unregister(&mm, &rec.mn);
	memset(&a, 0, sizeof(a)), memset(&b, 0, sizeof(b)), memset(&c, 0, sizeof(c));
	a.mn.ops = b.mn.ops = c.mn.ops = &rec_ops;
	mmu_notifier_register(&mm, &a.mn);
	mmu_notifier_register(&mm, &none); /* no aging callbacks: skipped */
	mmu_notifier_register(&mm, &b.mn);
	mmu_notifier_register(&mm, &c.mn);
	T(!mm_test_young(&mm, HVA0, 3 * PAGE_SIZE) && !mm_clear_young(&mm, HVA0, PAGE_SIZE));
	T(a.tests == 1 && b.tests == 1 && c.tests == 1 && a.clears == 1 && c.clears == 1);
	T(a.y_start == HVA0 && a.y_end == HVA0 + PAGE_SIZE && c.y_end == HVA0 + PAGE_SIZE);
	/* One young notifier is enough, and every one is still asked (clear must reach all). */
	c.young = true; /* c is asked first: the list is newest-first */
	T(mm_clear_young(&mm, HVA0, PAGE_SIZE) && a.clears == 2 && b.clears == 2 && c.clears == 2);
	c.young = false, a.young = true; /* asked last */
	T(mm_test_young(&mm, HVA0, PAGE_SIZE) && a.tests == 2 && b.tests == 2 && c.tests == 2);
	a.young = false, b.young = true;
	T(mm_test_young(&mm, HVA0, PAGE_SIZE) && mm_clear_young(&mm, HVA0, PAGE_SIZE));
	b.young = false;
	T(!mm_clear_young(&mm, HVA0, PAGE_SIZE) && a.clears == 4 && c.clears == 4);
	/* Aging is no invalidation. */
	T(a.starts == 0 && a.ends == 0 && tlb_flushes == 0);
}

static void test_unregister(void)
{
	struct rec a, b;
	unsigned long w0 = warn_count;

	fresh(HVA0);
	memset(&a, 0, sizeof(a)), memset(&b, 0, sizeof(b));
	a.mn.ops = b.mn.ops = &rec_ops;
	a.probe = b.probe = HVA0;
	mmu_notifier_register(&mm, &a.mn);
	mmu_notifier_register(&mm, &b.mn);
	T(back(HVA0, 4 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(mm_unmap(&mm, HVA0, PAGE_SIZE) == 1);
	T(rec.starts == 1 && a.starts == 1 && b.starts == 1 && a.ends == 1 && b.ends == 1);
	/* Every start sees the old tables: none ran after the change. */
	T(rec.rc_start == 0 && a.rc_start == 0 && b.rc_start == 0 && a.rc_end == -ENOENT);
	mmu_notifier_unregister(&mm, &a.mn); /* middle of the list */
	T(mm_protect(&mm, HVA0 + PAGE_SIZE, PAGE_SIZE, PT_PROT_R, false) == 1);
	T(a.starts == 1 && b.starts == 2 && rec.starts == 2 && rec.ends == 2);
	mmu_notifier_unregister(&mm, &b.mn); /* head */
	mmu_notifier_unregister(&mm, &rec.mn); /* last one */
	T(mm.notifiers == NULL);
	T(mm_unmap(&mm, HVA0 + PAGE_SIZE, PAGE_SIZE) == 1 && rec.starts == 2 && b.starts == 2);
	T(warn_count == w0);
	mmu_notifier_unregister(&mm, &a.mn); /* not registered: warns, changes nothing */
	T(warn_count == w0 + 1 && mm.notifiers == NULL);
}

int main(void)
{
	RUN(test_map_is_silent);
	RUN(test_unmap);
	RUN(test_protect);
	RUN(test_protect_part_of_huge);
	RUN(test_protect_numa);
	RUN(test_split);
	RUN(test_collapse);
	RUN(test_migrate);
	RUN(test_dyn_base);
	RUN(test_leaves);
	RUN(test_young);
	RUN(test_unregister); /* last: it fires a WARN_ON_ONCE */
	return tap_finish();
}
