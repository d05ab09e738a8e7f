/*
 * The exit-path budgets of boot/budget.h as tests (issue 22): under Bochs,
 * where a TSC tick is an instruction (emu_tsc_counts_instructions()), a
 * round trip more than BUDGET_SLACK_PCT over its budget fails the run, so a
 * slower exit path cannot land unnoticed. The figures are the ones `make
 * bench` prints (boot/bench.c), measured the same way by the same guest.
 */
#include "tests/kernel/guest_util.h"
#include "boot/budget.h"
#include "lib/emu_exit.h"

#define CPUID_ROUNDS 1000

/* Judge @ticks against @budget; the figure is printed on every run. */
static void check_budget(const char *what, long ticks, unsigned long budget)
{
	printk("# %s round trip: %ld TSC ticks (budget %lu instructions, fails above %lu)\n",
	       what, ticks, budget, budget_limit(budget));
	if (!emu_tsc_counts_instructions()) {
		ktest_skip("TSC ticks are time here, not instructions (Bochs alone counts them)");
		return;
	}
	CHECK(ticks > 0 && (unsigned long)ticks <= budget_limit(budget),
	      "%s round trip %ld instructions, budget %lu (+%d%%)", what, ticks, budget,
	      BUDGET_SLACK_PCT);
}

KTEST(exit_budget_cpuid)
{
	struct guest g;

	if (!test_guest_create(&g, TG_CPUID_BENCH, CPUID_ROUNDS, 0))
		return;
	if (CHECK_EQ(guest_run(&g), STOP_EXIT) &&
	    CHECK_EQ(g.vcpu.stats.exits[VEXIT_CPUID], CPUID_ROUNDS))
		check_budget("CPUID", g.vcpu.exit_code, BUDGET_CPUID_ROUND_TRIP);
	guest_destroy(&g);
}

/* 512 first touches of 4 KiB-backed pages in one 2 MiB region: tables present after the first. */
KTEST(exit_budget_tdp_fault)
{
	struct guest g;

	if (!test_guest_create(&g, TG_EPT_BENCH, SZ_1G, SZ_2M))
		return;
	if (g.vm.shadow) {
		ktest_skip("shadow paging (mmu=shadow, or a CPU without EPT/NPT): no second-level fault");
		guest_destroy(&g);
		return;
	}
	if (test_guest_add_ram(&g, SZ_1G, SZ_2M, PT_LEVEL_4K, 0, 0) &&
	    CHECK_EQ(guest_run(&g), STOP_EXIT) &&
	    CHECK_EQ(g.vm.slots.slot[1].ept_violations, SZ_2M / PAGE_SIZE))
		check_budget(g.vcpu.be->tdp_name, g.vcpu.exit_code, BUDGET_TDP_FAULT_ROUND_TRIP);
	guest_destroy(&g);
}
