/*
 * Host benchmark of the remote flush (virt/remote.c), run by scripts/bench.sh:
 * ns per vcpu_flush_vm() that kicks one vCPU thread out of guest mode and
 * waits for it (the thread leaves as soon as it sees the kick), and ns per
 * flush that finds no vCPU in guest mode (a request only). One vCPU thread:
 * with the flusher, as many threads as this machine's 2 cores; more would
 * measure the scheduler. Not a test: -O2, no sanitizers.
 */
#include <stdio.h>
#include "tests/host/remote_model.h"

#define FLUSHES 200000L

int main(void)
{
	rm_start(1);
	double kicked = 0;
	for (long i = 0; i < FLUSHES; i++) {
		while (!__atomic_load_n(&rm_vcpus[0].running, __ATOMIC_ACQUIRE))
			__builtin_ia32_pause();
		double t0 = host_now_ns();
		vcpu_flush_vm(&rm_vm);
		kicked += host_now_ns() - t0;
	}
	uint64_t kicks = rm_vm.stats.remote_kicks;
	rm_finish();

	rm_start(0); /* no vCPU in guest mode: the request alone */
	double t0 = host_now_ns();
	for (long i = 0; i < FLUSHES; i++)
		vcpu_flush_vm(&rm_vm);
	double alone = host_now_ns() - t0;
	rm_finish();
	printf("flush: remote flush of 1 vCPU in guest mode (kick + wait): %.1f ns (%llu kicks "
	       "in %ld flushes); request only: %.1f ns\n", kicked / FLUSHES,
	       (unsigned long long)kicks, FLUSHES, alone / FLUSHES);
	return 0;
}
