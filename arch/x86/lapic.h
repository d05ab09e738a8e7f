/*
 * The local APIC timer (xAPIC, memory-mapped; SDM 3A, 11.5.4), the SVM
 * watchdog's clock: SVM has no preemption timer, so a runaway guest is
 * stopped by a host timer interrupt, which the INTR intercept turns into an
 * exit. The legacy PICs are masked so that this is the only interrupt.
 */
#ifndef MINIHV_LAPIC_H
#define MINIHV_LAPIC_H

#include "arch/x86/compiler.h"
#include "arch/x86/percpu.h"

#define LAPIC_TIMER_VECTOR 0xec
#define LAPIC_SPURIOUS_VECTOR 0xff

/* Timer interrupts this CPU took so far (arch/x86/lapic_isr.S counts them). */
#define lapic_timer_ticks (*(volatile uint64_t *)&this_cpu_local()->timer_ticks)

/* Enable the local APIC, mask the PICs, install the two vectors' gates. */
void lapic_init(void);
/* An AP's own local APIC on (the gates are shared: lapic_init() set them). */
void lapic_enable_this_cpu(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
/* ICR delivery modes (SDM 3A, 11.6.1): fixed to a vector, INIT, start-up. */
#define ICR_FIXED 0x000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LEVEL_ASSERT (1u << 14)
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
/* Periodic interrupts every @count bus clocks (divide by 1); 0 stops them. */
void lapic_timer_periodic(uint32_t count);

#endif
