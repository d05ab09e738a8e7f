/*
 * virt/remote.c under real threads: when vcpu_flush_vm() returns, no vCPU
 * is still in guest mode on translations older than that flush (each one
 * either was kicked out and waited for, or flushed on its way in), a flush
 * kicks only vCPUs in guest mode on other CPUs, and every request is
 * honoured by a local flush before the next entry. vCPUs registered at
 * once all land in distinct slots (issue 21, hole 2), and a vCPU's memory
 * is out of every flush's reach once vcpu_unregister() returned (hole 13).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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

	T(vcpu_register(&rm_vm, &self) == 0 && vcpu_register(&rm_vm, &idle) == 0);
	T(self.index == 0 && idle.index == 1 && rm_vm.nr_vcpus == 2 && rm_vm.vcpu == &self);
	vcpu_flush_vm(&rm_vm);
	T(rm_vm.stats.remote_kicks == 0);
	T(rm_vm.tlb_gen == 1);
	/* The vCPU on this CPU honours the request when it next enters. */
	vcpu_enter_guest_mode(&self);
	T(self.tlb_gen == 1 && self.local_flushes == 1);
	vcpu_exit_guest_mode(&self);
	rm_finish();
}

/*
 * Hole 2: two CPUs create vCPUs at once (boot/smp_guest.c starts them on
 * all APs together). First each thread registers its REG_EACH vCPUs,
 * checks each is in the slot it was given and unregisters them, as fast as
 * it can, at least REG_CHURN times and for REG_CHURN_NS, and until the
 * other has too (so that they overlap even when the cores are busy with
 * other work and time-slice them). Then in lockstep
 * rounds both register theirs at once, filling the VM: every one must be
 * in the array, each in its own slot, vm->vcpu the first, and one more
 * refused with -ENOSPC; then both unregister theirs at once: the array
 * must end empty.
 */
#define REG_CHURN 100000
#define REG_CHURN_NS 300e6
#define REG_ROUNDS 5000
#define REG_THREADS 2
#define REG_EACH (VM_MAX_VCPUS / REG_THREADS)

static struct vcpu reg_vcpus[REG_THREADS][REG_EACH];
static int reg_go, reg_done, reg_failed, reg_lost, reg_arrived, reg_churned;

static void reg_churn(unsigned t)
{
	__atomic_add_fetch(&reg_arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&reg_arrived, __ATOMIC_ACQUIRE) < REG_THREADS)
		__builtin_ia32_pause();
	double t0 = host_now_ns();
	bool churned = false;

	for (int k = 0;; k++) {
		if (!churned && k >= REG_CHURN && host_now_ns() - t0 >= REG_CHURN_NS) {
			churned = true;
			__atomic_add_fetch(&reg_churned, 1, __ATOMIC_ACQ_REL);
		}
		if (churned && __atomic_load_n(&reg_churned, __ATOMIC_ACQUIRE) == REG_THREADS)
			break;
		for (unsigned i = 0; i < REG_EACH; i++)
			__atomic_add_fetch(&reg_failed, vcpu_register(&rm_vm, &reg_vcpus[t][i]) != 0,
					   __ATOMIC_RELAXED);
		/* A slot is written only while free: ours stay ours until we unregister. */
		for (unsigned i = 0; i < REG_EACH; i++) {
			struct vcpu *v = &reg_vcpus[t][i];

			if (v->index >= VM_MAX_VCPUS || __atomic_load_n(&rm_vm.vcpus[v->index],
									__ATOMIC_RELAXED) != v)
				__atomic_add_fetch(&reg_lost, 1, __ATOMIC_RELAXED);
		}
		for (unsigned i = 0; i < REG_EACH; i++)
			vcpu_unregister(&reg_vcpus[t][i]);
	}
}

static void reg_wait(int *x, int want)
{
	unsigned n = 0;

	while (__atomic_load_n(x, __ATOMIC_ACQUIRE) != want)
		if (++n % 64)
			__builtin_ia32_pause();
		else
			sched_yield();
}

static void *reg_thread(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;

	host_cpu_set_id(t + 1);
	reg_churn(t);
	__atomic_add_fetch(&reg_done, 1, __ATOMIC_RELEASE);
	for (int round = 1; round <= 2 * REG_ROUNDS; round++) {
		reg_wait(&reg_go, round);
		for (unsigned i = 0; i < REG_EACH; i++) {
			struct vcpu *v = &reg_vcpus[t][i];

			if (round % 2) /* odd rounds register, even ones unregister */
				__atomic_add_fetch(&reg_failed, vcpu_register(&rm_vm, v) != 0,
						   __ATOMIC_RELAXED);
			else
				vcpu_unregister(v);
		}
		__atomic_add_fetch(&reg_done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void concurrent_registers_get_distinct_slots(void)
{
	pthread_t th[REG_THREADS];
	unsigned lost = 0, shared = 0, refused = 0, bad_first = 0, left = 0;
	static struct vcpu extra;

	rm_start(0);
	for (unsigned t = 0; t < REG_THREADS; t++) {
		for (unsigned i = 0; i < REG_EACH; i++)
			reg_vcpus[t][i] = (struct vcpu){ .vm = &rm_vm, .cpu = t + 1 };
		pthread_create(&th[t], NULL, reg_thread, (void *)(uintptr_t)t);
	}
	while (__atomic_load_n(&reg_done, __ATOMIC_ACQUIRE) != REG_THREADS)
		usleep(1000); /* leave both cores to the threads */
	for (unsigned s = 0; s < VM_MAX_VCPUS; s++)
		left += rm_vm.vcpus[s] != NULL;
	left += rm_vm.nr_vcpus != 0;
	rm_vm.vcpu = NULL; /* the first round's first vCPU is a new one */
	for (int round = 1; round <= 2 * REG_ROUNDS; round++) {
		__atomic_store_n(&reg_done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&reg_go, round, __ATOMIC_RELEASE);
		reg_wait(&reg_done, REG_THREADS);
		spin_lock(&rm_vm.vcpus_lock);
		if (round % 2 == 0) {
			for (unsigned s = 0; s < VM_MAX_VCPUS; s++)
				left += rm_vm.vcpus[s] != NULL;
			left += rm_vm.nr_vcpus != 0;
			spin_unlock(&rm_vm.vcpus_lock);
			continue;
		}
		for (unsigned t = 0; t < REG_THREADS; t++) {
			for (unsigned i = 0; i < REG_EACH; i++) {
				struct vcpu *v = &reg_vcpus[t][i];

				if (v->index >= VM_MAX_VCPUS || rm_vm.vcpus[v->index] != v)
					lost++;
			}
		}
		for (unsigned a = 0; a < VM_MAX_VCPUS; a++)
			for (unsigned b = a + 1; b < VM_MAX_VCPUS; b++)
				shared += rm_vm.vcpus[a] && rm_vm.vcpus[a] == rm_vm.vcpus[b];
		bad_first += !rm_vm.vcpu || rm_vm.vcpu != rm_vm.vcpus[0];
		spin_unlock(&rm_vm.vcpus_lock);
		/* Full: one more is refused, and nothing changes. */
		extra = (struct vcpu){ .vm = &rm_vm, .cpu = 3, .index = ~0u };
		refused += vcpu_register(&rm_vm, &extra) == -ENOSPC && extra.index == ~0u &&
			   rm_vm.nr_vcpus == VM_MAX_VCPUS;
		rm_vm.vcpu = NULL; /* the next round's first vCPU is a new one */
	}
	for (unsigned t = 0; t < REG_THREADS; t++)
		pthread_join(th[t], NULL);
	rm_finish();
	printf("# %d threads: at least %d x %u vCPUs registered and unregistered each, %d refused, "
	       "%d not in their slot\n", REG_THREADS, REG_CHURN, REG_EACH, reg_failed, reg_lost);
	printf("# %d rounds of %u vCPUs registered by %d threads at once: %u lost, %u in a "
	       "shared slot, %u wrong first, %u refusals of a vCPU too many, %u left after "
	       "unregistering\n", REG_ROUNDS, VM_MAX_VCPUS, REG_THREADS, lost, shared, bad_first,
	       refused, left);
	T(reg_lost == 0);
	T(lost == 0 && shared == 0 && bad_first == 0 && left == 0);
	T(refused == REG_ROUNDS);
	T(__atomic_load_n(&reg_failed, __ATOMIC_RELAXED) == 0);
}

/*
 * Hole 13: a vCPU destroyed while a flush looks at it. The flush kicks the
 * vCPU (in guest mode on CPU 1); while the kick is being sent (host_kick,
 * on the flushing CPU, inside vcpu_flush_vm()) the vCPU leaves guest mode,
 * unregisters and frees itself (ASan and TSan report any later touch). Its
 * unregister must wait for the flush to be done with the array: the kick
 * waits a while to see whether it returns early.
 */
#define DESTROY_ROUNDS 3
#define EARLY_WAIT_NS 200e6

static int d_ready, d_kicked, d_unregistered;

static void destroy_kick(unsigned cpu)
{
	double t0 = host_now_ns();

	(void)cpu;
	__atomic_store_n(&d_kicked, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&d_unregistered, __ATOMIC_ACQUIRE) &&
	       host_now_ns() - t0 < EARLY_WAIT_NS)
		sched_yield();
	if (__atomic_load_n(&d_unregistered, __ATOMIC_ACQUIRE)) {
		/* Said now: back in the flush, the next read of the freed vCPU aborts (ASan). */
		printf("# vcpu_unregister() returned while vcpu_flush_vm() still held the vCPU: "
		       "it is freed now, and the flush goes on reading it\n");
		T(!"vcpu_unregister() waits for the flush looking at the vCPU");
		tap_end();
		tap_finish();
		fflush(stdout);
		_exit(1);
	}
}

static void *destroy_thread(void *arg)
{
	struct vcpu *v = arg;

	host_cpu_set_id(v->cpu);
	vcpu_enter_guest_mode(v);
	__atomic_store_n(&d_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&d_kicked, __ATOMIC_ACQUIRE))
		sched_yield();
	vcpu_exit_guest_mode(v);
	vcpu_unregister(v);
	__atomic_store_n(&d_unregistered, 1, __ATOMIC_RELEASE);
	free(v); /* vcpu_destroy()'s caller may reuse the memory now */
	return NULL;
}

static void flush_never_touches_an_unregistered_vcpu(void)
{
	static const struct vcpu_backend be = { .name = "host", .flush_local = no_flush };

	for (int round = 0; round < DESTROY_ROUNDS; round++) {
		pthread_t th;
		struct vcpu *v = calloc(1, sizeof(*v));

		rm_start(0);
		host_kick = destroy_kick;
		d_ready = d_kicked = d_unregistered = 0;
		*v = (struct vcpu){ .vm = &rm_vm, .be = &be, .cpu = 1, .tlb_gen = ~0ULL };
		T(vcpu_register(&rm_vm, v) == 0);
		pthread_create(&th, NULL, destroy_thread, v);
		while (!__atomic_load_n(&d_ready, __ATOMIC_ACQUIRE))
			sched_yield();
		vcpu_flush_vm(&rm_vm);
		pthread_join(th, NULL);
		T(rm_vm.vcpus[0] == NULL && rm_vm.nr_vcpus == 0 && rm_vm.stats.remote_kicks == 1);
		rm_finish();
	}
}

int main(void)
{
	RUN(flush_returns_after_every_vcpu_left);
	RUN(no_kick_for_own_cpu_or_outside_guest);
	RUN(concurrent_registers_get_distinct_slots);
	RUN(flush_never_touches_an_unregistered_vcpu);
	return tap_finish();
}
