#include "arch/x86/desc.h"
#include "arch/x86/traps.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate (IF cleared on entry) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __packed;

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

#define GATE_INTERRUPT 0x8e

extern const uint64_t isr_table[X86_NR_EXCEPTIONS];
static struct idt_gate idt[256] __aligned(16);

void idt_set_gate(unsigned vector, uint64_t off)
{
	struct idt_gate *g = &idt[vector & 0xff];

	g->off_lo = off & 0xffff;
	g->off_mid = (off >> 16) & 0xffff;
	g->off_hi = off >> 32;
	g->sel = GDT_KERNEL_CS;
	g->type = GATE_INTERRUPT;
	/* #DF and NMI get known-good stacks: the current one may be the problem. */
	g->ist = vector == X86_EXC_DF ? IST_DF : vector == X86_EXC_NMI ? IST_NMI :
		 vector == X86_EXC_MC ? IST_MC : 0;
}

/* Every CPU loads the same IDT (as Linux's idt_table): the handlers are per-CPU-safe. */
void idt_load(void)
{
	struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (uint64_t)idt };
	__asm__ __volatile__("lidt %0" ::"m"(p));
}

void idt_init(void)
{
	for (unsigned v = 0; v < X86_NR_EXCEPTIONS; v++)
		idt_set_gate(v, isr_table[v]);
	idt_load();
}

uint64_t idt_base(void)
{
	return (uint64_t)idt;
}
