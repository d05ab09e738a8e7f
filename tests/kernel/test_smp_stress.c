/*
 * The invalidation protocol under real concurrency (issue 14): vCPUs of one
 * guest on the other CPUs write and check a pattern over their memory while
 * this CPU runs a seeded mix of host changes on that memory: migrate with
 * copy (the old frame poisoned, then freed), write-protect and restore,
 * NUMA hinting, collapse and split, aging, unmap of other pages, a gpc
 * writer, and memslot removal and re-addition. Checked throughout: after
 * every change, every present EPT/NPT leaf maps the host's frame; at the
 * end, every vCPU read back each word it wrote (no write lost across a
 * migrate, no poison read), and no fault lost more than LOST_RACE_BOUND
 * races in a row. The lock-order checker (lib/lockdep.c) and the runners'
 * timeouts watch for the rest.
 */
#include "tests/kernel/guest_util.h"
#include "tests/kernel/mix_util.h"

#define STRESS_GPA (1ULL << 30)
#define STRESS_SIZE (4ULL << 20)   /* two 2 MiB blocks: collapse and split have work */
/*
 * The vCPUs work on the first 64 pages only: a small working set stays
 * mapped, so a vCPU runs for long without an exit and comes back to a page
 * soon after the host changed it. A translation the vCPU kept past the
 * host's change would then be used (a missed remote flush shows).
 */
#define STRESS_HOT (256ULL << 10)
#define STRESS_GENS 0          /* until the host stops them, after STRESS_MIN_OPS */
#define STRESS_MIN_OPS 300
#define SCRATCH_GPA (STRESS_GPA + STRESS_SIZE)
#define SCRATCH_SIZE (64ULL << 10) /* the gpc's page and pages to unmap */
#define SPARE_GPA (SCRATCH_GPA + SCRATCH_SIZE)
#define STRESS_MAX_VCPUS 3
#define STRESS_MAX_OPS 4000
/*
 * Livelock bound. A fault retries while an invalidation of its page runs
 * (it waits: the change ends), and once after each invalidation that ended
 * between its snapshot and its check (a lost race, counted by
 * virt/exits.c). This CPU runs one change at a time and checks coherence
 * (a walk of every EPT/NPT leaf) between two, far longer than a fault's
 * walk: losing 32 races in a row would mean faults no longer progress
 * against the changes. Measured: at most 7 (QEMU, 3 vCPUs, 300 changes).
 */
#define LOST_RACE_BOUND 32

enum { OP_MIGRATE, OP_PROTECT, OP_NUMA, OP_UNMAP, OP_COLLAPSE, OP_SPLIT, OP_AGE, OP_GPC,
       OP_MEMSLOT, OPS };
static const char *const op_names[OPS] = {
	"migrate", "protect", "numa", "unmap", "collapse", "split", "age", "gpc", "memslot",
};

struct stress {
	struct guest g;
	struct guest_vcpu gv[STRESS_MAX_VCPUS];
	struct gpc gpc;
	uint64_t rng;
	unsigned long done[OPS], refused[OPS];
	uint64_t spare_hva;
};

static struct stress st;

static uint64_t rnd(void)
{
	return mix_rnd(&st.rng);
}

static uint64_t hva_of(uint64_t gpa)
{
	return memslots_page_hva(&st.g.vm.slots, gpa);
}

static bool coherent(void)
{
	char why[160];
	long bad = mix_incoherent(&st.g.vm, why, sizeof(why));

	return CHECK(bad == 0, "%ld leaves map another frame than the host: %s", bad, why);
}

static int op_gpc(void)
{
	void *p;
	struct pt_walk w;
	int r = gpc_lock(&st.gpc, 8, &p);

	if (r)
		return r;
	/* Under the cache's lock no invalidation can have changed its page. */
	bool same = !host_lookup(st.gpc.uhva, &w) &&
		    ALIGN_DOWN(w.pa, PAGE_SIZE) == ALIGN_DOWN(virt_to_phys(p), PAGE_SIZE);
	(*(volatile uint64_t *)p)++;
	gpc_unlock(&st.gpc);
	return CHECK(same, "gpc maps %#llx, the host %#llx",
		     (unsigned long long)virt_to_phys(p), (unsigned long long)w.pa) ? 0 : -EIO;
}

static int one_op(unsigned op)
{
	uint64_t span = rnd() % 4 ? STRESS_HOT : STRESS_SIZE;
	uint64_t page = STRESS_GPA + (rnd() % (span / PAGE_SIZE)) * PAGE_SIZE;
	uint64_t block = ALIGN_DOWN(page, SZ_2M), hva = hva_of(page);
	uint64_t scratch = SCRATCH_GPA + PAGE_SIZE * (1 + rnd() % (SCRATCH_SIZE / PAGE_SIZE - 1));
	char err[160];
	long r = 0;

	switch (op) {
	case OP_MIGRATE:
		return mix_migrate(hva); /* a vCPU still on the old frame reads TG_POISON */
	case OP_PROTECT:
		r = mix_protect_cycle(hva);
		break;
	case OP_NUMA:
		r = mix_numa(hva, 16);
		break;
	case OP_UNMAP:
		r = mm_unmap(&host_mm, hva_of(scratch), PAGE_SIZE);
		if (r >= 0)
			r = mm_fault_in(&host_mm, hva_of(scratch));
		break;
	case OP_COLLAPSE:
		return mm_collapse(&host_mm, hva_of(block));
	case OP_SPLIT:
		return mm_split(&host_mm, hva_of(block), PT_LEVEL_2M);
	case OP_AGE:
		mm_clear_young(&host_mm, hva_of(STRESS_GPA), STRESS_SIZE);
		return 0;
	case OP_GPC:
		return op_gpc();
	case OP_MEMSLOT:
		r = vm_memslot_remove(&st.g.vm, SPARE_GPA);
		if (!r)
			r = vm_memslot_add(&st.g.vm, SPARE_GPA, PAGE_SIZE, st.spare_hva, 0, err,
					   sizeof(err));
		break;
	}
	return r < 0 ? (int)r : 0;
}

/* Ask the TG_STRESS vCPUs to finish (guest/testguest.h). */
static bool stop_vcpus(void)
{
	uint64_t *stop = vm_gpa_to_host(&st.g.vm, STRESS_GPA, PAGE_SIZE, true);

	if (CHECK(stop, "the first stress page is not mapped"))
		WRITE_ONCE(stop[TG_STRESS_STOP_WORD], TG_STRESS_STOP);
	return stop != NULL;
}

static bool all_done(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!__atomic_load_n(&st.gv[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

KTEST(smp_guest_stress)
{
	unsigned ops = 0, cpus[STRESS_MAX_VCPUS], n = smp_other_cpus(cpus, STRESS_MAX_VCPUS);
	char err[200];

	if (!n) {
		ktest_skip("one CPU online: no vCPU can run beside the host's changes");
		return;
	}
	memset(&st, 0, sizeof(st));
	st.rng = 0x5eed0014 + n;
	printk("# smp_guest_stress: %u vCPUs, seed %#llx\n", n, (unsigned long long)st.rng);
	if (!test_guest_create(&st.g, TG_STRESS, 0, 0) ||
	    !test_guest_add_ram(&st.g, STRESS_GPA, STRESS_SIZE, PT_LEVEL_4K, 0, 0) ||
	    !test_guest_add_ram(&st.g, SCRATCH_GPA, SCRATCH_SIZE, PT_LEVEL_4K, 0, 0) ||
	    !test_guest_add_ram(&st.g, SPARE_GPA, PAGE_SIZE, PT_LEVEL_4K, 0, 0))
		goto out;
	st.spare_hva = hva_of(SPARE_GPA);
	gpc_init(&st.gpc, &st.g.vm);
	if (!CHECK_EQ(gpc_activate(&st.gpc, SCRATCH_GPA, 8), 0))
		goto out;
	for (unsigned i = 0; i < n; i++)
		if (!CHECK(guest_start_vcpu(&st.g, &st.gv[i], i, n, cpus[i], TG_STRESS,
					    STRESS_GPA | STRESS_GENS, STRESS_HOT, err,
					    sizeof(err)) == 0, "%s", err))
			goto wait;

	while (!all_done(n) && ops < STRESS_MAX_OPS) {
		unsigned op = (unsigned)(rnd() % OPS);
		int r = one_op(op);

		ops++;
		if (r)
			st.refused[op]++; /* -EBUSY, -EINVAL (no 2M block yet, ...): fine */
		else
			st.done[op]++;
		if (!coherent())
			break;
		if (ops == STRESS_MIN_OPS)
			stop_vcpus();
	}
wait:
	for (unsigned i = 0; i < n; i++)
		if (st.gv[i].g)
			guest_wait_vcpu(&st.gv[i]);
	coherent();
	uint64_t refaults = 0, races = 0, exits = 0;
	for (unsigned i = 0; i < n; i++) {
		struct guest_vcpu *gv = &st.gv[i];

		CHECK(gv->stop == STOP_EXIT && gv->vcpu.exit_code == 0,
		      "vCPU %u on CPU %u: %s, code %#lx (%s%s), %s", i, gv->cpu,
		      vcpu_stop_name(gv->stop), (unsigned long)gv->vcpu.exit_code,
		      gv->vcpu.exit_code & TG_STRESS_POISON ? "read poison: a freed frame" : "",
		      gv->vcpu.exit_code & TG_STRESS_STALE ? "a write was lost" : "",
		      gv->err ? gv->why : gv->vcpu.stop_reason);
		refaults = MAX(refaults, gv->vcpu.stats.refaults_max);
		races = MAX(races, gv->vcpu.stats.lost_races_max);
		exits += gv->vcpu.stats.exits_total;
	}
	printk("# smp_guest_stress: %u host changes, %llu exits, %llu faults, %llu retries; "
	       "one fault: at most %llu retries, %llu of them lost races (bound %u); "
	       "%llu kicks\n", ops, (unsigned long long)exits,
	       (unsigned long long)st.g.vm.stats.ept_violations,
	       (unsigned long long)st.g.vm.stats.ept_retries, (unsigned long long)refaults,
	       (unsigned long long)races, LOST_RACE_BOUND,
	       (unsigned long long)st.g.vm.stats.remote_kicks);
	for (unsigned op = 0; op < OPS; op++)
		printk("#   %-9s %lu done, %lu refused\n", op_names[op], st.done[op],
		       st.refused[op]);
	CHECK(races <= LOST_RACE_BOUND, "a fault lost %llu races in a row",
	      (unsigned long long)races);
out:
	gpc_deactivate(&st.gpc);
	guest_destroy(&st.g);
}

/*
 * The remote flush itself (virt/remote.c), without the host's own
 * shootdowns, which kick every CPU out of guest mode anyway: a vCPU looping
 * over pages it has mapped takes no exit, so only the flush's kick makes it
 * leave guest mode, and the flush must not return before it has.
 */
KTEST(smp_remote_flush_kicks)
{
	char err[200];
	unsigned cpu;

	if (!smp_other_cpus(&cpu, 1)) {
		ktest_skip("one CPU online: no vCPU runs elsewhere");
		return;
	}
	memset(&st, 0, sizeof(st));
	if (!test_guest_create(&st.g, TG_STRESS, 0, 0) ||
	    !test_guest_add_ram(&st.g, STRESS_GPA, STRESS_SIZE, PT_LEVEL_4K, 0, 0))
		goto out;
	struct guest_vcpu *gv = &st.gv[0];
	if (!CHECK(guest_start_vcpu(&st.g, gv, 0, 1, cpu, TG_STRESS, STRESS_GPA, 16 * PAGE_SIZE,
				    err, sizeof(err)) == 0, "%s", err))
		goto out;
	struct vcpu *v = &gv->vcpu;
	unsigned flushed = 0;
	/* Once its 16 pages are mapped it stays in guest mode: then flush it. */
	for (int round = 0; round < 20 && !__atomic_load_n(&gv->done, __ATOMIC_ACQUIRE); round++) {
		uint64_t kicks = st.g.vm.stats.remote_kicks;

		while (__atomic_load_n(&v->mode, __ATOMIC_ACQUIRE) != VCPU_IN_GUEST &&
		       !__atomic_load_n(&gv->done, __ATOMIC_ACQUIRE))
			hal_cpu_relax();
		/*
		 * Past the entry itself: mode is set before the VM entry, and
		 * under Bochs at quantum 1 a flush started at once could meet
		 * the vCPU between an entry and an exit of the watchdog's that
		 * follows it (seen in every round once the flush took a lock).
		 */
		for (int i = 0; i < 2000; i++)
			hal_cpu_relax();
		uint64_t entries = __atomic_load_n(&v->entries, __ATOMIC_ACQUIRE);
		spin_lock(&st.g.vm.mmu_lock);
		vm_flush_ept(&st.g.vm);
		spin_unlock(&st.g.vm.mmu_lock);
		bool left = __atomic_load_n(&v->mode, __ATOMIC_ACQUIRE) != VCPU_IN_GUEST ||
			    __atomic_load_n(&v->entries, __ATOMIC_ACQUIRE) != entries;
		if (st.g.vm.stats.remote_kicks == kicks + 1 && left)
			flushed++;
	}
	CHECK(flushed > 0, "no flush kicked the vCPU out of guest mode before returning");
	printk("# smp_remote_flush_kicks: %u flushes kicked and waited for, %llu kicks, "
	       "%llu flushes on entry\n", flushed,
	       (unsigned long long)st.g.vm.stats.remote_kicks,
	       (unsigned long long)v->local_flushes);
	stop_vcpus();
	guest_wait_vcpu(gv);
	CHECK(gv->stop == STOP_EXIT && v->exit_code == 0, "vCPU: %s, code %#lx: %s",
	      vcpu_stop_name(gv->stop), (unsigned long)v->exit_code, v->stop_reason);
	/* Every request was honoured: one flush on entry per flush, at most. */
	CHECK(v->local_flushes >= 1 && v->local_flushes <= (uint64_t)flushed + 21,
	      "%llu flushes on entry", (unsigned long long)v->local_flushes);
out:
	guest_destroy(&st.g);
}
