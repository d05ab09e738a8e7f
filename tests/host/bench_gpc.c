/*
 * Host benchmark of the gfn-to-pfn cache (ept/gpc.c), run by scripts/bench.sh.
 * Not a test (no test_ prefix): built without sanitizers at -O2 and timed
 * with CLOCK_MONOTONIC over the same arena VM as tests/host/test_gpc.c.
 * Prints two lines:
 *	gpc: lock/unlock on a valid cache: N.N ns
 *	gpc: refresh: N.N ns
 */
#include "ept/gpc.h"
#include "tests/host/hostvm.h"

#define LOCKS 10000000L
#define REFRESHES 1000000L

int main(void)
{
	struct gpc g;
	void *p;

	dvm(PT_LEVEL_4K);
	gpc_init(&g, &vm);
	if (gpc_activate(&g, GPA0 + 3 * PAGE_SIZE + 0x10, sizeof(uint64_t))) {
		fprintf(stderr, "bench_gpc: gpc_activate failed\n");
		return 1;
	}

	double t0 = host_now_ns();
	for (long i = 0; i < LOCKS; i++) {
		if (gpc_lock(&g, sizeof(uint64_t), &p))
			return 1;
		(void)*(volatile uint64_t *)p; /* the user's read */
		gpc_unlock(&g);
	}
	double t1 = host_now_ns();
	for (long i = 0; i < REFRESHES; i++)
		if (gpc_refresh(&g, sizeof(uint64_t)))
			return 1;
	double t2 = host_now_ns();

	/* Nothing raced: one refresh (one loop each) per call, none under the locks. */
	if (g.refreshes != REFRESHES + 1 || g.refresh_loops != g.refreshes || !g.valid) {
		fprintf(stderr, "bench_gpc: %llu refreshes, %llu loops, valid %d\n",
			(unsigned long long)g.refreshes, (unsigned long long)g.refresh_loops,
			g.valid);
		return 1;
	}
	printf("gpc: lock/unlock on a valid cache: %.1f ns\n", (t1 - t0) / LOCKS);
	printf("gpc: refresh: %.1f ns\n", (t2 - t1) / REFRESHES);
	gpc_deactivate(&g);
	return 0;
}
