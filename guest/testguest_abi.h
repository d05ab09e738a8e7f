/* The self-test guest's ABI checks, in their own files (guest/testguest.c dispatches). */
#ifndef MINIHV_TESTGUEST_ABI_H
#define MINIHV_TESTGUEST_ABI_H

#include <stdint.h>

long tg_msr(void);
long tg_msr_unknown(uint32_t msr, uint64_t write);
long tg_uart(void);
long tg_page_fault(uint64_t addr);
long tg_exceptions(void);
/* guest/testguest_sse.c, the one file built with SSE. */
long tg_sse(uint64_t yield);

#endif
