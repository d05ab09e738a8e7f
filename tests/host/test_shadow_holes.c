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

int main(void)
{
	RUN(test_hole1_relink_zapped);
	RUN(test_hole9_emulated_write_in_invalidation);
	RUN(test_hole10_slot_removal_zaps_tables);
	return tap_finish();
}
