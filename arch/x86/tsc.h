/* The TSC's rate, measured at boot against the PIT (arch/x86/tsc.c). */
#ifndef MINIHV_ARCH_TSC_H
#define MINIHV_ARCH_TSC_H

#include <stdint.h>

extern uint64_t tsc_khz;
void tsc_calibrate(void);

#endif
