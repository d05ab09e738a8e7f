/*
 * The hardware-abstraction layer seen by the pure modules (frame allocator,
 * page-table walker, parsers, invalidation tracking). The kernel implements it
 * over its identity-mapped physical memory; tests/host/shim.c implements it
 * over a malloc'd arena so the same code runs under ASan/UBSan.
 */
#ifndef MINIHV_HAL_H
#define MINIHV_HAL_H

#include "arch/x86/compiler.h"

/*
 * Host-virtual address of physical address @pa (direct map), and this
 * CPU's number, 0 for the boot CPU (dense: the order CPUs came up). The
 * host tests give each thread its own, in tests/host/shim.c. In the kernel
 * they are inline, as every page walk and every lock uses them (issue 22):
 * the kernel maps all memory 1:1 (boot/), and %gs points at this CPU's
 * struct cpu_local (arch/x86/percpu.h).
 */
#ifdef MINIHV_HOST
void *phys_to_virt(uint64_t pa);
uint64_t virt_to_phys(const void *va);
unsigned cpu_id(void);
#else
#include "arch/x86/percpu.h"

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static inline uint64_t virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

static inline unsigned cpu_id(void)
{
	return (unsigned)this_cpu_id();
}
#endif

/*
 * One turn of a spin-wait: PAUSE, and in the kernel also run the calls
 * other CPUs aimed at this one (arch/x86/smp.c). The kernel runs with
 * interrupts off, so a CPU spinning on a lock would otherwise hold up a TLB
 * shootdown whose initiator it may be waiting for.
 */
void hal_cpu_relax(void);

/* Interrupts off on this CPU; the returned state goes back to hal_irq_restore(). */
#ifdef MINIHV_HOST
unsigned long hal_irq_save(void);
void hal_irq_restore(unsigned long flags);
#else
/* Inline in the kernel: the fault path's host walk runs between the two (issue 22). */
static inline unsigned long hal_irq_save(void)
{
	unsigned long flags;

	__asm__ __volatile__("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void hal_irq_restore(unsigned long flags)
{
	if (flags & (1UL << 9)) /* RFLAGS.IF */
		__asm__ __volatile__("sti" : : : "memory");
}
#endif

#endif
