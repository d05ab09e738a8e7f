/*
 * Host unit tests for the holes of issue 11 in ept/mmu.c and mm/mm.c, each
 * failing before its fix (tests/mutants/mutants.txt reverts every fix and
 * shows which of these kills it): a fault inside a host change's window
 * (mm.step_hook), the coherence checker on every page, memslot changes
 * against invalidations, fault-in through the mm, table pages freed after
 * the flush, precise NUMA hinting. The VM is built by hand (hostvm.h).
 */
#include "tests/host/hostvm.h"

/* A fault run by the mm's step hook, at one step of a host change. */
struct step_fault {
	enum mm_step at;
	uint64_t gpa;
	bool write;
	int calls, result;
};

static void fault_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct step_fault *sf = ctx;

	(void)m, (void)r;
	if (at == sf->at && !sf->calls++)
		sf->result = fault(sf->gpa, sf->write);
}

static void step_fault_arm(struct step_fault *sf)
{
	mm.step_hook = fault_at_step;
	mm.step_hook_ctx = sf;
}

/*
 * Hole 1: unmapping one page of a 2 MiB host page splits it. A fault on a
 * neighbour inside the notification window, before the split, sees the old
 * huge page: the notified range must cover it, or the fault installs a 2M
 * leaf over the page being removed.
 */
static void test_hole1_split_window(void)
{
	uint64_t gone = GPA0 + 5 * PAGE_SIZE;

	static const enum mm_step steps[] = { MM_STEP_STARTED, MM_STEP_CHANGED };

	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		enum mm_step at = steps[i];
		struct step_fault sf = { at, GPA0, false, 0, -1 };

		dvm(PT_LEVEL_2M);
		step_fault_arm(&sf);
		T(mm_unmap(&mm, gpa_hva(gone), PAGE_SIZE) == 1);
		mm.step_hook = NULL;
		T(sf.calls == 1 && sf.result == 0);
		/* Inside the window, the whole old huge page is being invalidated: retry. */
		T(vm.stats.ept_retries == 1 && !ept_maps(GPA0, NULL, NULL, NULL));
		T(!ept_maps(gone, NULL, NULL, NULL) && coherent() && !vm.bugged);
		T(fault(GPA0 + 7 * PAGE_SIZE, false) == 0 && coherent());
	}
}

/* Hole 2: the checker compares every page of a huge leaf, not a sample. */
static void test_hole2_checker_every_page(void)
{
	char why[200];
	uint64_t pa;

	dvm(PT_LEVEL_2M);
	T(fault(GPA0, false) == 0 && coherent());
	/* Change the host behind the mm's back: page 100 of the 2M page, unmapped. */
	T(pt_split(&mm.pt, HVA0, PT_LEVEL_2M) == 0 && coherent());
	T(pt_unmap(&mm.pt, HVA0 + 100 * PAGE_SIZE, PAGE_SIZE) == 1);
	T(ept_check_coherent(&vm, why, sizeof(why)) == 1);
	T(strstr(why, "2M leaf at GPA 0x40064000") != NULL);
	/* Page 300 back, but on another frame: also caught, and named. */
	T(frame_alloc(&fa, FRAME_ORDER_4K, &pa) == 0);
	T(pt_map(&mm.pt, HVA0 + 100 * PAGE_SIZE, hva_pa(HVA0 + 99 * PAGE_SIZE) + PAGE_SIZE,
		 PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == 0 && coherent());
	T(pt_unmap(&mm.pt, HVA0 + 300 * PAGE_SIZE, PAGE_SIZE) == 1);
	T(pt_map(&mm.pt, HVA0 + 300 * PAGE_SIZE, pa, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == 0);
	T(ept_check_coherent(&vm, why, sizeof(why)) == 1 && strstr(why, "GPA 0x4012c000"));
	frame_free(&fa, pa, FRAME_ORDER_4K);
	/* Write access the host no longer gives, on one page of a writable 2M leaf. */
	dvm(PT_LEVEL_2M);
	T(fault(GPA0, true) == 0 && coherent());
	T(pt_split(&mm.pt, HVA0, PT_LEVEL_2M) == 0 && coherent());
	T(pt_protect(&mm.pt, HVA0 + 400 * PAGE_SIZE, PAGE_SIZE, PT_PROT_R) == 1);
	T(ept_check_coherent(&vm, why, sizeof(why)) == 1 && strstr(why, "GPA 0x40190000"));
}

static void remove_slot_hook(struct vm *v, enum fault_step step, void *ctx)
{
	int *removed = ctx;

	if (step == FAULT_STEP_WALKED && !*removed)
		*removed = vm_memslot_remove(v, GPA0) == 0 ? 1 : -1;
}

/*
 * Removing a memslot is an invalidation of its gfns: a fault that looked the
 * slot up before the removal must see seq move and retry, not install a leaf
 * for a gfn no slot covers any more.
 */
static void test_memslot_removal_is_invalidation(void)
{
	int removed = 0;

	dvm(PT_LEVEL_4K);
	vm.fault_hook = remove_slot_hook;
	vm.fault_hook_ctx = &removed;
	uint64_t seq = vm.inval.seq;
	T(fault(GPA0 + 3 * PAGE_SIZE, true) == 0 && removed == 1);
	vm.fault_hook = NULL;
	T(vm.inval.seq == seq + 1 && vm.inval.in_progress == 0 && vm.stats.ept_retries == 1);
	T(!ept_maps(GPA0 + 3 * PAGE_SIZE, NULL, NULL, NULL) && coherent());
	T(fault(GPA0 + 3 * PAGE_SIZE, true) == -EFAULT);
}

/* Hole 3: a memslot may not appear inside an invalidation, even one that touched no slot. */
static void test_hole3_memslot_mid_invalidation(void)
{
	char err[160];
	uint64_t hva = HVA0 + GiB;

	dvm(PT_LEVEL_4K);
	T(back(hva, SZ_2M, PT_LEVEL_4K) == 0);
	struct mmu_range r = { hva, hva + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	T(vm.inval.in_progress == 0 && vm.mn_active == 1); /* no slot: no begin(), but counted */
	/* Refused, not waited for: the invalidation in flight is this CPU's own. */
	T(vm_memslot_add(&vm, 4 * GiB, SZ_2M, hva, 0, err, sizeof(err)) == -EDEADLK);
	T(strstr(err, "inside an invalidation") != NULL && vm.slots.n == 1);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	T(!vm.bugged && vm.inval.in_progress == 0 && vm.mn_active == 0);
	T(vm_memslot_add(&vm, 4 * GiB, SZ_2M, hva, 0, err, sizeof(err)) == 0);
	/* The same sequence through the mm: a legitimate sequence never bugs the VM. */
	T(mm_unmap(&mm, hva + PAGE_SIZE, PAGE_SIZE) == 1 && !vm.bugged && vm.mn_active == 0);
}

/*
 * Hole 4: backing created on demand goes through the mm. In a migrate or
 * collapse window (the old page unmapped, the new not yet mapped) the fault
 * must wait, not map a zero page the change then collides with.
 */
static void test_hole4_faultin_migrate_window(void)
{
	uint64_t gpa = GPA0 + 9 * PAGE_SIZE, new_pa, old_pa;
	struct step_fault sf = { MM_STEP_UNMAPPED, gpa, true, 0, -1 };

	dvm(PT_LEVEL_4K);
	uint64_t hva = gpa_hva(gpa);
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	step_fault_arm(&sf);
	T(mm_migrate(&mm, hva, new_pa, &old_pa) == 0);
	mm.step_hook = NULL;
	T(sf.calls == 1 && sf.result == 0 && vm.stats.host_faultins == 0);
	T(vm.stats.ept_retries == 1 && !ept_maps(gpa, NULL, NULL, NULL));
	/* The guest's data moved with the page. */
	T(hva_pa(hva) == new_pa && page_is(hva, page_tag(hva)));
	T(fault(gpa, true) == 0 && ept_follows_host(gpa) && coherent());
	frame_free(&fa, old_pa, FRAME_ORDER_4K);
}

/* Hole 4, collapse window: the fault waits, the collapse completes (it used to BUG). */
static void test_hole4_faultin_collapse_window(void)
{
	struct step_fault sf = { MM_STEP_UNMAPPED, GPA0 + 3 * PAGE_SIZE, false, 0, -1 };
	uint64_t hva = HVA0 + 9 * PAGE_SIZE;

	dvm(PT_LEVEL_4K);
	step_fault_arm(&sf);
	T(mm_collapse(&mm, HVA0) == 0);
	mm.step_hook = NULL;
	T(sf.calls == 1 && sf.result == 0 && vm.stats.host_faultins == 0);
	T(pt_mapping_level(&mm.pt, HVA0) == PT_LEVEL_2M && page_is(hva, page_tag(hva)));
	T(fault(GPA0 + 3 * PAGE_SIZE, false) == 0 && coherent());
	/* Outside any change the fault-in still works, through the mm. */
	T(mm_unmap(&mm, HVA0 + SZ_2M - PAGE_SIZE, PAGE_SIZE) == 1);
	T(fault(GPA0 + SZ_2M - PAGE_SIZE, true) == 0 && vm.stats.host_faultins == 1);
	T(mm.faultins == 1 && page_is(HVA0 + SZ_2M - PAGE_SIZE, 0) && coherent());
}

static unsigned long tables_at_flush;

static void flush_sample_tables(struct vm *v)
{
	vm_flushes++;
	tables_at_flush = v->ept.table_pages;
}

/* Hole 7: an EPT table page is freed only after the flush that makes the CPU forget it. */
static void test_hole7_tables_freed_after_flush(void)
{
	dvm(PT_LEVEL_4K);
	T(fault(GPA0, false) == 0 && ept_maps(GPA0, NULL, NULL, NULL));
	unsigned long tables = vm.ept.table_pages; /* root, PDPT, PD, PT */
	/* The host collapses the block: the 4K leaf is zapped, its PT stays (empty). */
	T(mm_collapse(&mm, HVA0) == 0 && !ept_maps(GPA0, NULL, NULL, NULL));
	T(vm.ept.table_pages == tables);
	/* A 2M fault drops the empty PT: at the flush it must still be allocated. */
	vm.flush = flush_sample_tables;
	unsigned long f0 = vm_flushes;
	T(fault(GPA0 + PAGE_SIZE, false) == 0);
	T(ept_maps(GPA0, NULL, NULL, NULL) && vm_flushes == f0 + 1);
	T(tables_at_flush == tables && vm.ept.table_pages == tables - 1 && coherent());
}

/* Hole 7, the rollback of a failed map: its tables wait for the flush too. */
static void test_hole7_rollback_after_flush(void)
{
	uint64_t pa, keep[2];

	dvm(PT_LEVEL_4K);
	vm.flush = flush_sample_tables;
	unsigned long tables = vm.ept.table_pages; /* the root */
	/* Leave two free frames: the PDPT and PD of the fault, not its PT. */
	T(frame_alloc(&fa, FRAME_ORDER_4K, &keep[0]) == 0);
	T(frame_alloc(&fa, FRAME_ORDER_4K, &keep[1]) == 0);
	while (frame_alloc(&fa, FRAME_ORDER_4K, &pa) == 0)
		;
	frame_free(&fa, keep[0], FRAME_ORDER_4K);
	frame_free(&fa, keep[1], FRAME_ORDER_4K);
	T(fault(GPA0, false) == -ENOMEM && !ept_maps(GPA0, NULL, NULL, NULL));
	T(vm_flushes == 1 && tables_at_flush == tables + 2 && vm.ept.table_pages == tables);
	T(fa.nfree == 2 && coherent());
}

/* Hole 8 in the VM: NUMA hinting zaps only leaves whose host pages it changes. */
static void test_hole8_numa_precise(void)
{
	dvm(PT_LEVEL_2M);
	T(fault(GPA0, true) == 0 && ept_maps(GPA0, NULL, NULL, NULL));
	/* A 2M host page cannot migrate: nothing changes, nothing is zapped or notified. */
	T(mm_protect(&mm, HVA0, SZ_2M, 0, true) == 0);
	T(vm.stats.invalidations == 0 && vm.stats.ept_zaps == 0 && vm_flushes == 0);
	T(ept_maps(GPA0 + 77 * PAGE_SIZE, NULL, NULL, NULL));
	/* 4K pages: the mapped ones that get hinted are zapped, the already hinted are not. */
	dvm(PT_LEVEL_4K);
	uint64_t hva = gpa_hva(GPA0);
	for (int i = 0; i < 8; i++)
		T(fault(GPA0 + i * PAGE_SIZE, true) == 0);
	T(mm_protect(&mm, hva + 2 * PAGE_SIZE, 2 * PAGE_SIZE, 0, true) == 2);
	T(vm.stats.ept_zaps == 2 && vm_flushes == 1);
	T(mm_protect(&mm, hva, 8 * PAGE_SIZE, 0, true) == 6);
	T(vm.stats.ept_zaps == 8 && vm_flushes == 2 && vm.stats.invalidations == 2);
	/* Pages 2 and 3, hinted and unmapped, are inside the batch: still not zapped twice. */
	T(!ept_maps(GPA0 + 2 * PAGE_SIZE, NULL, NULL, NULL) && coherent());
	T(fault(GPA0 + 2 * PAGE_SIZE, false) == 0 && vm.stats.numa_faults == 1);
	T(!mm_numa_would_change(&mm, hva + 3 * PAGE_SIZE) && coherent());

	/*
	 * One batch spans pages that do not change: a 2 MiB host page between
	 * two runs of 4 KiB pages. Its 2M leaf lies inside the batch and stays.
	 */
	char err[160];
	int level;
	vm_fresh();
	T(back(HVA0, SZ_2M, PT_LEVEL_4K) == 0 && back(HVA0 + SZ_2M, SZ_2M, PT_LEVEL_2M) == 0);
	T(back(HVA0 + 2 * SZ_2M, SZ_2M, PT_LEVEL_4K) == 0);
	T(vm_memslot_add(&vm, GPA0, 3 * SZ_2M, HVA0, 0, err, sizeof(err)) == 0);
	T(fault(GPA0, true) == 0 && fault(GPA0 + SZ_2M, true) == 0);
	T(fault(GPA0 + 2 * SZ_2M, true) == 0);
	T(ept_maps(GPA0 + SZ_2M, NULL, &level, NULL) && level == PT_LEVEL_2M);
	T(mm_protect(&mm, HVA0, 3 * SZ_2M, 0, true) == 1024);
	T(vm.stats.invalidations == 1 && vm.stats.ept_zaps == 2 && vm_flushes == 1);
	T(ept_maps(GPA0 + SZ_2M + 5 * PAGE_SIZE, NULL, NULL, NULL) && coherent());
}

int main(void)
{
	RUN(test_hole1_split_window);
	RUN(test_hole2_checker_every_page);
	RUN(test_memslot_removal_is_invalidation);
	RUN(test_hole3_memslot_mid_invalidation);
	RUN(test_hole4_faultin_migrate_window);
	RUN(test_hole4_faultin_collapse_window);
	RUN(test_hole7_tables_freed_after_flush);
	RUN(test_hole7_rollback_after_flush);
	RUN(test_hole8_numa_precise);
	return tap_finish();
}
