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

int main(void)
{
	RUN(test_hole1_relink_zapped);
	RUN(test_hole10_slot_removal_zaps_tables);
	return tap_finish();
}
