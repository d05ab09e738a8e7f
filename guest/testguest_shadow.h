/* The self-test guest's own page tables under shadow paging (guest/testguest_shadow.c). */
#ifndef MINIHV_TESTGUEST_SHADOW_H
#define MINIHV_TESTGUEST_SHADOW_H

#include <stdint.h>

/* TG_SHADOW_PT: @scratch = 1 MiB of RAM for tables and frames, @mode 0 INVLPG, 1 CR3 reload. */
long tg_shadow_pt(uint64_t scratch, uint64_t mode);
/* TG_SHADOW_BENCH (guest/testguest_shadow_bench.c): @scratch = 4 pages for tables. */
long tg_shadow_bench(uint64_t scratch, uint64_t rounds);

/* TG_PT_FUZZ (guest/testguest_ptfuzz.c): RDX = region | yields, RCX = seed << 32 | ops. */
long tg_pt_fuzz(uint64_t region, uint64_t arg2, uint64_t ram);

#endif
