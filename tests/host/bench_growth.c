/*
 * Cost growth (issue 22), run by scripts/bench.sh: how the secondary MMU's
 * costs grow with what they are given. One table; each row is one cost at
 * several sizes and a verdict computed from its own figures:
 *	- second-level faults, EPT table pages and host ns per fault for guest
 *	  RAM of 256 MiB .. 4 GiB, 4 KiB and 2 MiB backing, every page touched:
 *	  faults and table pages grow with the RAM, ns per fault stays flat;
 *	- an invalidation (notifier start/end over the range) of 4 KiB .. 1 GiB
 *	  with 100% and 1% of the range mapped in EPT: it must follow the pages
 *	  mapped, not the size of the range;
 *	- a memslot lookup among 1, 32 and 500 slots (random slots: the
 *	  last-used hint misses): logarithmic, not linear;
 *	- a gpc invalidation of one page with 1, 64 and 1024 caches active on
 *	  other pages: flat (ept/gpc.c's index), not one visit per cache;
 *	- VM setup and teardown against guest RAM, the guest touching the same
 *	  2,048 pages each time (a host-side model of ept/vm.c's lazy RAM and
 *	  free_backing()): flat, the cost of what the guest touched;
 *	- a shadow sync (the guest reloading its CR3) with 1, 64 and 512
 *	  level-1 pages unsync, in one shadow tree of 512 level-1 pages:
 *	  linear, a flat cost per unsync page.
 * Host-side timings over the arena VM of tests/host/hostvm.h (-O2,
 * no sanitizers, INVEPT a counter): the software costs alone. Backing
 * pages are aliased (every 2 MiB of host-virtual space maps the same
 * frames) so that 4 GiB of guest RAM fits the arena; the tables are real.
 * Each timing is the best of a few rounds: another process on the machine
 * only ever slows a round down.
 */
#include "tests/host/xorshift.h"
#include <stdlib.h>
#include "ept/gpc.h"
#include "arch/x86/desc.h"
#include "tests/host/hostvm.h"

#define ROUNDS 3

static void die(const char *what)
{
	fprintf(stderr, "bench_growth: %s\n", what);
	exit(1);
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(uint64_t n)
{
	return xorshift_below(&rnd_state, n);
}

static int bad_rows;

/* One row: @n figures under their column heads, and the verdict. */
static void row(const char *what, int n, const double *v, const char *fmt, bool ok,
		const char *expect)
{
	printf("growth: %-38s", what);
	for (int i = 0; i < 5; i++) {
		char cell[32] = "";

		if (i < n)
			snprintf(cell, sizeof(cell), fmt, v[i]);
		printf(" %10s", cell);
	}
	printf("  %-26s %s\n", expect, ok ? "grows as it should" : "GROWS TOO FAST");
	bad_rows += !ok;
}

static void head(const char *what, int n, const char *const *cols)
{
	printf("growth: %-38s", what);
	for (int i = 0; i < 5; i++)
		printf(" %10s", i < n ? cols[i] : "");
	printf("  %-26s %s\n", "expected", "verdict");
}

/* Ratio @a/@b within [lo, hi]. */
static bool within(double a, double b, double lo, double hi)
{
	return b > 0 && a / b >= lo && a / b <= hi;
}

/* A fresh VM with a memslot of @ram at GPA0, its host backing aliased onto one 2 MiB run. */
static void aliased_vm(uint64_t ram, int level)
{
	char err[160];
	uint64_t run;

	vm_fresh();
	if (frame_alloc(&fa, FRAME_ORDER_2M, &run))
		die("no frames");
	for (uint64_t off = 0; off < ram; off += SZ_2M)
		if (mm_map(&mm, HVA0 + off, run, SZ_2M, PT_PROT_RW, level))
			die("cannot map the backing");
	if (vm_memslot_add(&vm, GPA0, ram, HVA0, 0, err, sizeof(err)))
		die(err);
}

static void touch(uint64_t gpa)
{
	char why[200];

	if (mmu_fault(&vm, gpa, PT_PROT_W, why, sizeof(why)))
		die(why);
}

/* Faults, table pages and ns per fault for RAM of 256M .. 4G. */
static void rows_faults(void)
{
	static const char *const cols[] = { "256M", "1G", "2G", "4G" };
	static const uint64_t ram[] = { 256 * MiB, GiB, 2 * GiB, 4 * GiB };

	head("guest RAM, every page touched", 4, cols);
	for (int level = PT_LEVEL_4K; level <= PT_LEVEL_2M; level++) {
		double faults[4], tables[4], ns[4];
		uint64_t step = pt_level_size(level);

		for (int i = 0; i < 4; i++) {
			ns[i] = 1e30;
			for (int r = 0; r < ROUNDS; r++) {
				aliased_vm(ram[i], level);
				double t0 = host_now_ns();
				for (uint64_t gpa = GPA0; gpa < GPA0 + ram[i]; gpa += step)
					touch(gpa);
				double t = host_now_ns() - t0;
				faults[i] = (double)vm.stats.ept_violations;
				tables[i] = (double)vm.ept.table_pages;
				ns[i] = MIN(ns[i], t / faults[i]);
			}
		}
		const char *b = level == PT_LEVEL_4K ? "4K" : "2M";
		char what[64];
		snprintf(what, sizeof(what), "2nd-level faults, %s backing", b);
		row(what, 4, faults, "%.0f", within(faults[3], faults[0], 15.9, 16.1),
		    "x16 from 256M to 4G");
		snprintf(what, sizeof(what), "EPT table pages, %s backing", b);
		row(what, 4, tables, "%.0f", within(tables[3], tables[0], 0, 16.1),
		    "at most x16");
		snprintf(what, sizeof(what), "ns per fault, %s backing", b);
		row(what, 4, ns, "%.1f", within(ns[3], ns[0], 0, 3), "flat (4G <= 3 x 256M)");
	}
}

/*
 * Invalidation of [HVA0, HVA0 + range) with every page (100%) or every
 * 100th page (1%) of the 1 GiB slot mapped in EPT: ns per start/end pair.
 */
static void rows_invalidation(void)
{
	static const char *const cols[] = { "4K", "64K", "2M", "64M", "1G" };
	static const uint64_t range[] = { PAGE_SIZE, 64 << 10, SZ_2M, 64 * MiB, GiB };
	double ns[2][5], mapped[2][5];

	head("invalidation ns, range mapped:", 5, cols);
	for (int pct = 0; pct < 2; pct++) {
		uint64_t every = pct ? 100 : 1;

		aliased_vm(GiB, PT_LEVEL_4K);
		for (int i = 0; i < 5; i++) {
			uint64_t pages = range[i] / PAGE_SIZE, reps = MAX(1, 4096 / pages);

			ns[pct][i] = 1e30;
			for (int r = 0; r < ROUNDS; r++) {
				double t = 0;

				for (uint64_t k = 0; k < reps; k++) {
					for (uint64_t p = 0; p < pages; p += every)
						touch(GPA0 + p * PAGE_SIZE);
					uint64_t zaps = vm.stats.ept_zaps;
					struct mmu_range mr = { HVA0, HVA0 + range[i], MMU_EV_UNMAP, 0 };
					double t0 = host_now_ns();
					vm.mn.ops->invalidate_range_start(&vm.mn, &mr);
					vm.mn.ops->invalidate_range_end(&vm.mn, &mr);
					t += host_now_ns() - t0;
					mapped[pct][i] = (double)(vm.stats.ept_zaps - zaps);
				}
				ns[pct][i] = MIN(ns[pct][i], t / (double)reps);
			}
		}
	}
	/* 100%: per mapped page flat from 2M to 1G. 1%: a hundredth of the pages, a small share of the cost. */
	row("  100% (ns per range)", 5, ns[0], "%.0f",
	    within(ns[0][4] / mapped[0][4], ns[0][2] / mapped[0][2], 0, 3), "with mapped pages");
	row("  1% (ns per range)", 5, ns[1], "%.0f", within(ns[1][4], ns[0][4], 0, 0.2),
	    "1G at 1% <= 0.2 x at 100%");
	row("  pages zapped at 1%", 5, mapped[1], "%.0f", mapped[1][4] == 2622, "1% of the range");
}

/* ns per memslot_find() of a random slot's gfn among @n slots. */
static double lookup_ns(unsigned n)
{
	static uint64_t storage[MEMSLOTS_STORAGE / 8];
	static uint64_t gfns[4096];
	struct memslots ms;
	char err[160];
	volatile uintptr_t sink = 0;

	memslots_setup(&ms, storage);
	for (unsigned i = 0; i < n; i++) /* every other 2 MiB, added in a shuffled order */
		if (memslot_add(&ms, (uint64_t)((i * 7919u) % n) * 2 * SZ_2M, SZ_2M,
				HVA0 + (uint64_t)i * SZ_2M, 0, err, sizeof(err)))
			die(err);
	for (unsigned i = 0; i < 4096; i++)
		gfns[i] = ((uint64_t)rnd(n) * 2 * SZ_2M + rnd(SZ_2M)) >> PAGE_SHIFT;
	double best = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = host_now_ns();
		for (int k = 0; k < 500; k++)
			for (unsigned i = 0; i < 4096; i++)
				sink += (uintptr_t)memslot_find(&ms, gfns[i]);
		best = MIN(best, (host_now_ns() - t0) / (500.0 * 4096));
	}
	if (!sink)
		die("lookups found nothing");
	return best;
}

static void row_memslots(void)
{
	static const char *const cols[] = { "1", "32", "500" };
	double ns[3] = { lookup_ns(1), lookup_ns(32), lookup_ns(500) };

	head("memslot lookup ns, slots:", 3, cols);
	/* A linear scan would cost 500/32 = 15.6 times as much at 500 as at 32; log2: 1.8. */
	row("  random slot each lookup", 3, ns, "%.1f", within(ns[2], ns[1], 0, 3),
	    "log: 500 <= 3 x 32");
}

/* ns per one-page gpc invalidation with @n caches active on other pages. */
static double gpc_inval_ns(unsigned n)
{
	static struct gpc cs[1024];

	vm_fresh();
	if (vm_ram(GPA0, 8 * MiB, HVA0, PT_LEVEL_4K, 0))
		die("no RAM for the caches");
	for (unsigned i = 0; i < n; i++) {
		gpc_init(&cs[i], &vm);
		if (gpc_activate(&cs[i], GPA0 + (1 + (uint64_t)i) * PAGE_SIZE, 8))
			die("gpc_activate");
	}
	double best = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		spin_lock(&vm.mmu_lock);
		double t0 = host_now_ns();
		for (int k = 0; k < 200000; k++) /* page 0: no cache there */
			gpc_invalidate_start(&vm, HVA0, HVA0 + PAGE_SIZE);
		best = MIN(best, (host_now_ns() - t0) / 200000);
		spin_unlock(&vm.mmu_lock);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!cs[i].valid)
			die("an invalidation elsewhere hit a cache");
		gpc_deactivate(&cs[i]);
	}
	return best;
}

static void row_gpc(void)
{
	static const char *const cols[] = { "1", "64", "1024" };
	double ns[3] = { gpc_inval_ns(1), gpc_inval_ns(64), gpc_inval_ns(1024) };

	head("gpc invalidation ns, caches:", 3, cols);
	/* A visit of every cache would cost ~1000 times as much at 1024; the index: its depth. */
	row("  all on other pages", 3, ns, "%.1f", within(ns[2], ns[0], 0, 8),
	    "log: 1024 <= 8 x 1");
}

/*
 * ept/vm.c's VM life, on the arena: setup adds lazy RAM (nothing mapped),
 * the guest touches 2,048 pages as the hello guest does (its first 8 MiB
 * less a page, and the stack page at the top), each faulted in, zeroed, by
 * mm_fault_in(); teardown zaps EPT and frees what the host maps the way
 * free_backing() does (mm_leaves(), one unmap per 64 leaves, the frames).
 */
#define TOUCHED 2048
static void vm_life(uint64_t ram, double *setup, double *teardown)
{
	char err[160];
	struct mm_leaf leaf[64];

	vm_fresh();
	double t0 = host_now_ns();
	if (vm_memslot_add(&vm, GPA0, ram, HVA0, 0, err, sizeof(err)))
		die(err);
	*setup = host_now_ns() - t0;
	for (uint64_t i = 0; i < TOUCHED - 1; i++)
		touch(GPA0 + i * PAGE_SIZE);
	touch(GPA0 + ram - PAGE_SIZE);
	if (mm.faultins != TOUCHED)
		die("the guest's pages were not faulted in");
	uint64_t nfree = fa.nfree;
	t0 = host_now_ns();
	vm_mmu_detach(&vm);
	pt_zap(&vm.ept, 0, 1ULL << PT_VA_BITS, 0);
	pt_destroy(&vm.ept);
	for (uint64_t va = HVA0; va < HVA0 + ram;) {
		long n = mm_leaves(&mm, va, HVA0 + ram - va, leaf, 64);
		if (n <= 0)
			break;
		uint64_t to = leaf[n - 1].va + pt_level_size(leaf[n - 1].level);
		if (mm_unmap(&mm, leaf[0].va, to - leaf[0].va) != n)
			die("teardown unmapped something else");
		for (long i = 0; i < n; i++)
			frame_free(&fa, leaf[i].pa, 9 * (unsigned)(leaf[i].level - 1));
		va = to;
	}
	*teardown = host_now_ns() - t0;
	if (fa.nfree < nfree + TOUCHED)
		die("teardown left frames behind");
}

static void rows_vm_life(void)
{
	static const char *const cols[] = { "256M", "1G", "2G", "4G" };
	static const uint64_t ram[] = { 256 * MiB, GiB, 2 * GiB, 4 * GiB };
	double setup[4], teardown[4];

	for (int i = 0; i < 4; i++) {
		setup[i] = teardown[i] = 1e30;
		for (int r = 0; r < ROUNDS; r++) {
			double s, t;

			vm_life(ram[i], &s, &t);
			setup[i] = MIN(setup[i], s / 1000);
			teardown[i] = MIN(teardown[i], t / 1000);
		}
	}
	head("VM life us, guest RAM (2048 touched):", 4, cols);
	row("  setup (lazy RAM)", 4, setup, "%.1f", within(setup[3], setup[0], 0, 3),
	    "flat: 4G <= 3 x 256M");
	row("  teardown (what was touched)", 4, teardown, "%.1f",
	    within(teardown[3], teardown[0], 0, 3), "flat: 4G <= 3 x 256M");
}

/*
 * Shadow sync (ept/shadow.c's sync_root(), seed 004's walk) against the
 * number of unsync level-1 pages. One shadow VM for all three sizes, so
 * that only the number of unsync pages changes: the guest's PD_A maps 1 GiB
 * at GVA 1 GiB through 512 level-1 tables PT_j, 8 entries of each in use
 * (faulted in, so each PT_j has its shadow page, write-protected); a window
 * table PTW maps every PT_j at WIN(j), so that the guest can write them.
 * A round: the guest writes through WIN(j) to N of the PT_j (a write fault
 * on a write-protected level-1 table: left unsync, seed 004) and points
 * entry 0 of each at another frame (as a guest's own page-table update
 * does), then reloads its CR3: the timed sync write-protects the N
 * pages again, compares their 512 entries and drops each changed one. The
 * round then faults entry 0 back in (untimed), so every round starts alike.
 */
#define SYNC_ROUNDS 7
#define SYNC_PTS 512                          /* level-1 tables under PD_A */
#define SYNC_USED 8                           /* entries in use in each */
#define S_PML4 (GPA0 + 0 * PAGE_SIZE)
#define S_PDPT (GPA0 + 1 * PAGE_SIZE)
#define S_PDA (GPA0 + 2 * PAGE_SIZE)          /* PDPT[1]: GVA 1 GiB .. 2 GiB */
#define S_PDW (GPA0 + 3 * PAGE_SIZE)          /* PDPT[2]: the window */
#define S_PTW (GPA0 + 4 * PAGE_SIZE)          /* the window's level-1 table */
#define S_PT(j) (GPA0 + (16 + (uint64_t)(j)) * PAGE_SIZE)
/* Data pages: entry i of PT_j, and entry 0's other frame at i = SYNC_USED. */
#define S_DATA(j, i) (GPA0 + (1024 + (uint64_t)(j) * (SYNC_USED + 1) + (i)) * PAGE_SIZE)
#define S_GVA(j, i) (GiB + (uint64_t)(j) * SZ_2M + (uint64_t)(i) * PAGE_SIZE)
#define S_WIN(j) (2 * GiB + (uint64_t)(j) * PAGE_SIZE)
#define S_RAM (128 * MiB) /* its bound (SHADOW_PERMILLE): 655 pages, the tree needs 517 */
#define S_TABLE (X86_PTE_P | X86_PTE_W | X86_PTE_U | X86_PTE_A)
#define S_LEAF (S_TABLE | X86_PTE_D)

static struct shadow_mode s_mode;
static struct shadow_page *s_root;
static uint64_t s_root_hpa;

static uint64_t *s_gpte(uint64_t table, unsigned i)
{
	return (uint64_t *)hva_ptr(memslots_page_hva(&vm.slots, table)) + i;
}

static void s_load(void)
{
	char why[160];

	if (shadow_load_cr3(&vm, &s_mode, &s_root, &s_root_hpa, why, sizeof(why)))
		die(why);
}

/* A #PF at @gva with @pfec that the shadow MMU fixes (SHADOW_RESUME). */
static void s_fault(uint64_t gva, uint32_t pfec)
{
	char why[160] = "a guest #PF, or a write emulated, where none should be";
	uint32_t gpfec;
	uint64_t gpa;

	if (shadow_page_fault(&vm, &s_mode, s_root, gva, pfec, &gpfec, &gpa, why, sizeof(why)) !=
	    SHADOW_RESUME)
		die(why);
}

static void s_vm(void)
{
	vm_fresh();
	if (vm_ram(GPA0, S_RAM, HVA0, PT_LEVEL_4K, 0))
		die("no RAM for the shadow VM");
	for (uint64_t t = S_PML4; t <= S_PTW; t += PAGE_SIZE)
		memset(s_gpte(t, 0), 0, PAGE_SIZE);
	*s_gpte(S_PML4, 0) = S_PDPT | S_TABLE;
	*s_gpte(S_PDPT, 1) = S_PDA | S_TABLE;
	*s_gpte(S_PDPT, 2) = S_PDW | S_TABLE;
	*s_gpte(S_PDW, 0) = S_PTW | S_TABLE;
	for (unsigned j = 0; j < SYNC_PTS; j++) {
		memset(s_gpte(S_PT(j), 0), 0, PAGE_SIZE);
		*s_gpte(S_PDA, j) = S_PT(j) | S_TABLE;
		*s_gpte(S_PTW, j) = S_PT(j) | S_LEAF;
		for (unsigned i = 0; i < SYNC_USED; i++)
			*s_gpte(S_PT(j), i) = S_DATA(j, i) | S_LEAF;
	}
	vm.shadow = true;
	if (shadow_mmu_init(&vm))
		die("shadow_mmu_init");
	s_mode = (struct shadow_mode){ .cr3 = S_PML4, .wp = true, .nxe = false };
	s_root = NULL;
	s_load();
	for (unsigned j = 0; j < SYNC_PTS; j++) {
		for (unsigned i = 0; i < SYNC_USED; i++)
			s_fault(S_GVA(j, i), 0);
		s_fault(S_WIN(j), 0); /* read-only: PT_j is a shadowed table */
	}
	if (vm.stats.shadow_reclaimed || vm.smmu.nr_pages < SYNC_PTS)
		die("the shadow tree does not fit its bound");
}

/* Best ns of one sync with @n unsync pages; *@synced: the pages it synced. */
static double sync_ns(unsigned n, double *synced)
{
	unsigned stride = SYNC_PTS / n;
	double best = 1e30;

	for (int r = 0; r < SYNC_ROUNDS; r++) {
		struct vm_stats s0 = vm.stats;

		for (unsigned k = 0; k < n; k++) {
			unsigned j = k * stride;
			uint64_t *e = s_gpte(S_PT(j), 0);

			s_fault(S_WIN(j), X86_PF_PROT | X86_PF_WRITE);
			*e = (*e & X86_PTE_ADDR_MASK) == S_DATA(j, 0) ? S_DATA(j, SYNC_USED) | S_LEAF
								      : S_DATA(j, 0) | S_LEAF;
		}
		if (vm.stats.shadow_unsynced - s0.shadow_unsynced != n ||
		    s_root->unsync_children != 1)
			die("the guest's writes did not leave its tables unsync");
		s0 = vm.stats;
		double t0 = host_now_ns();
		s_load(); /* the same CR3: a TLB flush for the guest, a sync for minihv */
		best = MIN(best, host_now_ns() - t0);
		*synced = (double)(vm.stats.shadow_synced - s0.shadow_synced);
		if (vm.stats.shadow_sync_changed - s0.shadow_sync_changed != n ||
		    s_root->unsync_children)
			die("the sync missed a changed entry or an unsync page");
		for (unsigned k = 0; k < n; k++)
			s_fault(S_GVA(k * stride, 0), 0);
	}
	return best;
}

static void rows_shadow_sync(void)
{
	static const char *const cols[] = { "1", "64", "512" };
	static const unsigned n[] = { 1, 64, 512 };
	double ns[3], per_page[3], synced[3];

	s_vm();
	for (int i = 0; i < 3; i++) {
		ns[i] = sync_ns(n[i], &synced[i]);
		per_page[i] = ns[i] / n[i];
	}
	shadow_put_root(&vm, &s_root);
	shadow_mmu_destroy(&vm);
	head("shadow sync ns, unsync pages:", 3, cols);
	/*
	 * Linear: each unsync page costs the same (write-protect it again,
	 * compare its 512 entries, drop the changed one), about 0.5 us here,
	 * 1.0-1.2x from 64 to 512 pages in our runs; at 1 page the CR3 load's
	 * own cost adds ~100 ns. 3x: room for a loaded machine and for 512
	 * pages' working set (~6 MiB: shadow table, gptes, guest table) falling
	 * out of caches that hold 64's, while a sync that grew with the unsync
	 * pages it has already done (a walk rescanning from scratch, a list
	 * searched per page) costs 8x per page at 512 and fails. The first row
	 * compares the cost of each page added (64 -> 512 against 1 -> 64, the
	 * CR3 load's own cost cancelled), the second the cost per page.
	 */
	row("  ns per sync", 3, ns, "%.0f",
	    within((ns[2] - ns[1]) / 448, (ns[1] - ns[0]) / 63, 0, 3), "linear: each added page");
	row("  ns per unsync page", 3, per_page, "%.0f",
	    within(per_page[2], MIN(per_page[0], per_page[1]), 0, 3), "flat: 512 <= 3 x 1 or 64");
	row("  pages synced", 3, synced, "%.0f",
	    synced[0] == 1 && synced[1] == 64 && synced[2] == 512, "each unsync page once");
}

int main(void)
{
	double t0 = host_now_ns();

	printf("growth: cost growth (host-side; verdict from each row's own figures)\n");
	rows_faults();
	rows_invalidation();
	row_memslots();
	row_gpc();
	rows_vm_life();
	rows_shadow_sync();
	printf("growth: %d row(s) grow too fast; %.1f s\n", bad_rows, (host_now_ns() - t0) / 1e9);
	return bad_rows ? 1 : 0;
}
