/*
 * `make bench` (kernel option `bench`): deterministic counts of the EPT fault
 * path next to their theoretical minimum, and the CPUID exit round trip in TSC
 * ticks as the guest measures it. Printed, never asserted: the tests check
 * the counts that must be exact.
 */
#include "guests.h"
#include "hostpt.h"
#include "kerrno.h"
#include "loader.h"
#include "printk.h"
#include "run_guest.h"
#include "testguest.h"

#define SZ_1G (1ULL << 30)
#define CPUID_ITERATIONS 1000

static int bench_guest(struct guest *g, uint64_t cmd, uint64_t arg, uint64_t arg2)
{
	char err[200];
	int r = guest_create(g, "bench", testguest_image.start,
			     (size_t)(testguest_image.end - testguest_image.start), 4ULL << 20, cmd,
			     arg, arg2, err, sizeof(err));

	if (r)
		printk("bench: cannot create the guest: %s\n", err);
	return r;
}

static void bench_touch(int backing)
{
	static const uint64_t minimum[] = { 0, 262144, 512, 1 };
	struct guest g;
	char err[200];

	if (!(host_leaf_levels() & (1u << backing))) {
		printk("bench: first touch of 1 GiB, %s backing: host has no such pages\n",
		       pt_level_name(backing));
		return;
	}
	if (bench_guest(&g, TG_TOUCH, SZ_1G, SZ_1G))
		return;
	int r = vm_add_ram(&g.vm, SZ_1G, SZ_1G, backing, 0, 0, err, sizeof(err));
	if (r) {
		printk("bench: %s backing: %s\n", pt_level_name(backing), err);
	} else {
		guest_run(&g);
		uint64_t min = minimum[backing];
		if (backing == PT_LEVEL_1G && !this_cpu.caps.ept_1g)
			min = 512; /* EPT without 1 GiB pages maps it in 2 MiB leaves at best */
		printk("bench: first touch of 1 GiB, %s backing: %llu EPT violations (minimum %llu), "
		       "%lu EPT table pages in the VM\n", pt_level_name(backing),
		       (unsigned long long)g.vm.slots.slot[1].ept_violations,
		       (unsigned long long)min, g.vm.ept.table_pages);
	}
	guest_destroy(&g);
}

void bench_run(void)
{
	struct guest g;
	char why[200];

	if (hv_ready(why, sizeof(why))) {
		printk("bench: no guest measurements: %s\n", why);
		return;
	}
	bench_touch(PT_LEVEL_4K);
	bench_touch(PT_LEVEL_2M);
	bench_touch(PT_LEVEL_1G);
	if (bench_guest(&g, TG_CPUID_BENCH, CPUID_ITERATIONS, 0))
		return;
	if (guest_run(&g) == STOP_EXIT)
		printk("bench: CPUID exit round trip: %ld TSC ticks (mean of %d, measured in the guest)\n",
		       g.vcpu.exit_code, CPUID_ITERATIONS);
	guest_destroy(&g);
}
