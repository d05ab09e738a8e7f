/*
 * Host benchmark of the shadow MMU's bound (issue 21, hole 11), run by
 * scripts/bench.sh: a guest that loads 10,000 distinct CR3 values, and the
 * shadow pages in use after it against the bound (deterministic counts),
 * plus ns per CR3 load once the bound is reached (reclaim on every load).
 * Prints:
 *	shadow: 10000 CR3 loads: N pages in use (most M), bound B, R reclaimed
 *	shadow: CR3 load at the bound: N.N ns
 */
#include "tests/host/shadow_harness.h"

#define LOADS 10000u
#define BIG_GPA (GPA0 + 1 * GiB)
#define BIG_HVA (HVA0 + 1 * GiB)

int main(void)
{
	char err[160];

	svm_fresh(false);
	if (back(BIG_HVA, LOADS * PAGE_SIZE, PT_LEVEL_4K) ||
	    vm_memslot_add(&vm, BIG_GPA, LOADS * PAGE_SIZE, BIG_HVA, 0, err, sizeof(err))) {
		fprintf(stderr, "bench_shadow_roots: no RAM for the CR3 values\n");
		return 1;
	}
	double t0 = 0;
	for (unsigned i = 0; i < LOADS; i++) {
		if (i == LOADS / 2)
			t0 = host_now_ns();
		smode.cr3 = BIG_GPA + (uint64_t)i * PAGE_SIZE;
		if (load(&smode))
			return 1;
	}
	double t1 = host_now_ns();
	unsigned long limit = shadow_page_limit(&vm);
	printf("shadow: %u CR3 loads: %lu pages in use (most %lu), bound %lu, %llu reclaimed%s\n",
	       LOADS, vm.smmu.nr_pages, vm.smmu.max_pages, limit,
	       (unsigned long long)vm.stats.shadow_reclaimed,
	       vm.smmu.max_pages > limit ? "  OVER BOUND" : "");
	printf("shadow: CR3 load at the bound: %.1f ns\n", (t1 - t0) / (LOADS - LOADS / 2));
	svm_done();
	return 0;
}
