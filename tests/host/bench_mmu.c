/*
 * Host benchmark of the EPT fault and zap paths (ept/mmu.c), run by
 * scripts/bench.sh. Not a test (no test_ prefix): built without sanitizers at
 * -O2 and timed with CLOCK_MONOTONIC over the arena VM of tests/host/hostvm.h,
 * whose INVEPT is a counter: these are the software costs alone. Prints:
 *	mmu: EPT fault-in, 4K leaf: N.N ns (first touch, tables allocated), N.N ns (tables present)
 *	mmu: zap of 2 MiB: N.N ns (512 4K leaves), N.N ns (one 2M leaf)
 * A zap is one notifier start/end pair over the 2 MiB (the secondary MMU's
 * share of a host unmap: zap, range tracking, one flush), without the host
 * page-table change itself. Each figure is the median over rounds of the
 * round's mean, so a round disturbed by another process on the machine does
 * not move it.
 */
#include <stdlib.h>
#include "tests/host/hostvm.h"

#define RAM (64 * MiB)
#define PAGES (RAM / PAGE_SIZE)
#define BLOCKS (RAM / SZ_2M)
#define FIRST_ROUNDS 15    /* fresh VMs: 15 x 16384 first touches */
#define REFAULT_ROUNDS 41  /* 41 x 16384 faults into existing tables */
#define ZAP4K_ROUNDS 41    /* 41 x 32 zaps of 512 leaves */
#define ZAP2M_ROUNDS 20001 /* 20001 x 32 zaps of one leaf */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n round times, divided by the @per operations of a round. */
static double median(double *t, int n, double per)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return t[n / 2] / per;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_mmu: %s (%llu installed, %llu zaps, %llu retries)\n", what,
		(unsigned long long)(vm.stats.ept_installed[PT_LEVEL_4K] +
				     vm.stats.ept_installed[PT_LEVEL_2M]),
		(unsigned long long)vm.stats.ept_zaps, (unsigned long long)vm.stats.ept_retries);
	exit(1);
}

/* A fresh VM with RAM at GPA0 backed by @level host pages. */
static void setup(int level)
{
	vm_fresh();
	if (vm_ram(GPA0, RAM, HVA0, level, 0))
		die("cannot back the RAM");
}

/* Fault in every leaf of the RAM (@step apart); the time it took. */
static double fault_all(uint64_t step)
{
	char why[200];
	double t0 = host_now_ns();

	for (uint64_t gpa = GPA0; gpa < GPA0 + RAM; gpa += step)
		if (mmu_fault(&vm, gpa, PT_PROT_W, why, sizeof(why)))
			die(why);
	return host_now_ns() - t0;
}

/* Zap the RAM 2 MiB at a time, as the notifier does for a host change; the time it took. */
static double zap_all(void)
{
	double t0 = host_now_ns();

	for (uint64_t b = 0; b < BLOCKS; b++) {
		uint64_t hva = HVA0 + b * SZ_2M;
		struct mmu_range r = { hva, hva + SZ_2M, MMU_EV_UNMAP, 0 };

		vm.mn.ops->invalidate_range_start(&vm.mn, &r);
		vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	}
	return host_now_ns() - t0;
}

int main(void)
{
	static double first[FIRST_ROUNDS], refault[REFAULT_ROUNDS], zap4k[ZAP4K_ROUNDS],
		zap2m[ZAP2M_ROUNDS];

	for (int i = 0; i < FIRST_ROUNDS; i++) {
		setup(PT_LEVEL_4K);
		first[i] = fault_all(PAGE_SIZE);
	}
	for (int i = 0; i < REFAULT_ROUNDS; i++) {
		zap_all();
		refault[i] = fault_all(PAGE_SIZE);
	}
	for (int i = 0; i < ZAP4K_ROUNDS; i++) {
		zap4k[i] = zap_all();
		fault_all(PAGE_SIZE);
	}
	/* Each 4K fault installed one leaf; each zap batch removed 512 with one flush. */
	if (vm.stats.ept_installed[PT_LEVEL_4K] != (REFAULT_ROUNDS + ZAP4K_ROUNDS + 1) * PAGES ||
	    vm.stats.ept_zaps != (REFAULT_ROUNDS + ZAP4K_ROUNDS) * PAGES ||
	    vm_flushes != (REFAULT_ROUNDS + ZAP4K_ROUNDS) * BLOCKS || vm.stats.ept_retries)
		die("4K: unexpected counts");

	setup(PT_LEVEL_2M);
	fault_all(SZ_2M);
	for (int i = 0; i < ZAP2M_ROUNDS; i++) {
		zap2m[i] = zap_all();
		fault_all(SZ_2M);
	}
	if (vm.stats.ept_installed[PT_LEVEL_2M] != (ZAP2M_ROUNDS + 1) * BLOCKS ||
	    vm.stats.ept_zaps != (uint64_t)ZAP2M_ROUNDS * BLOCKS || !coherent())
		die("2M: unexpected counts");

	printf("mmu: EPT fault-in, 4K leaf: %.1f ns (first touch, tables allocated), "
	       "%.1f ns (tables present)\n", median(first, FIRST_ROUNDS, PAGES),
	       median(refault, REFAULT_ROUNDS, PAGES));
	printf("mmu: zap of 2 MiB: %.1f ns (512 4K leaves), %.1f ns (one 2M leaf)\n",
	       median(zap4k, ZAP4K_ROUNDS, BLOCKS), median(zap2m, ZAP2M_ROUNDS, BLOCKS));
	return 0;
}
