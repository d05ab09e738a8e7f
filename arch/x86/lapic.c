#include "arch/x86/lapic.h"
#include "arch/x86/desc.h"
#include "arch/x86/hal.h"
#include "arch/x86/msr.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ports.h"

/* Register offsets (SDM 3A, table 11-1). */
#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_ICR_BUSY (1u << 12)
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LAPIC_DIV_1 0xb

volatile uint32_t *lapic_eoi_reg; /* written by the interrupt stub */
static uint8_t *lapic_base;        /* its registers, mapped; set by lapic_init() */

extern char lapic_timer_isr[], lapic_spurious_isr[];

static volatile uint32_t *lapic_reg(unsigned off)
{
	return (volatile uint32_t *)(lapic_base + off);
}

/* This CPU's local APIC on, accepting every priority, its timer masked. */
void lapic_enable_this_cpu(void)
{
	uint64_t msr = rdmsr(MSR_IA32_APIC_BASE);

	wrmsr(MSR_IA32_APIC_BASE, msr | APIC_BASE_ENABLE);
	/* The same physical base on every CPU (the MADT's, unless firmware moved one). */
	lapic_base = phys_to_virt(msr & ~0xfffULL & ((1ULL << 52) - 1));
	lapic_eoi_reg = lapic_reg(LAPIC_EOI);
	*lapic_reg(LAPIC_TPR) = 0;
	*lapic_reg(LAPIC_SVR) = LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR;
	*lapic_reg(LAPIC_LVT_TIMER) = LAPIC_LVT_MASKED | LAPIC_TIMER_VECTOR;
}

void lapic_init(void)
{
	/* 8259A: mask every line of both, so no legacy IRQ lands on a CPU exception vector. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_set_gate(LAPIC_TIMER_VECTOR, (uint64_t)lapic_timer_isr);
	idt_set_gate(LAPIC_SPURIOUS_VECTOR, (uint64_t)lapic_spurious_isr);
	lapic_enable_this_cpu();
}

uint32_t lapic_id(void)
{
	return *lapic_reg(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	*lapic_reg(LAPIC_EOI) = 0;
}

/*
 * Send an IPI (SDM 3A, 11.6.1): destination first, then the low word, which
 * sends; wait until the APIC has taken it (delivery status idle).
 */
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	while (*lapic_reg(LAPIC_ICR_LO) & LAPIC_ICR_BUSY)
		__builtin_ia32_pause();
	*lapic_reg(LAPIC_ICR_HI) = apic_id << 24;
	*lapic_reg(LAPIC_ICR_LO) = icr_low;
	while (*lapic_reg(LAPIC_ICR_LO) & LAPIC_ICR_BUSY)
		__builtin_ia32_pause();
}

void lapic_timer_periodic(uint32_t count)
{
	*lapic_reg(LAPIC_TIMER_DIV) = LAPIC_DIV_1;
	*lapic_reg(LAPIC_LVT_TIMER) = (count ? LAPIC_LVT_PERIODIC : LAPIC_LVT_MASKED) |
				      LAPIC_TIMER_VECTOR;
	*lapic_reg(LAPIC_TIMER_INIT) = count; /* 0 stops the timer */
}
