/* Precise invalidation, contained bugs and memslot changes (data VMs, any emulator). */
#include "tests/kernel/inval_util.h"
#include "lib/bug.h"

#define NPAGES 16

static void map_pages(struct vm *vm, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		dvm_fault(vm, DVM_GPA + i * PAGE_SIZE, true);
}

KTEST(inval_precise_numa)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	uint64_t hva = dvm_hva(&vm, DVM_GPA);
	/* Pages EPT never mapped: nothing to zap, nothing to flush. */
	unsigned long f0 = dvm_flushes;
	CHECK(mm_protect(vm.mm, hva, NPAGES * PAGE_SIZE, PT_PROT_RW, true) >= 0);
	CHECK_EQ(vm.stats.ept_zaps, 0);
	CHECK_EQ(dvm_flushes - f0, 0);
	CHECK_EQ(vm.stats.invept, 0);
	/* Mapped pages: every leaf zapped, one flush for the whole batch. */
	map_pages(&vm, NPAGES);
	CHECK_EQ(vm.stats.ept_installed[PT_LEVEL_4K], NPAGES);
	CHECK(mm_protect(vm.mm, hva, NPAGES * PAGE_SIZE, PT_PROT_RW, true) >= 0);
	CHECK_EQ(vm.stats.ept_zaps, NPAGES);
	CHECK_EQ(dvm_flushes - f0, 1);
	CHECK_EQ(vm.stats.invept, 1);
	dvm_coherent(&vm);
	vm_destroy(&vm);
}

KTEST(inval_precise_protect)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	uint64_t hva = dvm_hva(&vm, DVM_GPA);
	map_pages(&vm, NPAGES);
	unsigned long f0 = dvm_flushes;
	/* Still writable: the guest loses nothing, EPT keeps everything. */
	mm_protect(vm.mm, hva, NPAGES * PAGE_SIZE, PT_PROT_RWX, false);
	CHECK_EQ(vm.stats.ept_zaps, 0);
	CHECK_EQ(dvm_flushes, f0);
	/* Read-only: the writable leaves go, with one flush. */
	mm_protect(vm.mm, hva, NPAGES * PAGE_SIZE, PT_PROT_R, false);
	CHECK_EQ(vm.stats.ept_zaps, NPAGES);
	CHECK_EQ(dvm_flushes, f0 + 1);
	dvm_coherent(&vm);
	/* Now a write faults out to the caller; a read maps read-only. */
	CHECK_EQ(dvm_fault(&vm, DVM_GPA, true), -EPERM);
	CHECK_EQ(dvm_fault(&vm, DVM_GPA, false), 0);
	struct pt_walk w;
	CHECK(pt_lookup(&vm.ept, DVM_GPA, &w) == 0 && !(w.prot & PT_PROT_W), "not read-only");
	/* A range outside every memslot: no invalidation at all. */
	uint64_t seq = vm.inval.seq;
	mm_unmap(vm.mm, hva + 4 * SZ_2M, PAGE_SIZE);
	CHECK_EQ(vm.inval.seq, seq);
	vm_destroy(&vm);
}

KTEST(inval_bug_unbalanced_end)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	struct mmu_range r = { dvm_hva(&vm, DVM_GPA), dvm_hva(&vm, DVM_GPA) + PAGE_SIZE,
			       MMU_EV_UNMAP, 0 };
	printk("# a VM-bug message below is deliberate\n");
	vm.mn.ops->invalidate_range_end(&vm.mn, &r); /* end() with no begin() */
	CHECK(vm.bugged, "an unbalanced end() did not mark the VM bugged");
	CHECK(vm.inval.in_progress < 0);
	vm_destroy(&vm); /* the host goes on: the next test runs */
}

KTEST(inval_bug_no_range_warns_once)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	unsigned long w = warn_count;
	printk("# one warning below is deliberate\n");
	for (int i = 0; i < 2; i++) {
		spin_lock(&vm.mmu_lock);
		mmu_invalidate_begin(&vm.inval);
		CHECK(mmu_invalidate_end(&vm.inval)); /* no range_add() in between */
		spin_unlock(&vm.mmu_lock);
	}
	/* ../shared/seeds/000_2316efe6a1f42eb7.txt: WARN_ON_ONCE, and only once */
	CHECK_EQ(warn_count, w + 1);
	CHECK(!vm.bugged, "a missing range is a warning, not a VM bug");
	vm_destroy(&vm);
}

KTEST(inval_memslot_change_waits)
{
	struct vm vm;
	char err[160];

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	struct mmu_range r = { dvm_hva(&vm, DVM_GPA), dvm_hva(&vm, DVM_GPA) + PAGE_SIZE,
			       MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	/* This CPU's own invalidation: refused, not waited for (ept/vm_memslot.c). */
	CHECK_EQ(vm_memslot_add(&vm, 0x80000000ULL, SZ_2M, HOST_DYN_BASE, 0, err, sizeof(err)),
		 -EDEADLK);
	CHECK_EQ(vm_memslot_remove(&vm, DVM_GPA), -EDEADLK);
	CHECK_EQ(vm.slots.n, 1);
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	CHECK(!vm.bugged && vm.inval.in_progress == 0, "begin/end unbalanced");
	dvm_fault(&vm, DVM_GPA + PAGE_SIZE, false);
	CHECK_EQ(vm_memslot_remove(&vm, DVM_GPA), 0);
	CHECK(!dvm_mapped(&vm, DVM_GPA + PAGE_SIZE, NULL), "removing a slot left EPT entries");
	vm_destroy(&vm);
}

KTEST(inval_aging)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	uint64_t hva = dvm_hva(&vm, DVM_GPA);
	CHECK(!mm_test_young(vm.mm, hva, PAGE_SIZE), "an unmapped page is young");
	map_pages(&vm, 1);
	/* Without EPT A/D bits, a mapping counts as young and clearing zaps it. */
	vm.ept_ad = false;
	CHECK(mm_test_young(vm.mm, hva, PAGE_SIZE));
	CHECK(mm_clear_young(vm.mm, hva, PAGE_SIZE));
	CHECK(!dvm_mapped(&vm, DVM_GPA, NULL), "clear_young without A/D did not zap");
	/* With them, the accessed bit decides and the mapping stays. */
	vm.ept_ad = true;
	map_pages(&vm, 1);
	int level;
	pte_t *e = pt_find_leaf(&vm.ept, DVM_GPA, &level);
	if (CHECK(e != NULL)) {
		CHECK(!mm_test_young(vm.mm, hva, PAGE_SIZE), "young before any access");
		*e |= EPT_ACCESSED; /* what the CPU does on a guest access */
		CHECK(mm_test_young(vm.mm, hva, PAGE_SIZE));
		CHECK(mm_clear_young(vm.mm, hva, PAGE_SIZE));
		CHECK(!(*e & EPT_ACCESSED) && dvm_mapped(&vm, DVM_GPA, NULL));
	}
	vm_destroy(&vm);
}

KTEST(inval_hypervisor_access_checks_host)
{
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	uint64_t hva = dvm_hva(&vm, DVM_GPA + PAGE_SIZE);
	CHECK(vm_gpa_to_host(&vm, DVM_GPA + PAGE_SIZE - 8, 16, true) != NULL);
	/* Write-protected or unmapped backing: the hypervisor gets NULL, not a #PF. */
	mm_protect(vm.mm, hva, PAGE_SIZE, PT_PROT_R, false);
	CHECK(vm_gpa_to_host(&vm, DVM_GPA + PAGE_SIZE - 8, 16, true) == NULL, "write-protected page");
	CHECK(vm_gpa_to_host(&vm, DVM_GPA + PAGE_SIZE - 8, 16, false) != NULL, "reading it is fine");
	mm_unmap(vm.mm, hva, PAGE_SIZE);
	CHECK(vm_gpa_to_host(&vm, DVM_GPA + PAGE_SIZE, 8, true) == NULL, "unmapped page");
	CHECK(vm_gpa_to_host(&vm, DVM_GPA, 8, true) != NULL, "its neighbour is still mapped");
	vm_destroy(&vm);
}
