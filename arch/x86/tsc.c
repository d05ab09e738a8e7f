/*
 * The TSC's rate, measured once at boot against the 8254 PIT's channel 2
 * (its gate and output are bits 0 and 5 of port 0x61; Intel 8254 data
 * sheet, mode 0: OUT rises when the count reaches zero), as Linux's
 * pit_calibrate_tsc() does. Guests read it in CPUID 0x40000010 and the
 * emulated local APIC's timer counts in it (virt/lapic.c). Under Bochs
 * (clock: sync=none) both the PIT and the TSC advance with instructions,
 * so the ratio holds there too.
 */
#include "arch/x86/arch.h"

#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_GATE 0x61
#define CALIBRATE_MS 10u

uint64_t tsc_khz = 1000000; /* 1 GHz until measured (and where there is no PIT) */

void tsc_calibrate(void)
{
	uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
	uint8_t gate = inb(PIT_GATE);

	outb(PIT_GATE, (uint8_t)((gate & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_MODE, 0xb0);                            /* channel 2, lo/hi byte, mode 0 */
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	uint64_t t0 = rdtsc(), t1 = t0;

	for (unsigned long spins = 0; spins < 100000000ul; spins++) {
		if (inb(PIT_GATE) & 0x20) {
			t1 = rdtsc();
			break;
		}
	}
	outb(PIT_GATE, gate);
	if (t1 > t0)
		tsc_khz = (t1 - t0) / CALIBRATE_MS;
}
