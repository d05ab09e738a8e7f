/*
 * Host implementation of arch/x86/hal.h and lib/bug.h for the unit tests:
 * "physical memory" is an aligned malloc'd arena, warnings are counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lib/bug.h"
#include "arch/x86/hal.h"
#include "tests/host/hostshim.h"
#include "lib/printk.h"
#include "lib/lockdep.h"

unsigned long warn_count;
uint8_t *arena;
uint64_t arena_size;

void arena_init(uint64_t size)
{
	free(arena);
	arena = aligned_alloc(1 << 21, size);
	if (!arena) {
		perror("arena");
		exit(2);
	}
	arena_size = size;
}

void *phys_to_virt(uint64_t pa)
{
	if (pa >= arena_size) {
		fprintf(stderr, "phys_to_virt(%#llx) outside the %#llx-byte arena\n",
			(unsigned long long)pa, (unsigned long long)arena_size);
		abort();
	}
	return arena + pa;
}

uint64_t virt_to_phys(const void *va)
{
	return (uint64_t)((const uint8_t *)va - arena);
}

void warn_slowpath(const char *file, int line, const char *cond)
{
	warn_count++;
	fprintf(stderr, "# WARNING at %s:%d: %s\n", file, line, cond);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* Each thread is a "CPU" of its own (host_cpu_set_id); the main thread is CPU 0. */
static __thread unsigned host_cpu;
static __thread unsigned long host_irqs_off;
/*
 * Per CPU, bumped when its interrupts go off and again when they come back
 * on: odd while they are off. host_shootdown() reads them as a TLB
 * shootdown's IPIs would find the CPUs (mm_lookup() in mm/mm.c walks with
 * interrupts off so that its tables outlive the walk).
 */
static unsigned long irq_epoch[LOCKDEP_MAX_CPUS];

void host_cpu_set_id(unsigned id)
{
	if (id >= LOCKDEP_MAX_CPUS) {
		fprintf(stderr, "host_cpu_set_id(%u): at most %d CPUs\n", id, LOCKDEP_MAX_CPUS);
		abort();
	}
	host_cpu = id;
}

unsigned cpu_id(void)
{
	return host_cpu;
}

/* Interrupts are modelled as a per-thread flag (host_irqs_disabled()). */
unsigned long hal_irq_save(void)
{
	unsigned long old = host_irqs_off++;

	if (!old)
		__atomic_fetch_add(&irq_epoch[host_cpu], 1, __ATOMIC_SEQ_CST);
	return old;
}

void hal_irq_restore(unsigned long flags)
{
	if (host_irqs_off && !flags)
		__atomic_fetch_add(&irq_epoch[host_cpu], 1, __ATOMIC_SEQ_CST);
	host_irqs_off = flags;
}

/* virt/remote.c's kicks: a test sets host_kick to make a "vCPU" thread leave guest mode. */
void (*host_kick)(unsigned cpu);

void smp_kick(unsigned cpu)
{
	if (host_kick)
		host_kick(cpu);
}

/*
 * Per CPU, bumped each time it serves its call-function requests
 * (smp_poll_calls()): a shootdown counts that as the acknowledgement it
 * waits for, as the kernel's smp_call_many() counts a CPU that ran the
 * call from a poll with interrupts still off (arch/x86/smp.c).
 */
static unsigned long poll_epoch[LOCKDEP_MAX_CPUS];

void smp_poll_calls(void)
{
	__atomic_fetch_add(&poll_epoch[host_cpu], 1, __ATOMIC_SEQ_CST);
}

void hal_cpu_relax(void)
{
	__builtin_ia32_pause();
}

bool host_irqs_disabled(void)
{
	return host_irqs_off != 0;
}

unsigned long host_shootdowns;

void host_shootdown(void)
{
	unsigned long seen[LOCKDEP_MAX_CPUS], polled[LOCKDEP_MAX_CPUS];

	/* An IPI waited for with interrupts off deadlocks against a peer doing the same. */
	WARN_ON_ONCE(host_irqs_off);
	__atomic_fetch_add(&host_shootdowns, 1, __ATOMIC_RELAXED);
	/* Our page-table stores before the looks at the other CPUs (an IPI is a full barrier). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned c = 0; c < LOCKDEP_MAX_CPUS; c++) {
		seen[c] = __atomic_load_n(&irq_epoch[c], __ATOMIC_ACQUIRE);
		polled[c] = __atomic_load_n(&poll_epoch[c], __ATOMIC_ACQUIRE);
	}
	for (unsigned c = 0; c < LOCKDEP_MAX_CPUS; c++) {
		if (c == host_cpu || !(seen[c] & 1))
			continue;
		/*
		 * Interrupts were off there: the IPI is answered once they come
		 * back on, or when that CPU polls its calls (smp_poll_calls()).
		 */
		while (__atomic_load_n(&irq_epoch[c], __ATOMIC_ACQUIRE) == seen[c] &&
		       __atomic_load_n(&poll_epoch[c], __ATOMIC_ACQUIRE) == polled[c])
			__builtin_ia32_pause();
	}
}

double host_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* TAP helpers */
static int tap_n, tap_failed, tap_cur_failed;
static const char *tap_name;

void tap_begin(const char *name)
{
	tap_name = name;
	tap_cur_failed = 0;
}

void tap_end(void)
{
	tap_n++;
	printf("%s %d %s\n", tap_cur_failed ? "not ok" : "ok", tap_n, tap_name);
	tap_failed += tap_cur_failed;
}

int tap_check(int ok, const char *file, int line, const char *expr)
{
	if (!ok) {
		printf("# %s: FAIL %s:%d: %s\n", tap_name, file, line, expr);
		tap_cur_failed = 1;
	}
	return ok;
}

int tap_finish(void)
{
	printf("%d passed, %d failed, 0 skipped\n", tap_n - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}

/* printk for pure modules that report (ept/mmu.c): straight to stdout as TAP comments. */
int vprintk(const char *fmt, va_list ap)
{
	printf("# ");
	return vprintf(fmt, ap);
}
