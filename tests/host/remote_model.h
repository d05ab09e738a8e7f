/*
 * vCPU threads for virt/remote.c on the host (test_remote.c, bench_flush.c):
 * each thread is a CPU running one vCPU that enters "guest mode", stays
 * there until it is kicked (smp_kick() in the host build calls host_kick),
 * leaves, and enters again. @running is set only between the real
 * vcpu_enter_guest_mode() and vcpu_exit_guest_mode(): the time the vCPU
 * may use translations it cached at its last flush (@tlb_gen).
 */
#ifndef MINIHV_REMOTE_MODEL_H
#define MINIHV_REMOTE_MODEL_H

#include <pthread.h>
#include <string.h>
#include "virt/vcpu.h"
#include "tests/host/hostshim.h"

#define RM_MAX 4

struct rm_vcpu {
	struct vcpu v;
	pthread_t thread;
	int kicked, running;
	uint64_t stints, local_flushes;
};

static struct vm rm_vm;
static struct rm_vcpu rm_vcpus[RM_MAX];
static unsigned rm_n;
static int rm_stop;

static void rm_flush_local(struct vcpu *v)
{
	((struct rm_vcpu *)v)->local_flushes++;
}

static const struct vcpu_backend rm_backend = { .name = "host", .flush_local = rm_flush_local };

static void rm_kick(unsigned cpu)
{
	__atomic_store_n(&rm_vcpus[cpu - 1].kicked, 1, __ATOMIC_RELEASE);
}

static void *rm_thread(void *arg)
{
	struct rm_vcpu *r = arg;

	host_cpu_set_id(r->v.cpu);
	while (!__atomic_load_n(&rm_stop, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&r->kicked, 0, __ATOMIC_RELAXED);
		vcpu_enter_guest_mode(&r->v);
		__atomic_store_n(&r->running, 1, __ATOMIC_RELEASE);
		/* In the guest until kicked (a bounded stint: the watchdog's exit). */
		for (int i = 0; i < 100000 && !__atomic_load_n(&r->kicked, __ATOMIC_ACQUIRE); i++)
			__builtin_ia32_pause();
		__atomic_store_n(&r->running, 0, __ATOMIC_RELEASE);
		vcpu_exit_guest_mode(&r->v);
		r->stints++;
	}
	return NULL;
}

/* @n vCPU threads on CPUs 1..n of a fresh VM; the caller is CPU 0. */
static void rm_start(unsigned n)
{
	memset(&rm_vm, 0, sizeof(rm_vm));
	memset(rm_vcpus, 0, sizeof(rm_vcpus));
	rm_vm.name = "remote";
	spin_lock_init(&rm_vm.vcpus_lock, LOCK_RANK_VCPUS, "vm->vcpus_lock");
	rm_n = n;
	rm_stop = 0;
	host_kick = rm_kick;
	for (unsigned i = 0; i < n; i++) {
		struct vcpu *v = &rm_vcpus[i].v;

		v->vm = &rm_vm;
		v->be = &rm_backend;
		v->cpu = i + 1;
		v->tlb_gen = ~0ULL;
		BUG_ON(vcpu_register(&rm_vm, v) || v->index != i);
	}
	for (unsigned i = 0; i < n; i++)
		pthread_create(&rm_vcpus[i].thread, NULL, rm_thread, &rm_vcpus[i]);
}

static void rm_finish(void)
{
	__atomic_store_n(&rm_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < rm_n; i++) {
		__atomic_store_n(&rm_vcpus[i].kicked, 1, __ATOMIC_RELEASE);
		pthread_join(rm_vcpus[i].thread, NULL);
	}
	host_kick = NULL;
}

#endif
