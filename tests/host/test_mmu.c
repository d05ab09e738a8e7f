/*
 * Host unit tests for ept/mmu.c, the secondary MMU (../shared/DESIGN.md "The rules to
 * reproduce"), on a VM built by hand (hostvm.h). The interleavings of
 * tests/kernel/test_inval_race.c (an invalidation at each fault step, for
 * each event: retry, never the old frame, coherent after every end), then
 * in-progress/overlapping invalidations, precision, memslot changes, host
 * write protection, backing fault-in, aging and leaf levels.
 */
#include "tests/host/hostvm.h"

struct race {
	enum fault_step at;
	enum mmu_event ev;
	bool fired;
	uint64_t hva, new_pa, old_pa, gone_pa;
	long bad_after_end;
};

/* The host change under test, run by the fault hook at the chosen step. */
static void host_change(struct race *rc)
{
	uint64_t hva = rc->hva;

	rc->gone_pa = hva_pa(hva);
	switch (rc->ev) {
	case MMU_EV_UNMAP:
		T(mm_unmap(&mm, hva, PAGE_SIZE) == 1);
		break;
	case MMU_EV_PROTECT: /* same frame, less access */
	case MMU_EV_PROTECT_NUMA:
		T(mm_protect(&mm, hva, PAGE_SIZE, rc->ev == MMU_EV_PROTECT ? PT_PROT_R : PT_PROT_RW,
			     rc->ev == MMU_EV_PROTECT_NUMA) == 1);
		rc->gone_pa = ~0ULL;
		break;
	case MMU_EV_MIGRATE:
		T(frame_alloc(&fa, FRAME_ORDER_4K, &rc->new_pa) == 0);
		T(mm_migrate(&mm, hva, rc->new_pa, &rc->old_pa) == 0);
		break;
	case MMU_EV_COLLAPSE:
		T(mm_collapse(&mm, ALIGN_DOWN(hva, SZ_2M)) == 0);
		break;
	case MMU_EV_SPLIT:
		T(mm_split(&mm, hva, PT_LEVEL_2M) == 0);
		rc->gone_pa = ~0ULL; /* same frames, smaller pages */
		break;
	}
	char why[200];
	rc->bad_after_end = ept_check_coherent(&vm, why, sizeof(why));
	if (rc->bad_after_end)
		printf("# after end(): %s\n", why);
}

static void race_hook(struct vm *v, enum fault_step step, void *ctx)
{
	struct race *rc = ctx;

	(void)v;
	if (step == rc->at && !rc->fired) {
		rc->fired = true;
		host_change(rc); /* a whole start ... end pair inside the fault */
	}
}

static bool one_race(enum fault_step at, enum mmu_event ev)
{
	/* Split needs a 2 MiB host page; the others 4 KiB pages. */
	int level = ev == MMU_EV_SPLIT ? PT_LEVEL_2M : PT_LEVEL_4K, elevel = 0;
	uint64_t gpa = GPA0 + 5 * PAGE_SIZE, next = gpa + PAGE_SIZE, pa = 0;
	unsigned prot = 0;
	bool ok = true;

	dvm(level);
	/* A neighbour mapped before the race (4K slots only: a 2M leaf would cover gpa). */
	if (level == PT_LEVEL_4K)
		ok &= T(fault(next, false) == 0 && ept_maps(next, NULL, NULL, NULL));
	struct race rc = { at, ev, false, gpa_hva(gpa), 0, 0, 0, 0 };
	vm.fault_hook = race_hook;
	vm.fault_hook_ctx = &rc;
	struct vm_stats s0 = vm.stats;

	ok &= T(fault(gpa, false) == 0 && rc.fired);
	ok &= T(!ept_maps(gpa, NULL, NULL, NULL)); /* not installed despite the race */
	ok &= T(vm.stats.ept_retries == s0.ept_retries + 1);
	/* Before the lockless pre-check, it catches the race; after it, the locked check. */
	ok &= T(vm.stats.ept_retries_unlocked == s0.ept_retries_unlocked + (at != FAULT_STEP_LOCK));
	ok &= T(vm.stats.invalidations == s0.invalidations + 1);
	ok &= T(rc.bad_after_end == 0 && coherent());
	if (level == PT_LEVEL_4K) /* precise: only what the event touched went */
		ok &= T(ept_maps(next, NULL, NULL, NULL) == (ev != MMU_EV_COLLAPSE));

	/* The retried fault sees the new host state, never the old frame. */
	vm.fault_hook = NULL;
	ok &= T(fault(gpa, false) == 0);
	ok &= T(ept_maps(gpa, &pa, &elevel, &prot) && ept_follows_host(gpa) && pa != rc.gone_pa);
	if (ev == MMU_EV_MIGRATE)
		ok &= T(pa == rc.new_pa && pa != rc.old_pa);
	if (ev == MMU_EV_UNMAP) /* a zero page was faulted in */
		ok &= T(vm.stats.host_faultins == 1 && page_is(rc.hva, 0));
	else
		ok &= T(vm.stats.host_faultins == 0 && page_is(rc.hva, page_tag(rc.hva)));
	ok &= T((prot & PT_PROT_W) == (ev == MMU_EV_PROTECT ? 0 : PT_PROT_W));
	ok &= T(elevel == (ev == MMU_EV_COLLAPSE ? PT_LEVEL_2M : PT_LEVEL_4K));
	ok &= T(coherent() && vm.inval.in_progress == 0 && !vm.bugged);
	if (!ok)
		printf("# ^ step %d event %s\n", at, mmu_event_name(ev));
	return ok;
}

static void test_race_every_step(void)
{
	static const enum mmu_event events[] = {
		MMU_EV_UNMAP, MMU_EV_PROTECT, MMU_EV_PROTECT_NUMA,
		MMU_EV_MIGRATE, MMU_EV_COLLAPSE, MMU_EV_SPLIT,
	};
	unsigned long w0 = warn_count;
	int n = 0;

	for (int at = 0; at < FAULT_STEPS; at++)
		for (unsigned e = 0; e < ARRAY_SIZE(events); e++)
			n += one_race((enum fault_step)at, events[e]);
	T(n == FAULT_STEPS * (int)ARRAY_SIZE(events));
	T(warn_count == w0);
}

static void test_in_progress_range(void)
{
	uint64_t in = GPA0 + 3 * PAGE_SIZE, out = GPA0 + 100 * PAGE_SIZE;

	dvm(PT_LEVEL_4K);
	/* The host is half-way through changing [in, in + 4 pages): start() only. */
	struct mmu_range r = { gpa_hva(in), gpa_hva(in) + 4 * PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	T(vm.inval.in_progress == 1 && vm.inval.range_start == in >> 12 &&
	  vm.inval.range_end == (in >> 12) + 4);
	T(fault(in, false) == 0 && !ept_maps(in, NULL, NULL, NULL));
	T(fault(in + 3 * PAGE_SIZE, true) == 0 && !ept_maps(in + 3 * PAGE_SIZE, NULL, NULL, NULL));
	T(vm.stats.ept_retries == 2 && vm.stats.ept_retries_unlocked == 2);
	T(fault(out, false) == 0 && ept_maps(out, NULL, NULL, NULL));
	T(fault(in + 4 * PAGE_SIZE, false) == 0 && ept_maps(in + 4 * PAGE_SIZE, NULL, NULL, NULL));
	T(fault(in - PAGE_SIZE, false) == 0 && ept_maps(in - PAGE_SIZE, NULL, NULL, NULL));
	T(vm.stats.ept_retries == 2 && vm.stats.ept_installed[PT_LEVEL_4K] == 3);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	T(coherent() && vm.inval.in_progress == 0 && vm.inval.seq == 1);
	T(fault(in, false) == 0 && ept_maps(in, NULL, NULL, NULL) && coherent());
}

static void test_overlapping_widen(void)
{
	uint64_t a = GPA0 + 10 * PAGE_SIZE, b = GPA0 + 20 * PAGE_SIZE;
	uint64_t between = GPA0 + 15 * PAGE_SIZE, far = GPA0 + 300 * PAGE_SIZE;

	dvm(PT_LEVEL_4K);
	struct mmu_range ra = { gpa_hva(a), gpa_hva(a) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	struct mmu_range rb = { gpa_hva(b), gpa_hva(b) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &ra);
	vm.mn.ops->invalidate_range_start(&vm.mn, &rb);
	T(vm.inval.in_progress == 2);
	T(vm.inval.range_start == a >> 12 && vm.inval.range_end == (b >> 12) + 1);
	fault(a, false), fault(b, false);
	fault(between, false); /* in the union: a false positive, allowed */
	T(!ept_maps(a, NULL, NULL, NULL) && !ept_maps(b, NULL, NULL, NULL) &&
	  !ept_maps(between, NULL, NULL, NULL));
	T(fault(far, false) == 0 && ept_maps(far, NULL, NULL, NULL));
	vm.mn.ops->invalidate_range_end(&vm.mn, &ra);
	T(coherent() && vm.inval.in_progress == 1);
	fault(a, false), fault(between, false);
	T(!ept_maps(a, NULL, NULL, NULL) && !ept_maps(between, NULL, NULL, NULL));
	vm.mn.ops->invalidate_range_end(&vm.mn, &rb);
	T(coherent() && vm.inval.in_progress == 0 && vm.inval.seq == 2);
	fault(a, false), fault(b, false), fault(between, false);
	T(ept_maps(a, NULL, NULL, NULL) && ept_maps(b, NULL, NULL, NULL) &&
	  ept_maps(between, NULL, NULL, NULL) && coherent());
}

/*
 * Precise invalidation (seed ../shared/seeds/002_e1e06e68a47d5deb.txt): zap
 * what the guest could see change, flush once.
 */
static void test_precision(void)
{
	uint64_t hva;
	unsigned prot;

	dvm(PT_LEVEL_4K);
	hva = gpa_hva(GPA0);
	/* NUMA protect of pages EPT never mapped: a batch, but nothing zapped or flushed. */
	T(mm_protect(&mm, hva, 16 * PAGE_SIZE, PT_PROT_RW, true) == 16);
	T(vm.stats.invalidations == 1 && vm.stats.ept_zaps == 0 && vm_flushes == 0);
	T(vm.stats.invept == 0 && vm.inval.seq == 1 && coherent());
	/*
	 * Map 5 of them (each takes the hint fault first); hinting all 16 again
	 * changes only those 5 (the rest are still hinted): they are zapped,
	 * with one flush.
	 */
	for (int i = 2; i < 7; i++)
		T(fault(GPA0 + i * PAGE_SIZE, true) == 0);
	T(vm.stats.numa_faults == 5 && mm.numa_faults == 5);
	T(fault(GPA0 + 20 * PAGE_SIZE, true) == 0); /* outside the batch: stays */
	T(mm_protect(&mm, hva, 16 * PAGE_SIZE, PT_PROT_RW, true) == 5);
	T(vm.stats.ept_zaps == 5 && vm_flushes == 1 && vm.stats.invept == 1);
	T(!ept_maps(GPA0 + 2 * PAGE_SIZE, NULL, NULL, NULL));
	T(ept_maps(GPA0 + 20 * PAGE_SIZE, NULL, NULL, NULL) && coherent());
	/* Nothing left to hint: no batch at all. */
	T(mm_protect(&mm, hva, 16 * PAGE_SIZE, PT_PROT_RW, true) == 0);
	T(vm.stats.invalidations == 2 && vm_flushes == 1);
	/* A protect that keeps W takes nothing away: no zap, no flush. */
	for (int i = 2; i < 7; i++)
		T(fault(GPA0 + i * PAGE_SIZE, true) == 0);
	T(mm_protect(&mm, hva, 16 * PAGE_SIZE, PT_PROT_RWX, false) == 16);
	T(vm.stats.ept_zaps == 5 && vm_flushes == 1 && vm.stats.invalidations == 3);
	T(ept_maps(GPA0 + 4 * PAGE_SIZE, NULL, NULL, &prot) && (prot & PT_PROT_W) && coherent());
	/* Read-only leaves survive a protect to R; writable ones go, in one flush. */
	T(mm_protect(&mm, hva + 8 * PAGE_SIZE, PAGE_SIZE, PT_PROT_R, false) == 1);
	T(vm.stats.ept_zaps == 5 && vm_flushes == 1); /* page 8 was never mapped */
	T(fault(GPA0 + 8 * PAGE_SIZE, false) == 0);
	T(ept_maps(GPA0 + 8 * PAGE_SIZE, NULL, NULL, &prot) && prot == (PT_PROT_R | PT_PROT_X));
	T(mm_protect(&mm, hva, 9 * PAGE_SIZE, PT_PROT_R, false) == 9);
	T(vm.stats.ept_zaps == 10 && vm_flushes == 2 && !ept_maps(GPA0 + 6 * PAGE_SIZE, 0, 0, 0));
	T(ept_maps(GPA0 + 8 * PAGE_SIZE, NULL, NULL, &prot) && !(prot & PT_PROT_W) && coherent());
	/* Protect to "no read" takes everything. */
	T(mm_protect(&mm, hva + 8 * PAGE_SIZE, PAGE_SIZE, 0, false) == 1);
	T(vm.stats.ept_zaps == 11 && vm_flushes == 3 && coherent());
	/* A host range that touches no memslot: no begin at all. */
	uint64_t seq = vm.inval.seq, inv = vm.stats.invalidations;
	T(back(HVA0 + GiB, 4 * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(mm_unmap(&mm, HVA0 + GiB, 4 * PAGE_SIZE) == 4);
	T(mm_protect(&mm, hva - PAGE_SIZE, PAGE_SIZE, 0, true) == 0); /* just below the slot */
	T(vm.inval.seq == seq && vm.stats.invalidations == inv && vm.inval.in_progress == 0);
	T(vm_flushes == 3 && vm.stats.ept_zaps == 11);
	/* One page partly covered counts (hva range not page-aligned at the notifier). */
	struct mmu_range r = { hva + 20 * PAGE_SIZE + 8, hva + 20 * PAGE_SIZE + 16, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	T(vm.inval.range_start == (GPA0 >> 12) + 20 && vm.inval.range_end == (GPA0 >> 12) + 21);
	T(!ept_maps(GPA0 + 20 * PAGE_SIZE, NULL, NULL, NULL) && vm_flushes == 4);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	T(vm.inval.in_progress == 0 && coherent());
}

static void test_memslot_busy(void)
{
	char err[160];

	dvm(PT_LEVEL_4K);
	T(back(HVA0 + GiB, SZ_2M, PT_LEVEL_4K) == 0);
	struct mmu_range r = { gpa_hva(GPA0), gpa_hva(GPA0) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	/*
	 * A change waits for invalidations in flight (test_smp.c: on other
	 * CPUs); this CPU's own would never end while it waits: refused.
	 */
	T(vm_memslot_add(&vm, 2 * GiB, SZ_2M, HVA0 + GiB, 0, err, sizeof(err)) == -EDEADLK);
	T(strstr(err, "inside an invalidation") != NULL);
	T(vm_memslot_remove(&vm, GPA0) == -EDEADLK && vm.slots.n == 1);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	T(vm_memslot_add(&vm, 2 * GiB, SZ_2M, HVA0 + GiB, 0, err, sizeof(err)) == 0);
	T(vm.slots.n == 2 && fault(2 * GiB + PAGE_SIZE, true) == 0 && coherent());
	/* Removing a slot zaps its leaves (one flush) and faults there then fail. */
	unsigned long f0 = vm_flushes;
	T(vm_memslot_remove(&vm, 2 * GiB) == 0 && vm_flushes == f0 + 1);
	T(!ept_maps(2 * GiB + PAGE_SIZE, NULL, NULL, NULL) && fault(2 * GiB, false) == -EFAULT);
}

static void test_host_write_protect(void)
{
	uint64_t gpa = GPA0 + 7 * PAGE_SIZE, pa;
	unsigned prot;
	int level;

	dvm(PT_LEVEL_4K);
	T(mm_protect(&mm, gpa_hva(gpa), PAGE_SIZE, PT_PROT_R, false) == 1);
	T(fault(gpa, true) == -EPERM && !ept_maps(gpa, NULL, NULL, NULL));
	T(fault(gpa, false) == 0 && ept_maps(gpa, &pa, &level, &prot));
	T(prot == (PT_PROT_R | PT_PROT_X) && level == PT_LEVEL_4K && ept_follows_host(gpa));
	T(fault(gpa, true) == -EPERM && ept_maps(gpa, NULL, NULL, &prot) && !(prot & PT_PROT_W));
	/* The host gives W back (nothing to zap); the write fault upgrades the leaf. */
	T(mm_protect(&mm, gpa_hva(gpa), PAGE_SIZE, PT_PROT_RW, false) == 1);
	T(ept_maps(gpa, NULL, NULL, NULL) && fault(gpa, true) == 0);
	T(ept_maps(gpa, NULL, NULL, &prot) && (prot & PT_PROT_W) && coherent());
	/* Read-only memslot: write refused with -EACCES whatever the host allows. */
	char err[160];
	T(back(HVA0 + GiB, SZ_2M, PT_LEVEL_2M) == 0);
	T(vm_memslot_add(&vm, 4 * GiB, SZ_2M, HVA0 + GiB, MEMSLOT_READONLY, err, 160) == 0);
	T(fault(4 * GiB, true) == -EACCES && fault(4 * GiB, false) == 0);
	T(ept_maps(4 * GiB, NULL, &level, &prot) && !(prot & PT_PROT_W) && level == 2);
	T(fault(8 * GiB, false) == -EFAULT && coherent());
}

/*
 * A write to a read-only 2M leaf whose host page became writable: if the
 * leaf is replaced rather than upgraded, its other 511 pages lose their leaf
 * and must be flushed now; a later invalidation of one of them finds no leaf
 * and flushes nothing, which would leave the old translation cached.
 */
static void test_upgrade_huge_leaf(void)
{
	uint64_t p3 = GPA0 + 3 * PAGE_SIZE, p7 = GPA0 + 7 * PAGE_SIZE;
	unsigned prot;
	int level;

	dvm(PT_LEVEL_2M);
	T(mm_protect(&mm, HVA0, SZ_2M, PT_PROT_R, false) == 1);
	T(fault(GPA0, false) == 0 && ept_maps(p7, NULL, &level, &prot));
	T(level == PT_LEVEL_2M && !(prot & PT_PROT_W) && vm_flushes == 0);
	T(mm_protect(&mm, HVA0, SZ_2M, PT_PROT_RW, false) == 1 && vm_flushes == 0);
	T(fault(p3, true) == 0 && ept_maps(p3, NULL, NULL, &prot) && (prot & PT_PROT_W));
	T(ept_follows_host(p3) && coherent());
	T(ept_maps(p7, NULL, NULL, NULL) || vm_flushes == 1); /* p7's leaf gone: flushed */
	unsigned long f = vm_flushes;
	T(mm_unmap(&mm, HVA0 + 7 * PAGE_SIZE, PAGE_SIZE) == 1 && coherent());
	T(vm_flushes == f + (unsigned long)vm.stats.ept_zaps && !ept_maps(p7, NULL, NULL, NULL));
}

static void test_fault_in_backing(void)
{
	uint64_t gpa = GPA0 + 9 * PAGE_SIZE, hva;

	dvm(PT_LEVEL_4K);
	hva = gpa_hva(gpa);
	T(mm_unmap(&mm, hva, PAGE_SIZE) == 1 && hva_ptr(hva) == NULL);
	uint64_t seq = vm.inval.seq;
	T(fault(gpa, true) == 0 && vm.stats.host_faultins == 1);
	T(page_is(hva, 0) && ept_follows_host(gpa) && vm.inval.seq == seq); /* mm_map: silent */
	T(pt_mapping_level(&mm.pt, hva) == PT_LEVEL_4K && coherent());
	T(fault(gpa + PAGE_SIZE, false) == 0 && vm.stats.host_faultins == 1);
}

static void test_young(void)
{
	uint64_t gpa = GPA0 + 4 * PAGE_SIZE, hva;
	int level;

	for (int ad = 1; ad >= 0; ad--) {
		dvm(PT_LEVEL_4K);
		vm.ept_ad = ad;
		hva = gpa_hva(gpa);
		T(!mm_test_young(&mm, hva, PAGE_SIZE) && !mm_clear_young(&mm, hva, PAGE_SIZE));
		T(fault(gpa, false) == 0 && vm_flushes == 0);
		pte_t *e = pt_find_leaf(&vm.ept, gpa, &level);
		T(e && level == PT_LEVEL_4K);
		if (ad) {
			/* A/D bits: bit 8 decides; test leaves it, clear clears it and flushes. */
			T(!mm_test_young(&mm, hva, PAGE_SIZE) && !mm_clear_young(&mm, hva, PAGE_SIZE));
			T(vm_flushes == 0 && EPT_ACCESSED == 1ULL << 8);
			*e |= EPT_ACCESSED; /* the CPU walked it */
			T(mm_test_young(&mm, hva, PAGE_SIZE) && (*e & EPT_ACCESSED) && vm_flushes == 0);
			T(!mm_test_young(&mm, hva + PAGE_SIZE, PAGE_SIZE));
			T(mm_clear_young(&mm, hva - PAGE_SIZE, 3 * PAGE_SIZE) && vm_flushes == 1);
			T(!(*e & EPT_ACCESSED) && ept_maps(gpa, NULL, NULL, NULL)); /* still mapped */
			T(!mm_test_young(&mm, hva, PAGE_SIZE) && !mm_clear_young(&mm, hva, PAGE_SIZE));
			T(vm_flushes == 1 && vm.stats.ept_zaps == 0);
		} else {
			/* No A/D bits: a mapping counts as young; clearing zaps it. */
			T(mm_test_young(&mm, hva, PAGE_SIZE) && ept_maps(gpa, NULL, NULL, NULL));
			T(vm_flushes == 0 && !mm_test_young(&mm, hva + PAGE_SIZE, PAGE_SIZE));
			T(mm_clear_young(&mm, hva, PAGE_SIZE) && vm_flushes == 1);
			T(!ept_maps(gpa, NULL, NULL, NULL) && vm.stats.ept_zaps == 1);
			T(!mm_test_young(&mm, hva, PAGE_SIZE) && !mm_clear_young(&mm, hva, PAGE_SIZE));
			T(vm_flushes == 1);
		}
		T(vm.stats.invalidations == 0 && vm.inval.seq == 0 && coherent());
		/* Outside every memslot: never young. */
		T(!mm_test_young(&mm, HVA0 + GiB, SZ_2M) && !mm_clear_young(&mm, HVA0 + GiB, SZ_2M));
	}
}

/*
 * A vCPU's memslot cache (struct memslot_cache, ept/fault.c) serves only
 * while the slots' generation holds: a slot removed and added back over
 * other backing must be looked up again, or the next fault maps the old.
 */
static void test_memslot_cache(void)
{
	struct memslot_cache mc = { 0 };
	char why[200], err[160];
	uint64_t pa = 0;

	dvm(PT_LEVEL_4K);
	T(back(HVA0 + GiB, SZ_2M, PT_LEVEL_4K) == 0);
	T(mmu_fault_cached(&vm, &mc, GPA0, PT_PROT_R, why, sizeof(why)) == 0);
	T(mc.copy.npages && mc.copy.hva == HVA0);
	/* The same slot: from the cache, still counted in the slot. */
	uint64_t n0 = vm.slots.slot[0].ept_violations;
	T(mmu_fault_cached(&vm, &mc, GPA0 + PAGE_SIZE, PT_PROT_R, why, sizeof(why)) == 0);
	T(vm.slots.slot[0].ept_violations == n0 + 1);
	/* The slot moves to other backing: its gfns follow it. */
	T(vm_memslot_remove(&vm, GPA0) == 0);
	T(vm_memslot_add(&vm, GPA0, SZ_2M, HVA0 + GiB, 0, err, sizeof(err)) == 0);
	T(mmu_fault_cached(&vm, &mc, GPA0 + 2 * PAGE_SIZE, PT_PROT_R, why, sizeof(why)) == 0);
	T(ept_maps(GPA0 + 2 * PAGE_SIZE, &pa, NULL, NULL) &&
	  pa == hva_pa(HVA0 + GiB + 2 * PAGE_SIZE));
	T(mc.copy.hva == HVA0 + GiB && coherent());
}

static void test_leaf_level(void)
{
	int level;

	/* 2 MiB host page, congruent slot: one 2M leaf serves the whole block. */
	dvm(PT_LEVEL_2M);
	T(fault(GPA0 + 33 * PAGE_SIZE, false) == 0 && ept_maps(GPA0, NULL, &level, NULL));
	T(level == PT_LEVEL_2M && vm.stats.ept_installed[PT_LEVEL_2M] == 1);
	T(fault(GPA0 + SZ_2M - PAGE_SIZE, true) == 0 && vm.stats.ept_spurious == 1);
	T(ept_follows_host(GPA0 + SZ_2M - PAGE_SIZE) && coherent());
	/* 4 KiB host pages: 4K leaves, not physically contiguous in the arena. */
	dvm(PT_LEVEL_4K);
	T(fault(GPA0, false) == 0 && fault(GPA0 + PAGE_SIZE, false) == 0);
	T(ept_maps(GPA0, NULL, &level, NULL) && level == PT_LEVEL_4K && ept_follows_host(GPA0));
	T(vm.stats.ept_installed[PT_LEVEL_4K] == 2 && vm.stats.ept_installed[PT_LEVEL_2M] == 0);
	T(ept_follows_host(GPA0 + PAGE_SIZE) && !ept_maps(GPA0 + 2 * PAGE_SIZE, 0, 0, 0));
	/* 2 MiB host pages but gfn and hva not congruent (slot skewed by 3 pages): 4K. */
	vm_fresh();
	T(vm_ram(GPA0, SZ_2M, HVA0, PT_LEVEL_2M, 3) == 0);
	T(fault(GPA0 + 10 * PAGE_SIZE, false) == 0);
	T(ept_maps(GPA0 + 10 * PAGE_SIZE, NULL, &level, NULL) && level == PT_LEVEL_4K);
	T(ept_follows_host(GPA0 + 10 * PAGE_SIZE) && coherent());
	/* 2 MiB host pages, EPT without 2M leaves: 4K. */
	dvm(PT_LEVEL_2M);
	vm.ept_max_level = PT_LEVEL_4K;
	T(fault(GPA0 + 5 * PAGE_SIZE, false) == 0 && ept_maps(GPA0 + 5 * PAGE_SIZE, 0, &level, 0));
	T(level == PT_LEVEL_4K && ept_follows_host(GPA0 + 5 * PAGE_SIZE) && coherent());
	/* A collapse after 4K leaves existed: the refault maps the new 2M page whole. */
	dvm(PT_LEVEL_4K);
	T(fault(GPA0 + 3 * PAGE_SIZE, true) == 0 && fault(GPA0 + 400 * PAGE_SIZE, false) == 0);
	T(mm_collapse(&mm, HVA0) == 0 && vm.stats.ept_zaps == 2 && vm_flushes == 1 && coherent());
	unsigned long tables = vm.ept.table_pages;
	T(fault(GPA0 + 3 * PAGE_SIZE, true) == 0 && ept_maps(GPA0, NULL, &level, NULL));
	T(level == PT_LEVEL_2M && ept_follows_host(GPA0 + 400 * PAGE_SIZE) && coherent());
	/* The emptied table went, and the CPU's cached pointer to it with a flush. */
	T(vm.ept.table_pages == tables - 1 && vm_flushes == 2);
}

/* Last: the unbalanced end() fires WARN_ON_ONCE in ept/inval.c. */
static void test_unbalanced_end(void)
{
	dvm(PT_LEVEL_4K);
	struct mmu_range r = { gpa_hva(GPA0), gpa_hva(GPA0) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	T(!vm.bugged);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r); /* no start() */
	T(vm.bugged && vm.inval.in_progress == -1 && strstr(vm.bug_reason, "ept/notify.c") != NULL);
	/*
	 * Every invalidation counts, also outside every slot (hole 3): an end()
	 * without a start() is a bug there too, and begin()/end() stay balanced.
	 */
	dvm(PT_LEVEL_4K);
	struct mmu_range out = { HVA0 + GiB, HVA0 + GiB + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_end(&vm.mn, &out);
	T(vm.bugged && strstr(vm.bug_reason, "mn_active") != NULL);
	T(vm.inval.in_progress == 0 && vm.inval.seq == 0 && vm.mn_active == 0);
}

int main(void)
{
	RUN(test_race_every_step);
	RUN(test_in_progress_range);
	RUN(test_overlapping_widen);
	RUN(test_precision);
	RUN(test_memslot_busy);
	RUN(test_host_write_protect);
	RUN(test_upgrade_huge_leaf);
	RUN(test_fault_in_backing);
	RUN(test_young);
	RUN(test_leaf_level);
	RUN(test_memslot_cache);
	RUN(test_unbalanced_end); /* last: see the comment there */
	return tap_finish();
}
