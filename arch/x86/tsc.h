/* The TSC's rate, measured at boot against the PIT (arch/x86/tsc.c). */
#ifndef MINIHV_ARCH_TSC_H
#define MINIHV_ARCH_TSC_H

#include <stdint.h>

extern uint64_t tsc_khz;
void tsc_calibrate(void);

/*
 * @a * @b / @c with a 128-bit product (MUL, then DIV of RDX:RAX: no
 * libgcc). A quotient that would not fit 64 bits saturates, as DIV would
 * fault.
 */
static inline uint64_t mul_div_u64(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t lo, hi, q;

	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b));
	if (hi >= c)
		return ~0ULL;
	__asm__("divq %4" : "=a"(q), "=d"(hi) : "a"(lo), "d"(hi), "rm"(c));
	return q;
}

#endif
