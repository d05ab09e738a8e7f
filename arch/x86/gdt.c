#include "arch/x86/desc.h"

/* Access/flags bytes: 0x9a present ring-0 code, 0x92 data, 0x89 available 64-bit TSS;
 * flags 0xa = G | L (64-bit code), 0xc = G | D/B (data). */
static uint64_t gdt[5] __aligned(16) = {
	0,
	0x00af9a000000ffffULL, /* GDT_KERNEL_CS */
	0x00cf92000000ffffULL, /* GDT_KERNEL_DS */
	0, 0,                  /* GDT_TSS: filled in by gdt_init() (16 bytes) */
};

static struct tss64 tss __aligned(16);
static uint8_t ist_stacks[3][IST_STACK_SIZE] __aligned(16);

void gdt_init(void)
{
	uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

	tss.ist[IST_DF - 1] = (uint64_t)&ist_stacks[0][IST_STACK_SIZE];
	tss.ist[IST_NMI - 1] = (uint64_t)&ist_stacks[1][IST_STACK_SIZE];
	tss.ist[IST_MC - 1] = (uint64_t)&ist_stacks[2][IST_STACK_SIZE];
	tss.iomap_base = sizeof(tss); /* no I/O bitmap */

	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
			   ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[GDT_TSS / 8 + 1] = base >> 32;

	struct desc_ptr p = { .limit = sizeof(gdt) - 1, .base = (uint64_t)gdt };
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
	return (uint64_t)gdt;
}

uint64_t tss_base(void)
{
	return (uint64_t)&tss;
}
