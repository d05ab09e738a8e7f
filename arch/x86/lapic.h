/*
 * The local APIC timer (xAPIC, memory-mapped; SDM 3A, 11.5.4), the SVM
 * watchdog's clock: SVM has no preemption timer, so a runaway guest is
 * stopped by a host timer interrupt, which the INTR intercept turns into an
 * exit. The legacy PICs are masked so that this is the only interrupt.
 */
#ifndef MINIHV_LAPIC_H
#define MINIHV_LAPIC_H

#include "arch/x86/compiler.h"

#define LAPIC_TIMER_VECTOR 0xec
#define LAPIC_SPURIOUS_VECTOR 0xff

/* Timer interrupts taken so far (arch/x86/lapic_isr.S counts them). */
extern volatile uint64_t lapic_timer_ticks;

/* Enable the local APIC, mask the PICs, install the two vectors' gates. */
void lapic_init(void);
/* Periodic interrupts every @count bus clocks (divide by 1); 0 stops them. */
void lapic_timer_periodic(uint32_t count);

#endif
