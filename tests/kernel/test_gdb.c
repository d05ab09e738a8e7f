/*
 * The structures the gdb test inspects (scripts/gdb-test.sh): a VM built as
 * data with EPT entries, a scripted invalidation and a gfn-to-pfn cache. The
 * kernel prints its own view between the gdb-fixture markers, then stops in
 * gdb_checkpoint() where gdb prints the same through its hv-* commands.
 */
#include "vmx/dump.h"
#include "ept/gpc.h"
#include "tests/kernel/inval_util.h"

void gdb_checkpoint(struct vm *vm);

/* gdb breaks here; noinline and a side effect so the call stays. */
__attribute__((noinline)) void gdb_checkpoint(struct vm *vm)
{
	WRITE_ONCE(vm->stats.invept, vm->stats.invept);
	barrier();
}

KTEST(gdb_fixture)
{
	struct vm vm;
	struct gpc gpc;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	vm.name = "gdbvm";
	for (int i = 0; i < 3; i++)
		CHECK_EQ(dvm_fault(&vm, DVM_GPA + i * PAGE_SIZE, true), 0);
	uint64_t hva = dvm_hva(&vm, DVM_GPA);
	/* A scripted begin/end: write-protect page 1 (zaps its writable leaf). */
	CHECK_EQ(mm_protect(vm.mm, hva + PAGE_SIZE, PAGE_SIZE, PT_PROT_R, false), 1);
	CHECK_EQ(vm.inval.seq, 1);
	gpc_init(&gpc, &vm);
	CHECK_EQ(gpc_activate(&gpc, DVM_GPA + 0x10, 16), 0);

	printk("# gdb-fixture begin\n");
	dump_host_walk(hva);
	dump_ept_walk(&vm, DVM_GPA);
	dump_ept_walk(&vm, DVM_GPA + PAGE_SIZE);
	dump_inval(&vm);
	dump_gpc(&vm);
	dump_vcpu(&vm);
	printk("# gdb-fixture end\n");
	gdb_checkpoint(&vm);

	gpc_deactivate(&gpc);
	vm_destroy(&vm);
}
