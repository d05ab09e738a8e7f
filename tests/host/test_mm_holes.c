/*
 * Host unit tests for the holes of issue 21 in mm/mm.c, the primary MMU's side
 * of the claims and the notifiers, each failing before its fix
 * (tests/mutants/mm.txt re-opens each one and names the test that kills it):
 * a change widened to the host leaves outside its claim, mm_map() inside a
 * claim, a notifier registered between a change's start() and end(). The
 * racing operation runs at one step of the change (mm.step_hook) or, for a
 * VM created on another CPU, on a second thread. The VM is built by hand
 * (hostvm.h).
 */
#include <pthread.h>
#include "tests/host/hostvm.h"

/*
 * Hole 6: a change that would split a huge host leaf notifies the whole leaf,
 * so the leaf levels must be read in the same step as the claim. Here a
 * racing change completes just before the claim (MM_STEP_CLAIMING) and turns
 * the 4 KiB pages around the target into one 2 MiB page: a collapse, or a
 * huge mm_map where nothing was mapped.
 */
struct claim_race {
	enum mmu_event ev; /* the change under test; the racer's own steps are ignored */
	bool huge_map;     /* the racer: a 2 MiB mm_map (else a collapse) */
	int raced;         /* 1: the racer ran and succeeded */
	int faults, fault_result;
};

static void race_before_claim(struct mm *m, enum mm_step at, const struct mmu_range *r,
			      void *ctx)
{
	struct claim_race *cr = ctx;
	uint64_t pa;

	if (r->event != cr->ev)
		return;
	if (at == MM_STEP_CLAIMING && !cr->raced) {
		cr->raced = -1;
		if (cr->huge_map)
			cr->raced = frame_alloc(&fa, FRAME_ORDER_2M, &pa) == 0 &&
				    mm_map(m, HVA0, pa, SZ_2M, PT_PROT_RW, PT_LEVEL_2M) == 0 ? 1 : -1;
		else
			cr->raced = mm_collapse(m, HVA0) == 0 ? 1 : -1;
	}
	/* A write fault on page 0, outside the 4 KiB asked for, inside the old leaf. */
	if (at == MM_STEP_STARTED && !cr->faults++)
		cr->fault_result = fault(GPA0, true);
}

static void test_hole6_widen_with_claim(void)
{
	static const struct {
		enum mmu_event ev;
		bool huge_map;
	} cases[] = { { MMU_EV_UNMAP, false }, { MMU_EV_PROTECT, false }, { MMU_EV_UNMAP, true } };
	uint64_t page5 = HVA0 + 5 * PAGE_SIZE;
	char err[160];

	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		struct claim_race cr = { cases[i].ev, cases[i].huge_map, 0, 0, -1 };

		if (cr.huge_map) { /* a slot over host memory nothing maps yet */
			vm_fresh();
			T(vm_memslot_add(&vm, GPA0, SZ_2M, HVA0, 0, err, sizeof(err)) == 0);
		} else {
			dvm(PT_LEVEL_4K);
		}
		mm.step_hook = race_before_claim;
		mm.step_hook_ctx = &cr;
		if (cr.ev == MMU_EV_UNMAP)
			T(mm_unmap(&mm, page5, PAGE_SIZE) == 1);
		else
			T(mm_protect(&mm, page5, PAGE_SIZE, PT_PROT_R, false) == 1);
		mm.step_hook = NULL;
		T(cr.raced == 1 && cr.faults == 1 && cr.fault_result == 0);
		/* The whole 2 MiB leaf was being changed: the fault retried. */
		T(vm.stats.ept_retries == 1 && !ept_maps(GPA0, NULL, NULL, NULL));
		T(coherent() && !vm.bugged);
		T(fault(GPA0, true) == 0 && coherent());
		T(fault(GPA0 + 5 * PAGE_SIZE, false) == 0 && coherent());
	}
}

/*
 * Hole 7: mm_map() honours claims as every other change does. A racing map
 * at one step of a change inside its claim gets -EBUSY; one outside it goes
 * through.
 */
struct map_race {
	enum mm_step at;
	enum mmu_event ev;
	uint64_t va[2], pa;
	int calls, result[2];
};

static void map_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct map_race *mr = ctx;

	if (at != mr->at || r->event != mr->ev || mr->calls++)
		return;
	for (int i = 0; i < 2; i++)
		mr->result[i] = mr->va[i] ? mm_map(m, mr->va[i], mr->pa + i * PAGE_SIZE, PAGE_SIZE,
						   PT_PROT_RW, PT_LEVEL_4K)
					  : 0;
}

static void map_race_arm(struct map_race *mr)
{
	T(frame_alloc(&fa, FRAME_ORDER_2M, &mr->pa) == 0);
	mm.step_hook = map_at_step;
	mm.step_hook_ctx = mr;
}

static void test_hole7_map_in_migrate_window(void)
{
	uint64_t hva = HVA0 + 9 * PAGE_SIZE, far = HVA0 + 16 * SZ_2M, new_pa, old_pa;

	/* Migrate, between unmapping the old page and mapping the new one: the data was lost. */
	dvm(PT_LEVEL_4K);
	struct map_race mr = { MM_STEP_UNMAPPED, MMU_EV_MIGRATE, { hva, far }, 0, 0, { 1, 1 } };
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	map_race_arm(&mr);
	T(mm_migrate(&mm, hva, new_pa, &old_pa) == 0);
	mm.step_hook = NULL;
	T(mr.calls == 1 && mr.result[0] == -EBUSY && mr.result[1] == 0);
	/* The guest's data moved with the page; the map outside the claim stands. */
	T(hva_pa(hva) == new_pa && page_is(hva, page_tag(hva)) && hva_pa(far) == mr.pa + PAGE_SIZE);
	T(fault(GPA0 + 9 * PAGE_SIZE, true) == 0 && coherent());

	/* Unmap: a hole inside the claimed range stays a hole until end(). */
	dvm(PT_LEVEL_4K);
	T(mm_unmap(&mm, HVA0 + 10 * PAGE_SIZE, PAGE_SIZE) == 1);
	mr = (struct map_race){ MM_STEP_STARTED, MMU_EV_UNMAP, { HVA0 + 10 * PAGE_SIZE, 0 },
				0, 0, { 1, 1 } };
	map_race_arm(&mr);
	T(mm_unmap(&mm, HVA0 + 8 * PAGE_SIZE, 4 * PAGE_SIZE) == 3);
	mm.step_hook = NULL;
	T(mr.calls == 1 && mr.result[0] == -EBUSY && hva_pa(HVA0 + 10 * PAGE_SIZE) == ~0ULL);
}

/* Hole 7, collapse: between unmapping the small pages and mapping the huge one (was a BUG). */
static void test_hole7_map_in_collapse_window(void)
{
	uint64_t hva = HVA0 + 9 * PAGE_SIZE;
	struct map_race mr = { MM_STEP_UNMAPPED, MMU_EV_COLLAPSE, { HVA0 + 3 * PAGE_SIZE, 0 },
			       0, 0, { 1, 1 } };

	dvm(PT_LEVEL_4K);
	map_race_arm(&mr);
	T(mm_collapse(&mm, HVA0) == 0);
	mm.step_hook = NULL;
	T(mr.calls == 1 && mr.result[0] == -EBUSY);
	T(pt_mapping_level(&mm.pt, HVA0) == PT_LEVEL_2M && page_is(hva, page_tag(hva)));
	T(fault(GPA0, false) == 0 && coherent());
}

/*
 * Hole 8: a notifier registered while a change is between its start() and
 * end() would get the end() alone. Registration is refused (-EBUSY) there;
 * before the claim's start() it is fine (the newcomer gets both calls).
 */
struct rec {
	struct mmu_notifier mn; /* first: the callbacks cast back */
	int starts, ends;
};

static void rec_start(struct mmu_notifier *mn, const struct mmu_range *r)
{
	(void)r;
	((struct rec *)mn)->starts++;
}

static void rec_end(struct mmu_notifier *mn, const struct mmu_range *r)
{
	(void)r;
	((struct rec *)mn)->ends++;
}

static const struct mmu_notifier_ops rec_ops = { rec_start, rec_end, NULL, NULL };

struct reg_race {
	enum mm_step at;
	struct rec rec;
	int calls, result;
};

static void register_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct reg_race *rr = ctx;

	(void)r;
	if (at == rr->at && !rr->calls++)
		rr->result = mmu_notifier_register(m, &rr->rec.mn);
}

static void test_hole8_register_mid_change(void)
{
	static const enum mm_step steps[] = { MM_STEP_CLAIMING, MM_STEP_STARTED, MM_STEP_UNMAPPED,
					      MM_STEP_CHANGED };
	uint64_t hva = HVA0 + 9 * PAGE_SIZE, new_pa, old_pa;

	for (unsigned i = 0; i < ARRAY_SIZE(steps); i++) {
		struct reg_race rr = { steps[i], { { &rec_ops, NULL }, 0, 0 }, 0, 1 };
		bool early = steps[i] == MM_STEP_CLAIMING;

		dvm(PT_LEVEL_4K);
		T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
		mm.step_hook = register_at_step;
		mm.step_hook_ctx = &rr;
		T(mm_migrate(&mm, hva, new_pa, &old_pa) == 0);
		mm.step_hook = NULL;
		T(rr.calls == 1 && rr.result == (early ? 0 : -EBUSY));
		T(rr.rec.starts == rr.rec.ends && rr.rec.ends == (early ? 1 : 0));
		T(mm.register_busy == (early ? 0 : 1));
		if (rr.result)
			T(mmu_notifier_register(&mm, &rr.rec.mn) == 0);
		/* Registered now: the next change reaches it, start() and end(). */
		T(mm_unmap(&mm, hva, PAGE_SIZE) == 1);
		T(rr.rec.starts == rr.rec.ends && rr.rec.ends == (early ? 2 : 1));
		mmu_notifier_unregister(&mm, &rr.rec.mn);
		T(!vm.bugged && coherent());
	}
}

/*
 * Hole 8 as the issue tells it: a second VM, with a slot over the same host
 * pages, created on another CPU while a page of the first is mid-migrate. Its
 * attach waits for the migrate's end(); without that, its fault in the
 * window maps the old frame, and the end() without a start() bugs it.
 */
static struct vm vm2;
static int vm2_done, vm2_fault;

static void *create_vm2(void *arg)
{
	char err[160], why[200];

	(void)arg;
	host_cpu_set_id(1);
	vm_init_on(&vm2, "second");
	BUG_ON(vm_memslot_add(&vm2, GPA0, SZ_2M, HVA0, 0, err, sizeof(err)));
	vm2_fault = mmu_fault(&vm2, GPA0 + 9 * PAGE_SIZE, PT_PROT_W, why, sizeof(why));
	__atomic_store_n(&vm2_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct vm2_race {
	pthread_t thread;
	int calls, done_in_window;
	uint64_t busy;
};

/* At the migrate's STARTED step: start the other CPU, wait until it is refused or done. */
static void create_at_started(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct vm2_race *vr = ctx;

	(void)r;
	if (at != MM_STEP_STARTED || vr->calls++)
		return;
	BUG_ON(pthread_create(&vr->thread, NULL, create_vm2, NULL));
	while (!__atomic_load_n(&vm2_done, __ATOMIC_ACQUIRE) &&
	       !(vr->busy = __atomic_load_n(&m->register_busy, __ATOMIC_RELAXED)))
		hal_cpu_relax();
	vr->done_in_window = __atomic_load_n(&vm2_done, __ATOMIC_ACQUIRE);
}

static void test_hole8_vm_created_mid_migrate(void)
{
	uint64_t hva = HVA0 + 9 * PAGE_SIZE, new_pa, old_pa;
	struct vm2_race vr = { 0 };
	char why[200];

	dvm(PT_LEVEL_4K);
	vm2_done = 0;
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	mm.step_hook = create_at_started;
	mm.step_hook_ctx = &vr;
	T(mm_migrate(&mm, hva, new_pa, &old_pa) == 0);
	mm.step_hook = NULL;
	T(vr.calls == 1 && pthread_join(vr.thread, NULL) == 0);
	T(!vr.done_in_window && vr.busy > 0 && vm2_done && vm2_fault == 0);
	/* The second VM maps the page where it is now, and was never bugged. */
	T(!vm2.bugged && vm2.mn_active == 0 && vm2.inval.in_progress == 0);
	struct pt_walk w;
	T(!pt_lookup(&vm2.ept, GPA0 + 9 * PAGE_SIZE, &w) && w.pa == new_pa);
	T(ept_check_coherent(&vm2, why, sizeof(why)) == 0 && !vm.bugged && coherent());
	/* Both VMs hear the next change. */
	T(mm_unmap(&mm, hva, PAGE_SIZE) == 1 && !vm2.bugged && !vm.bugged);
	T(pt_lookup(&vm2.ept, GPA0 + 9 * PAGE_SIZE, &w) && ept_check_coherent(&vm2, why, sizeof(why)) == 0);
	vm_mmu_detach(&vm2);
}

int main(void)
{
	RUN(test_hole6_widen_with_claim);
	RUN(test_hole8_register_mid_change);
	RUN(test_hole8_vm_created_mid_migrate);
	RUN(test_hole7_map_in_migrate_window);
	RUN(test_hole7_map_in_collapse_window); /* last: before its fix it ends in a BUG_ON */
	return tap_finish();
}
