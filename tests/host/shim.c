/*
 * Host implementation of arch/x86/hal.h and lib/bug.h for the unit tests:
 * "physical memory" is an aligned malloc'd arena, warnings are counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "lib/bug.h"
#include "arch/x86/hal.h"
#include "tests/host/hostshim.h"
#include "lib/printk.h"

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

void host_cpu_set_id(unsigned id)
{
	host_cpu = id;
}

unsigned cpu_id(void)
{
	return host_cpu;
}

/* Interrupts are modelled as a per-thread flag (host_irqs_disabled()). */
unsigned long hal_irq_save(void)
{
	return host_irqs_off++;
}

void hal_irq_restore(unsigned long flags)
{
	host_irqs_off = flags;
}

bool host_irqs_disabled(void)
{
	return host_irqs_off != 0;
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
