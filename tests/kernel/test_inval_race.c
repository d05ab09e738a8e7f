/*
 * The invalidation protocol against the fault path, every race forced
 * deterministically: an invalidation runs at each step of the fault
 * (after the seq snapshot, after the host walk, before install) for each
 * event kind, and the fault must retry and never install the old frame.
 */
#include "tests/kernel/inval_util.h"

struct race {
	enum fault_step at;
	enum mmu_event ev;
	bool fired;
	uint64_t hva, new_pa, old_pa;
};

/* The host change under test, run by the fault hook at the chosen step. */
static void host_change(struct vm *vm, struct race *rc)
{
	uint64_t hva = rc->hva;

	switch (rc->ev) {
	case MMU_EV_UNMAP:
		mm_unmap(vm->mm, hva, PAGE_SIZE);
		break;
	case MMU_EV_PROTECT:
		mm_protect(vm->mm, hva, PAGE_SIZE, PT_PROT_R, false);
		break;
	case MMU_EV_PROTECT_NUMA:
		mm_protect(vm->mm, hva, PAGE_SIZE, PT_PROT_RW, true);
		break;
	case MMU_EV_MIGRATE:
		frame_alloc(&phys_frames, FRAME_ORDER_4K, &rc->new_pa);
		CHECK_EQ(mm_migrate(vm->mm, hva, rc->new_pa, &rc->old_pa), 0);
		break;
	case MMU_EV_COLLAPSE:
		CHECK_EQ(mm_collapse(vm->mm, ALIGN_DOWN(hva, SZ_2M)), 0);
		break;
	case MMU_EV_SPLIT:
		CHECK_EQ(mm_split(vm->mm, hva, PT_LEVEL_2M), 0);
		break;
	}
}

static void race_hook(struct vm *vm, enum fault_step step, void *ctx)
{
	struct race *rc = ctx;

	if (step != rc->at || rc->fired)
		return;
	rc->fired = true;
	host_change(vm, rc); /* a whole begin ... end pair inside the fault */
}

static void one_race(enum fault_step at, enum mmu_event ev)
{
	/* Split needs a 2 MiB host page; the others 4 KiB pages. */
	int level = ev == MMU_EV_SPLIT ? PT_LEVEL_2M : PT_LEVEL_4K;
	uint64_t gpa = DVM_GPA + 5 * PAGE_SIZE, pa = 0;
	struct vm vm;

	if (!dvm_create(&vm, SZ_2M, level))
		return;
	struct race rc = { at, ev, false, dvm_hva(&vm, gpa), 0, 0 };
	vm.fault_hook = race_hook;
	vm.fault_hook_ctx = &rc;
	uint64_t retries = vm.stats.ept_retries;
	int r = dvm_fault(&vm, gpa, false);

	CHECK(r == 0 && rc.fired, "step %d event %s: r=%d", at, mmu_event_name(ev), r);
	CHECK(!dvm_mapped(&vm, gpa, NULL), "step %d event %s: installed despite the race", at,
	      mmu_event_name(ev));
	CHECK_EQ(vm.stats.ept_retries, retries + 1);
	dvm_coherent(&vm);

	/* The retried fault sees the new host state. */
	vm.fault_hook = NULL;
	CHECK_EQ(dvm_fault(&vm, gpa, false), 0);
	if (CHECK(dvm_mapped(&vm, gpa, &pa), "not mapped after the retry")) {
		if (ev == MMU_EV_MIGRATE)
			CHECK(pa == rc.new_pa && pa != rc.old_pa, "event migrate: EPT maps %#llx, "
			      "new frame %#llx", (unsigned long long)pa,
			      (unsigned long long)rc.new_pa);
		if (ev == MMU_EV_COLLAPSE)
			CHECK_EQ(pt_mapping_level(&vm.ept, gpa), PT_LEVEL_2M);
		if (ev == MMU_EV_SPLIT)
			CHECK_EQ(pt_mapping_level(&vm.ept, gpa), PT_LEVEL_4K);
	}
	dvm_coherent(&vm);
	if (rc.old_pa)
		frame_free(&phys_frames, rc.old_pa, FRAME_ORDER_4K);
	vm_destroy(&vm);
}

KTEST(inval_race_every_step)
{
	static const enum mmu_event events[] = {
		MMU_EV_UNMAP, MMU_EV_PROTECT, MMU_EV_PROTECT_NUMA,
		MMU_EV_MIGRATE, MMU_EV_COLLAPSE, MMU_EV_SPLIT,
	};

	for (int at = 0; at < FAULT_STEPS; at++)
		for (unsigned e = 0; e < ARRAY_SIZE(events); e++)
			one_race((enum fault_step)at, events[e]);
}

KTEST(inval_in_progress_range)
{
	struct vm vm;
	uint64_t in = DVM_GPA + 3 * PAGE_SIZE, out = DVM_GPA + 100 * PAGE_SIZE;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	/* The host is half-way through changing [in, in + 4 pages): start() only. */
	struct mmu_range r = { dvm_hva(&vm, in), dvm_hva(&vm, in) + 4 * PAGE_SIZE,
			       MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	CHECK_EQ(dvm_fault(&vm, in, false), 0);
	CHECK(!dvm_mapped(&vm, in, NULL), "fault inside a running invalidation installed");
	CHECK(vm.stats.ept_retries_unlocked >= 1, "the lockless pre-check did not catch it");
	CHECK_EQ(dvm_fault(&vm, out, false), 0);
	CHECK(dvm_mapped(&vm, out, NULL), "fault outside the invalidated range did not install");
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	dvm_coherent(&vm);
	CHECK_EQ(dvm_fault(&vm, in, false), 0);
	CHECK(dvm_mapped(&vm, in, NULL), "fault after end() did not install");
	dvm_coherent(&vm);
	vm_destroy(&vm);
}

KTEST(inval_overlapping_widen)
{
	struct vm vm;
	uint64_t a = DVM_GPA + 10 * PAGE_SIZE, b = DVM_GPA + 20 * PAGE_SIZE;
	uint64_t between = DVM_GPA + 15 * PAGE_SIZE, far = DVM_GPA + 300 * PAGE_SIZE;

	if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
		return;
	struct mmu_range ra = { dvm_hva(&vm, a), dvm_hva(&vm, a) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	struct mmu_range rb = { dvm_hva(&vm, b), dvm_hva(&vm, b) + PAGE_SIZE, MMU_EV_UNMAP, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &ra);
	vm.mn.ops->invalidate_range_start(&vm.mn, &rb);
	CHECK_EQ(vm.inval.range_start, a >> 12);
	CHECK_EQ(vm.inval.range_end, (b >> 12) + 1);
	dvm_fault(&vm, a, false);
	dvm_fault(&vm, b, false);
	dvm_fault(&vm, between, false); /* in the union: a false positive, allowed */
	CHECK(!dvm_mapped(&vm, a, NULL) && !dvm_mapped(&vm, b, NULL) &&
	      !dvm_mapped(&vm, between, NULL), "a fault inside the union installed");
	dvm_fault(&vm, far, false);
	CHECK(dvm_mapped(&vm, far, NULL), "a fault outside the union did not install");
	vm.mn.ops->invalidate_range_end(&vm.mn, &ra);
	dvm_coherent(&vm);
	dvm_fault(&vm, a, false);
	CHECK(!dvm_mapped(&vm, a, NULL), "installed while the second invalidation still runs");
	vm.mn.ops->invalidate_range_end(&vm.mn, &rb);
	dvm_coherent(&vm);
	dvm_fault(&vm, a, false);
	dvm_fault(&vm, b, false);
	CHECK(dvm_mapped(&vm, a, NULL) && dvm_mapped(&vm, b, NULL), "not installed after both ended");
	dvm_coherent(&vm);
	vm_destroy(&vm);
}

static void remove_slot_hook(struct vm *vm, enum fault_step step, void *ctx)
{
	enum fault_step *at = ctx;

	if (step == *at)
		CHECK_EQ(vm_memslot_remove(vm, DVM_GPA), 0);
}

/* Removing the memslot under a fault is an invalidation too: nothing is installed. */
KTEST(inval_race_memslot_remove)
{
	for (int at = 0; at < FAULT_STEPS; at++) {
		struct vm vm;
		enum fault_step step = (enum fault_step)at;

		if (!dvm_create(&vm, SZ_2M, PT_LEVEL_4K))
			return;
		vm.fault_hook = remove_slot_hook;
		vm.fault_hook_ctx = &step;
		uint64_t seq = vm.inval.seq;
		int r = dvm_fault(&vm, DVM_GPA + 3 * PAGE_SIZE, false);
		CHECK(r == 0 || r == -EFAULT, "step %d: fault returned %d", at, r);
		CHECK(!dvm_mapped(&vm, DVM_GPA + 3 * PAGE_SIZE, NULL),
		      "step %d: EPT maps a gfn whose memslot is gone", at);
		CHECK_EQ(vm.inval.seq, seq + 1);
		CHECK_EQ(vm.slots.n, 0);
		dvm_coherent(&vm);
		vm_destroy(&vm);
	}
}
