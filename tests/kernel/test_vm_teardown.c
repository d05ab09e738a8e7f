/*
 * The freeing order of a VM's teardown (../shared/DESIGN.md, "Freeing order"): zap EPT,
 * flush, unmap the host pages, free the frames. Checked at the flush: by then
 * EPT must map nothing and the host must still map (and own) the backing.
 */
#include "tests/kernel/inval_util.h"

static struct {
	struct vm *vm;
	uint64_t hva;
	unsigned flushes;
	long ept_leaves;
	bool host_mapped;
} td;

static bool count_leaf(void *ctx, uint64_t va, int level, pte_t *e)
{
	(void)va, (void)level, (void)e;
	(*(long *)ctx)++;
	return true;
}

static void teardown_flush(struct vm *vm)
{
	struct pt_walk w;

	td.flushes++;
	td.ept_leaves = 0;
	pt_for_each_leaf(&vm->ept, 0, 1ULL << PT_VA_BITS, count_leaf, &td.ept_leaves);
	td.host_mapped = host_lookup(td.hva, &w) == 0;
}

KTEST(inval_vm_destroy_order)
{
	struct vm vm;
	struct pt_walk w;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(dvm_fault(&vm, DVM_GPA + i * PAGE_SIZE, true), 0);
	td.hva = dvm_hva(&vm, DVM_GPA);
	td.flushes = 0;
	vm.flush = teardown_flush;
	vm_destroy(&vm);
	CHECK_EQ(td.flushes, 1);
	CHECK(td.ept_leaves == 0, "EPT still had %ld leaves at the flush", td.ept_leaves);
	CHECK(td.host_mapped, "the backing was unmapped (and freed) before the EPT flush");
	CHECK(host_lookup(td.hva, &w) != 0, "the backing is still mapped after vm_destroy");
}
