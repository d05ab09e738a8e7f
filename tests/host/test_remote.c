/*
 * virt/remote.c under real threads: when vcpu_flush_vm() returns, no vCPU
 * is still in guest mode on translations older than that flush (each one
 * either was kicked out and waited for, or flushed on its way in), a flush
 * kicks only vCPUs in guest mode on other CPUs, and every request is
 * honoured by a local flush before the next entry.
 */
#include <stdio.h>
#include "tests/host/remote_model.h"

#define FLUSHES 5000
/* One vCPU thread: with the flusher, as many threads as this machine's 2 cores. */
#define VCPUS 1

static void flush_returns_after_every_vcpu_left(void)
{
	unsigned stale = 0;

	rm_start(VCPUS);
	for (int i = 0; i < FLUSHES; i++) {
		/* Every other flush finds both in guest mode; the rest land anywhere. */
		for (unsigned c = 0; c < rm_n && i % 2 == 0; c++)
			while (!__atomic_load_n(&rm_vcpus[c].running, __ATOMIC_ACQUIRE))
				__builtin_ia32_pause();
		vcpu_flush_vm(&rm_vm);
		uint64_t gen = __atomic_load_n(&rm_vm.tlb_gen, __ATOMIC_ACQUIRE);

		for (unsigned c = 0; c < rm_n; c++) {
			struct rm_vcpu *r = &rm_vcpus[c];

			/* Running now means it entered after the flush began: it saw gen. */
			if (__atomic_load_n(&r->running, __ATOMIC_ACQUIRE) &&
			    __atomic_load_n(&r->v.tlb_gen, __ATOMIC_ACQUIRE) < gen)
				stale++;
		}
	}
	rm_finish();
	printf("# %d flushes, %llu kicks, %llu stints, %llu local flushes\n", FLUSHES,
	       (unsigned long long)rm_vm.stats.remote_kicks, (unsigned long long)rm_vcpus[0].stints,
	       (unsigned long long)rm_vcpus[0].local_flushes);
	T(stale == 0);
	T(rm_vm.stats.remote_kicks > 0);
	T(rm_vm.stats.remote_kicks <= (uint64_t)VCPUS * FLUSHES);
	for (unsigned c = 0; c < VCPUS; c++)
		T(rm_vcpus[c].local_flushes >= 1 && rm_vcpus[c].local_flushes <= FLUSHES + 1);
}

static void no_flush(struct vcpu *v)
{
	(void)v; /* v->local_flushes counts it */
}

static void no_kick_for_own_cpu_or_outside_guest(void)
{
	static const struct vcpu_backend be = { .name = "host", .flush_local = no_flush };
	static struct vcpu self, idle;

	rm_start(0);
	self = (struct vcpu){ .vm = &rm_vm, .be = &be, .cpu = 0, .tlb_gen = ~0ULL };
	idle = (struct vcpu){ .vm = &rm_vm, .be = &be, .cpu = 3, .tlb_gen = ~0ULL };

	rm_vm.vcpus[0] = &self;
	rm_vm.vcpus[1] = &idle;
	rm_vm.nr_vcpus = 2;
	vcpu_flush_vm(&rm_vm);
	T(rm_vm.stats.remote_kicks == 0);
	T(rm_vm.tlb_gen == 1);
	/* The vCPU on this CPU honours the request when it next enters. */
	vcpu_enter_guest_mode(&self);
	T(self.tlb_gen == 1 && self.local_flushes == 1);
	vcpu_exit_guest_mode(&self);
	rm_finish();
}

int main(void)
{
	RUN(flush_returns_after_every_vcpu_left);
	RUN(no_kick_for_own_cpu_or_outside_guest);
	return tap_finish();
}
