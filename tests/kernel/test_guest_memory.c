/*
 * Guest memory through EPT built on demand: a 64 MiB pattern checked from
 * both sides, and exact EPT-violation counts for each host backing size.
 */
#include "tests/kernel/guest_util.h"
#include "mm/hostpt.h"

#define PATTERN_SIZE (64ULL << 20)

KTEST(guest_pattern_64m)
{
	struct guest g;

	if (!test_guest_create(&g, TG_PATTERN, SZ_1G, PATTERN_SIZE))
		return;
	if (test_guest_add_ram(&g, SZ_1G, PATTERN_SIZE, PT_LEVEL_2M, 0, 0) &&
	    test_guest_run_ok(&g)) {
		/* The host reads the same bytes through its own mapping of the slot. */
		const volatile uint64_t *p = vm_gpa_to_host(&g.vm, SZ_1G, PATTERN_SIZE, true);
		uint64_t bad = 0;

		for (uint64_t i = 0; i < PATTERN_SIZE / 8; i++)
			bad += p[i] != TESTGUEST_PATTERN(SZ_1G + i * 8);
		CHECK_EQ(bad, 0);
		/* One fault per leaf: 2 MiB with EPT/NPT, 4 KiB under shadow paging. */
		CHECK_EQ(g.vm.slots.slot[1].ept_violations,
			 PATTERN_SIZE / (g.vm.shadow ? PAGE_SIZE : SZ_2M));
	}
	guest_destroy(&g);
}

/*
 * Touch every 4 KiB page of a 1 GiB slot at GPA 1 GiB backed by host pages of
 * @backing and check the exact number of violations and leaves installed.
 */
static void touch_1g(int backing, uint64_t skew, uint64_t violations, int leaf_level)
{
	struct guest g;

	if (!test_guest_create(&g, TG_TOUCH, SZ_1G, SZ_1G))
		return;
	if (test_guest_add_ram(&g, SZ_1G, SZ_1G, backing, 0, skew) && test_guest_run_ok(&g)) {
		if (g.vm.shadow) { /* shadow leaves are 4 KiB whatever backs them */
			violations = SZ_1G / PAGE_SIZE;
			leaf_level = PT_LEVEL_4K;
		}
		const struct memslot *ram = &g.vm.slots.slot[0], *s = &g.vm.slots.slot[1];
		const uint64_t *inst = g.vm.stats.ept_installed;

		CHECK_EQ(s->ept_violations, violations);
		/* The 4 MiB of main RAM is 4 KiB-backed: its faults install 4K leaves. */
		CHECK_EQ(inst[leaf_level] - (leaf_level == PT_LEVEL_4K ? ram->ept_violations : 0),
			 violations);
		for (int l = PT_LEVEL_4K; l <= PT_LEVEL_1G; l++)
			if (l != leaf_level && l != PT_LEVEL_4K)
				CHECK_EQ(inst[l], 0);
		printk("# %s backing%s: %llu %s, %lu %s\n", pt_level_name(backing),
		       skew ? " (hva skewed by 4K)" : "", (unsigned long long)s->ept_violations,
		       g.vm.shadow ? "shadow faults" : "EPT violations",
		       g.vm.shadow ? g.vm.smmu.max_pages : g.vm.ept.table_pages,
		       g.vm.shadow ? "shadow pages at most" : "EPT table pages");
	}
	guest_destroy(&g);
}

KTEST(guest_faults_1g_backing)
{
	if (!(host_leaf_levels() & (1u << PT_LEVEL_1G))) {
		ktest_skip("host CPU has no 1 GiB pages");
		return;
	}
	if (!this_cpu.caps.ept_1g && this_cpu.caps.vmx) {
		/* EPT caps at 2M: the same slot takes one violation per 2 MiB. */
		touch_1g(PT_LEVEL_1G, 0, 512, PT_LEVEL_2M);
		return;
	}
	touch_1g(PT_LEVEL_1G, 0, 1, PT_LEVEL_1G);
}

KTEST(guest_faults_2m_backing)
{
	touch_1g(PT_LEVEL_2M, 0, 512, PT_LEVEL_2M);
}

KTEST(guest_faults_4k_backing)
{
	touch_1g(PT_LEVEL_4K, 0, 262144, PT_LEVEL_4K);
}

KTEST(guest_faults_unaligned_hva)
{
	struct guest g;

	/* 2 MiB host pages, but the slot starts 4 KiB into one: only 4K leaves fit. */
	if (!test_guest_create(&g, TG_TOUCH, SZ_1G, 16 * SZ_2M))
		return;
	if (test_guest_add_ram(&g, SZ_1G, 16 * SZ_2M, PT_LEVEL_2M, 0, 1) && test_guest_run_ok(&g)) {
		CHECK_EQ(g.vm.slots.slot[1].ept_violations, 16 * 512);
		CHECK_EQ(g.vm.stats.ept_installed[PT_LEVEL_2M], 0);
	}
	guest_destroy(&g);
}
