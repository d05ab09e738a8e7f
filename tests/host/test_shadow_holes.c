/*
 * Host tests for the shadow-MMU holes of issue 21 (one per hole, each
 * failing before its fix; tests/mutants/shadow_holes.txt re-opens each and
 * names the test that kills it), on the harness of shadow_harness.h. The
 * auditor (ept/shadow_audit.c) runs inside shadow_coherent().
 */
#include "tests/host/shadow_harness.h"

/* Free pages of the guest's RAM between its tables and DATA(0). */
#define SPARE(k) (GPA0 + (NTABLES + (uint64_t)(k)) * PAGE_SIZE)

/* Fault until @gva is mapped (a fault that dropped something asks the guest to retry). */
static bool fault_in(uint64_t gva, uint32_t pfec)
{
	for (int tries = 0; tries < 4; tries++) {
		if (pf(gva, pfec) != SHADOW_RESUME)
			return false;
		if (cpu_leaf(gva))
			return true;
	}
	return false;
}

/*
 * Hole 1: an upper-level guest entry changed behind write protection
 * (minihv's own write into guest RAM, a memslot moved): PDPT[0] now leads
 * to a copy of PD whose entry 2 is the same PT. The next fault's path holds
 * PT's shadow page, which dropping PDPT[0]'s old child zaps as an orphan:
 * it must not be linked back and then freed by the flush.
 */
static void test_hole1_relink_zapped(void)
{
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(fault_in(GVA(0), 0) && cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	memcpy(hva_ptr(gpa_hva(SPARE(0))), hva_ptr(gpa_hva(PD)), PAGE_SIZE);
	*gpte(PDPT, 0) = SPARE(0) | TABLE; /* not a trapped write */
	T(fault_in(GVA(1), 0) && cpu_maps(GVA(1), DATA(1)));
	T(shadow_coherent());
	T(fault_in(GVA(0), 0) && cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	/* The old PD and its PT went; PT's page now hangs below the copy, once. */
	T(sp_of(PT) && !sp_of(PD) && sp_of(SPARE(0)) && vm.smmu.nr_pages == 4);
	T(!vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * Hole 10: a memslot removed takes the shadow pages built from the guest
 * tables in it, roots included, not only the leaves of its gfns; the same
 * RAM added back is mapped anew from a fresh root.
 */
static void test_hole10_slot_removal_zaps_tables(void)
{
	char err[160];
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(fault_in(GVA(0), 0) && shadow_coherent() && vm.smmu.nr_pages == 4);
	T(vm_memslot_remove(&vm, GPA0) == 0);
	T(shadow_coherent() && vm.smmu.nr_pages == 0 && sroot->role.invalid);
	T(vm_memslot_add(&vm, GPA0, SZ_2M, HVA0, 0, err, sizeof(err)) == 0);
	T(pf(GVA(1), 0) == SHADOW_RELOAD);
	T(load(&smode) == 0 && fault_in(GVA(1), 0) && cpu_maps(GVA(1), DATA(1)));
	T(shadow_coherent() && vm.smmu.nr_pages == 4 && !vm.bugged && warn_count == w0);
	svm_done();
}

/* An emulated guest write run by the mm's step hook, at one step of a host change. */
struct step_write {
	enum mm_step at;
	uint64_t gpa, val;
	int calls, result;
};

static void write_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct step_write *sw = ctx;
	char why[160];

	(void)m, (void)r;
	if (at == sw->at && !sw->calls++)
		sw->result = shadow_emulated_write(&vm, sw->gpa, sw->val, 8, why, sizeof(why));
}

/*
 * Hole 9: a guest write to its own (write-protected) table, emulated while
 * a host migrate of that table page is between start() and end(). The
 * store must not go through the mapping the migrate is replacing (on
 * another CPU the copy may already have been made): -EAGAIN, the guest
 * executes it again, and it lands in the new frame.
 */
static void test_hole9_emulated_write_in_invalidation(void)
{
	uint64_t new_pa, old_pa, val = DATA(5) | G_P | G_W | G_U;
	struct step_write sw = { MM_STEP_STARTED, PT + 8 * 3, val, 0, 1 };
	char why[160];

	svm_fresh(true); /* every table write emulated */
	T(fault_in(GVA(3), 0) && cpu_maps(GVA(3), DATA(3)));
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	mm.step_hook = write_at_step;
	mm.step_hook_ctx = &sw;
	T(mm_migrate(&mm, gpa_hva(PT), new_pa, &old_pa) == 0);
	mm.step_hook = NULL;
	T(sw.calls == 1 && sw.result == -EAGAIN);
	T(*gpte(PT, 3) == (DATA(3) | G_P | G_W | G_U | G_A)); /* not written yet */
	/* Executed again after end(): into the new frame, and the old leaf is gone. */
	T(shadow_emulated_write(&vm, PT + 8 * 3, val, 8, why, sizeof(why)) == 0);
	T(host_pa(PT) == new_pa && *gpte(PT, 3) == val && !cpu_leaf(GVA(3)));
	T(fault_in(GVA(3), 0) && cpu_maps(GVA(3), DATA(5)) && shadow_coherent());
	svm_done();
}

/* A second memslot of 10240 pages, for CR3 values (hole 11). */
#define BIG_GPA (GPA0 + 1 * GiB)
#define BIG_HVA (HVA0 + 1 * GiB)
#define BIG_PAGES 10240ULL

/*
 * Hole 11, the bound: a guest that loads 10,000 distinct CR3 values keeps
 * at most shadow_page_limit() pages (20 per 1000 guest pages, at least 64),
 * the oldest roots no vCPU holds reclaimed first, every frame accounted.
 */
static void test_hole11_bound_on_roots(void)
{
	char err[160];
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(back(BIG_HVA, BIG_PAGES * PAGE_SIZE, PT_LEVEL_4K) == 0);
	T(vm_memslot_add(&vm, BIG_GPA, BIG_PAGES * PAGE_SIZE, BIG_HVA, 0, err, sizeof(err)) == 0);
	unsigned long limit = shadow_page_limit(&vm);
	T(limit == (512 + BIG_PAGES) * SHADOW_PERMILLE / 1000);
	for (unsigned i = 0; i < 10000; i++) {
		smode.cr3 = BIG_GPA + i * PAGE_SIZE;
		if (!T(load(&smode) == 0 && vm.smmu.nr_pages <= limit))
			break;
	}
	printf("# 10000 CR3 loads: %lu shadow pages in use, at most %lu, bound %lu, %llu reclaimed\n",
	       vm.smmu.nr_pages, vm.smmu.max_pages, limit,
	       (unsigned long long)vm.stats.shadow_reclaimed);
	T(vm.smmu.max_pages <= limit && vm.stats.shadow_reclaimed >= 10000 - limit);
	/* The guest's own tables again: built anew, and they work. */
	smode.cr3 = PML4;
	T(load(&smode) == 0 && fault_in(GVA(2), 0) && cpu_maps(GVA(2), DATA(2)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * Hole 11, unprotect: a guest PML4 no longer in use (the guest switched to
 * PML4B) stays shadowed, so its page is write-protected; a write minihv
 * cannot emulate there (rep stosq) unshadows it and the guest runs the
 * write again on a writable leaf (KVM's unprotect-and-retry).
 */
static void test_hole11_unprotect_retry(void)
{
	unsigned long w0 = warn_count;

	svm_fresh(true); /* no unsync: every write to a table would be emulated */
	smode.cr3 = PML4B;
	T(load(&smode) == 0 && sp_of(PML4) && sp_of(PML4)->root_count == 0);
	T(pf(GVA_OF_TABLE(0), X86_PF_WRITE) == SHADOW_EMULATE && last_gpa == PML4);
	T(shadow_unprotect_gfn(&vm, gfn_of(PML4)) && !sp_of(PML4));
	T(!shadow_unprotect_gfn(&vm, gfn_of(PML4))); /* nothing more: the caller gives up */
	T(pf(GVA_OF_TABLE(0), X86_PF_WRITE) == SHADOW_RESUME);
	T(cpu_maps(GVA_OF_TABLE(0), PML4) && (cpu_leaf(GVA_OF_TABLE(0)) & G_W));
	T(vm.stats.shadow_unprotected == 1 && shadow_coherent());
	/* Loaded as a root again: write-protected again. */
	smode.cr3 = PML4;
	T(load(&smode) == 0 && shadow_coherent());
	smode.cr3 = PML4B;
	T(load(&smode) == 0 && !(cpu_leaf(GVA_OF_TABLE(0)) & G_W) && shadow_coherent());
	T(!vm.bugged && warn_count == w0);
	svm_done();
}

/* The frame the CPU reaches at @gva for a read, faulting as needed (0: it faults). */
static uint64_t cpu_read_frame(uint64_t gva)
{
	for (int tries = 0; tries < 4; tries++) {
		pte_t e = cpu_leaf(gva);

		if (e & G_P)
			return e & G_ADDR;
		if (pf(gva, 0) != SHADOW_RESUME)
			return 0;
	}
	return 0;
}

/*
 * Hole 17 (found by the fuzzer): a level-1 table left unsync under one
 * root, rewritten by the guest, then reached by another root after a CR3
 * switch (a flush point). The switch synced only what the new root reached
 * then; linking the old PDPT below it later must not show the entry the
 * guest rewrote before that flush.
 */
static void test_hole17_unsync_linked_after_flush(void)
{
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(cpu_read_frame(GVA(1)) == host_pa(DATA(1)));
	/* The guest rewrites PT[1] through its own mapping: PT goes unsync, the store direct. */
	T(pf(GVA_OF_TABLE(3), X86_PF_WRITE) == SHADOW_RESUME && sp_of(PT)->unsync);
	T(cpu_leaf(GVA_OF_TABLE(3)) & G_W);
	*gpte(PT, 1) = DATA(5) | G_P | G_W | G_U;
	smode.cr3 = PML4B; /* the flush point */
	T(load(&smode) == 0);
	T(cpu_read_frame(GVA(2)) == host_pa(DATA(2))); /* links PDPT below the new root */
	T(cpu_read_frame(GVA(1)) == host_pa(DATA(5)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * Hole 18 (found by the fuzzer): a write through a guest entry whose dirty
 * bit is clear, while the host keeps that guest table read-only: the walk
 * cannot set the bit, so no writable leaf (it would lose the bit for good);
 * the write is refused as one to read-only memory.
 */
static void test_hole18_dirty_bit_on_read_only_table(void)
{
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(mm_protect(&mm, gpa_hva(PT), PAGE_SIZE, PT_PROT_R, false) == 1);
	T(pf(GVA(4), X86_PF_WRITE) == -EPERM && !(cpu_leaf(GVA(4)) & G_W));
	T(!(*gpte(PT, 4) & G_D));
	/* Writable again: the write sets the dirty bit and gets its writable leaf. */
	T(mm_protect(&mm, gpa_hva(PT), PAGE_SIZE, PT_PROT_RW, false) == 1);
	T(pf(GVA(4), X86_PF_WRITE) == SHADOW_RESUME && (cpu_leaf(GVA(4)) & G_W));
	T((*gpte(PT, 4) & G_D) && shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

int main(void)
{
	RUN(test_hole1_relink_zapped);
	RUN(test_hole9_emulated_write_in_invalidation);
	RUN(test_hole10_slot_removal_zaps_tables);
	RUN(test_hole11_bound_on_roots);
	RUN(test_hole11_unprotect_retry);
	RUN(test_hole17_unsync_linked_after_flush);
	RUN(test_hole18_dirty_bit_on_read_only_table);
	return tap_finish();
}
