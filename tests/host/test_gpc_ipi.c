/*
 * gpc_refresh() against a host change that waits for this CPU (issue 21,
 * hole 3). Two threads stand for CPUs. CPU 1 is a vCPU loop: interrupts
 * off (hal_irq_save(), as the backends' run loops), it updates a guest
 * page through its gfn-to-pfn cache (gpc_lock(), as vcpu_update_info()).
 * CPU 2 migrates that page: invalidate_range_start() (the cache goes
 * invalid), the page-table change, then the TLB shootdown, which waits for
 * every CPU with interrupts off to acknowledge (tests/host/shim.c), and only
 * then invalidate_range_end(). So CPU 1's refresh sees the page busy until
 * CPU 2 ends, and CPU 2 cannot end until CPU 1 answers: the refresh's busy
 * wait must serve call-function requests (smp_poll_calls()), as the
 * kernel's IPI would be taken, or both CPUs hang.
 *
 * A hang is reported here, after DEADLOCK_S seconds, as a failed test
 * naming the deadlock (the stuck threads are left behind: the process
 * exits).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include "ept/gpc.h"
#include "tests/host/hostvm.h"

#define OFF 0x10
#define GPA (GPA0 + 3 * PAGE_SIZE + OFF)
#define HVA (HVA0 + 3 * PAGE_SIZE)
#define LEN 8
#define DEADLOCK_S 5
#define ROUNDS 20

static struct gpc g;
static int vcpu_irqs_off, vcpu_done, host_done, vcpu_r;
static unsigned long shootdowns0;
static uint64_t new_pa, old_pa, vcpu_pa, loops;

#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void *vcpu_cpu(void *arg)
{
	void *p = NULL;

	(void)arg;
	host_cpu_set_id(1);
	unsigned long flags = hal_irq_save();
	ST(vcpu_irqs_off, 1);
	/* The migration has started (the cache is invalid) and waits in its shootdown. */
	while (LD(host_shootdowns) == shootdowns0)
		sched_yield();
	uint64_t l0 = g.refresh_loops;
	vcpu_r = gpc_lock(&g, LEN, &p);
	if (!vcpu_r) {
		vcpu_pa = ALIGN_DOWN(virt_to_phys(p), PAGE_SIZE);
		gpc_unlock(&g);
	}
	loops = g.refresh_loops - l0;
	hal_irq_restore(flags);
	ST(vcpu_done, 1);
	return NULL;
}

static void *host_cpu(void *arg)
{
	(void)arg;
	host_cpu_set_id(2);
	while (!LD(vcpu_irqs_off))
		sched_yield();
	BUG_ON(mm_migrate(&mm, HVA, new_pa, &old_pa));
	ST(host_done, 1);
	return NULL;
}

static void refresh_serves_shootdown_with_irqs_off(void)
{
	uint64_t loops_max = 0;
	double worst_ms = 0;

	for (int round = 0; round < ROUNDS; round++) {
		pthread_t a, b;

		dvm(PT_LEVEL_4K);
		gpc_init(&g, &vm);
		T(gpc_activate(&g, GPA, LEN) == 0);
		BUG_ON(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa));
		vcpu_irqs_off = vcpu_done = host_done = 0;
		vcpu_r = -1;
		shootdowns0 = LD(host_shootdowns);
		double t0 = host_now_ns();
		pthread_create(&a, NULL, vcpu_cpu, NULL);
		pthread_create(&b, NULL, host_cpu, NULL);
		while (!(LD(vcpu_done) && LD(host_done)) &&
		       host_now_ns() - t0 < DEADLOCK_S * 1e9)
			usleep(1000);
		if (!(LD(vcpu_done) && LD(host_done))) {
			printf("# round %d: DEADLOCK: after %d s the refresh (IRQs off) still waits "
			       "for the migration's end() (%s) and the migration for its "
			       "shootdown's acknowledgement (%s)\n", round, DEADLOCK_S,
			       LD(vcpu_done) ? "done" : "stuck", LD(host_done) ? "done" : "stuck");
			T(!"gpc_refresh() deadlocked against a shootdown waiting for its CPU");
			tap_end();
			tap_finish();
			fflush(stdout);
			_exit(1);
		}
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		double ms = (host_now_ns() - t0) / 1e6;
		worst_ms = ms > worst_ms ? ms : worst_ms;
		loops_max = loops > loops_max ? loops : loops_max;
		/* It waited for the migration, then mapped the new frame, never the old. */
		T(vcpu_r == 0 && vcpu_pa == new_pa && vcpu_pa != old_pa);
		T(loops >= 1 && vm.inval.in_progress == 0 && !host_irqs_disabled());
		gpc_deactivate(&g);
	}
	printf("# %d rounds: at most %llu refresh loops, %.1f ms\n", ROUNDS,
	       (unsigned long long)loops_max, worst_ms);
	T(warn_count == 0);
}

int main(void)
{
	RUN(refresh_serves_shootdown_with_irqs_off);
	return tap_finish();
}
