#include "arch/x86/desc.h"
#include "arch/x86/hal.h"
#include "arch/x86/percpu.h"

/* Access/flags bytes: 0x9a present ring-0 code, 0x92 data, 0x89 available 64-bit TSS;
 * flags 0xa = G | L (64-bit code), 0xc = G | D/B (data). */
#define GDT_ENTRIES 5

/*
 * One GDT and TSS per CPU: a TSS is marked busy by LTR, so no two CPUs may
 * load the same one (SDM 3A, 8.2.2), and each CPU needs its own IST stacks.
 */
static uint64_t gdts[NR_CPUS][GDT_ENTRIES] __aligned(16);
static struct tss64 tsss[NR_CPUS] __aligned(16);
static uint8_t ist_stacks[NR_CPUS][3][IST_STACK_SIZE] __aligned(16);

/* This CPU's GDT and TSS: percpu_init() has run. */
void gdt_init(void)
{
	unsigned cpu = cpu_id();
	uint64_t *gdt = gdts[cpu];
	struct tss64 *t = &tsss[cpu];
	uint8_t(*ist)[IST_STACK_SIZE] = ist_stacks[cpu];
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;

	gdt[0] = 0;
	gdt[GDT_KERNEL_CS / 8] = 0x00af9a000000ffffULL;
	gdt[GDT_KERNEL_DS / 8] = 0x00cf92000000ffffULL;

	t->ist[IST_DF - 1] = (uint64_t)&ist[0][IST_STACK_SIZE];
	t->ist[IST_NMI - 1] = (uint64_t)&ist[1][IST_STACK_SIZE];
	t->ist[IST_MC - 1] = (uint64_t)&ist[2][IST_STACK_SIZE];
	t->iomap_base = sizeof(*t); /* no I/O bitmap */

	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
			   ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[GDT_TSS / 8 + 1] = base >> 32;

	struct desc_ptr p = { .limit = GDT_ENTRIES * 8 - 1, .base = (uint64_t)gdt };
	__asm__ __volatile__("lgdt %0\n\t"
			     "pushq %1\n\t"
			     "leaq 1f(%%rip), %%rax\n\t"
			     "pushq %%rax\n\t"
			     "lretq\n"
			     "1:\n\t"
			     "movw %w2, %%ds\n\t"
			     "movw %w2, %%es\n\t"
			     "movw %w2, %%ss\n\t"
			     "ltr %w3"
			     :
			     : "m"(p), "i"(GDT_KERNEL_CS), "r"(GDT_KERNEL_DS), "r"(GDT_TSS)
			     : "rax", "memory");
}

uint64_t gdt_base(void)
{
	return (uint64_t)gdts[cpu_id()];
}

uint64_t tss_base(void)
{
	return (uint64_t)&tsss[cpu_id()];
}
