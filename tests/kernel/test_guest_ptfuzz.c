/*
 * The guest page-table fuzzer inside real guests (issue 21): TG_PT_FUZZ
 * (guest/testguest_ptfuzz.c) on every vCPU the machine has room for, each
 * in a 2 MiB region (a memslot) of its own, under shadow paging. vCPU 0
 * runs here and yields now and then; the host then migrates pages of any
 * region (the other vCPUs running on meanwhile), unmaps data pages of
 * region 0 or removes its memslot and adds it back. The auditor runs at
 * every yield (ept_check_coherent() -> shadow_audit()). Seed and operations
 * per vCPU: fuzz_seed= and fuzz_ops= on the kernel command line (1, and
 * 10000 where shadow paging is the run's MMU: mmu=shadow, or a CPU without
 * EPT/NPT; 2000 where the run is about EPT/NPT and this test only visits).
 */
#include "tests/kernel/guest_util.h"
#include "boot/options.h"
#include "ept/vm.h"
#include "mm/mm.h"

#define PTF_GPA (64ULL << 20)
#define PTF_MAX_VCPUS 4
#define REGION(i) (PTF_GPA + (uint64_t)(i) * PTF_REGION)

static struct {
	struct guest g;
	struct guest_vcpu gv[PTF_MAX_VCPUS];
	uint64_t rng, migrated, unmapped, reslotted;
} pf;

static uint64_t host_rnd(void)
{
	pf.rng ^= pf.rng << 13;
	pf.rng ^= pf.rng >> 7;
	pf.rng ^= pf.rng << 17;
	return pf.rng;
}

/* A page of region @r (0-511) moved to a fresh frame; the old one poisoned, then freed. */
static void migrate_page(unsigned r, unsigned page)
{
	uint64_t hva = memslots_page_hva(&pf.g.vm.slots, REGION(r) + page * PAGE_SIZE), to, from;

	if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &to))
		return;
	if (mm_migrate(&host_mm, hva, to, &from)) {
		frame_free(&phys_frames, to, FRAME_ORDER_4K);
		return;
	}
	memset(phys_to_virt(from), 0xdb, PAGE_SIZE);
	frame_free(&phys_frames, from, FRAME_ORDER_4K);
	pf.migrated++;
}

/* At a yield of vCPU 0: one change of the host's. */
static bool host_change(unsigned n)
{
	unsigned k = (unsigned)(host_rnd() % 10), r = (unsigned)(host_rnd() % n);
	uint64_t hva0 = memslots_page_hva(&pf.g.vm.slots, REGION(0));
	char err[160];

	if (k < 6) {
		/* Tables and data frames alike: pages 0-63 of any region, its vCPU running or not. */
		migrate_page(r, (unsigned)(host_rnd() % 64));
	} else if (k < 8) {
		/* A data frame of the paused vCPU: both its views read the zero page after. */
		uint64_t page = 16 + host_rnd() % 48;
		if (mm_unmap(&host_mm, hva0 + page * PAGE_SIZE, PAGE_SIZE) >= 0)
			pf.unmapped++;
	} else {
		if (!CHECK_EQ(vm_memslot_remove(&pf.g.vm, REGION(0)), 0) ||
		    !CHECK(vm_memslot_add(&pf.g.vm, REGION(0), PTF_REGION, hva0, 0, err,
					  sizeof(err)) == 0, "memslot back: %s", err))
			return false;
		pf.reslotted++;
	}
	char why[200] = "";
	spin_lock(&pf.g.vm.mmu_lock);
	long bad = ept_check_coherent(&pf.g.vm, why, sizeof(why));
	spin_unlock(&pf.g.vm.mmu_lock);
	return CHECK(bad == 0, "%ld faults found: %s", bad, why);
}

static void report(const char *who, long code, unsigned r)
{
	const struct ptf_report *rep =
		vm_gpa_to_host(&pf.g.vm, REGION(r) + PTF_REPORT, sizeof(*rep), false);

	if (code > 0 && rep)
		printk("# %s: operation %llu: linear %#llx, check %llu, want %#llx, got %#llx, CR3 "
		       "%#llx (guest/testguest.h, enum ptf_kind)\n", who,
		       (unsigned long long)rep->op, (unsigned long long)rep->va,
		       (unsigned long long)rep->kind, (unsigned long long)rep->want,
		       (unsigned long long)rep->got, (unsigned long long)rep->cr3);
	else if (code)
		printk("# %s: code %#lx (CR2 << 16 | 0xff00 | error of an unexpected #PF)\n", who,
		       (unsigned long)code);
}

KTEST(shadow_pt_fuzz)
{
	unsigned cpus[PTF_MAX_VCPUS - 1], others = smp_other_cpus(cpus, PTF_MAX_VCPUS - 1);
	unsigned n = 1 + others, yields = 0;
	uint64_t seed = kopts.fuzz_seed, ops = kopts.fuzz_ops;
	bool was = hv_mmu_shadow;
	const struct vcpu_backend *be;
	struct mmu_caps mc;
	char err[200];

	if (!ops)
		ops = !hv_backend(&be, &mc, err, sizeof(err)) && !mc.shadow ? 2000 : 10000;

	memset(&pf, 0, sizeof(pf));
	pf.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	printk("# shadow_pt_fuzz: seed %llu, %llu operations on each of %u vCPUs (rerun: "
	       "fuzz_seed=%llu)\n", (unsigned long long)seed, (unsigned long long)ops, n,
	       (unsigned long long)seed);
	hv_mmu_shadow = true; /* read when the VM is created */
	if (!test_guest_create(&pf.g, TG_PT_FUZZ, REGION(0) | 1, seed << 32 | ops))
		goto out;
	for (unsigned i = 0; i < n; i++)
		if (!test_guest_add_ram(&pf.g, REGION(i), PTF_REGION, PT_LEVEL_4K, 0, 0))
			goto out;
	for (unsigned i = 1; i < n; i++)
		if (!CHECK(guest_start_vcpu(&pf.g, &pf.gv[i], i, n, cpus[i - 1], TG_PT_FUZZ,
					    REGION(i), (seed + i) << 32 | ops, err, sizeof(err)) == 0,
			   "%s", err))
			goto wait;
	enum vcpu_stop s;
	while ((s = guest_run(&pf.g)) == STOP_YIELD) {
		yields++;
		if (!host_change(n) || !vcpu_resume(&pf.g.vcpu))
			break;
	}
	if (!CHECK(s == STOP_EXIT && pf.g.vcpu.exit_code == 0, "vCPU 0: %s (%s), code %ld",
		   vcpu_stop_name(s), pf.g.vcpu.stop_reason, pf.g.vcpu.exit_code))
		report("vCPU 0", pf.g.vcpu.exit_code, 0);
wait:
	for (unsigned i = 1; i < n; i++) {
		struct guest_vcpu *gv = &pf.gv[i];

		if (!gv->g)
			continue;
		guest_wait_vcpu(gv);
		if (!CHECK(gv->stop == STOP_EXIT && gv->vcpu.exit_code == 0,
			   "vCPU %u on CPU %u: %s, code %ld (%s)", i, gv->cpu, vcpu_stop_name(gv->stop),
			   gv->vcpu.exit_code, gv->err ? gv->why : gv->vcpu.stop_reason))
			report("another vCPU", gv->vcpu.exit_code, i);
	}
	const struct vm_stats *st = &pf.g.vm.stats;
	printk("# shadow_pt_fuzz: %u yields: %llu pages migrated, %llu unmapped, %llu memslot "
	       "cycles; shadow: %llu faults, %llu emulated, %llu unsynced, %llu synced, %llu "
	       "unprotected, %llu reclaimed, %lu pages at most\n", yields,
	       (unsigned long long)pf.migrated, (unsigned long long)pf.unmapped,
	       (unsigned long long)pf.reslotted, (unsigned long long)st->shadow_faults,
	       (unsigned long long)st->shadow_emulated, (unsigned long long)st->shadow_unsynced,
	       (unsigned long long)st->shadow_synced, (unsigned long long)st->shadow_unprotected,
	       (unsigned long long)st->shadow_reclaimed, pf.g.vm.smmu.max_pages);
	CHECK(yields > 0, "vCPU 0 never yielded");
out:
	guest_destroy(&pf.g);
	hv_mmu_shadow = was;
}
