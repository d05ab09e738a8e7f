/* Walk checks shared by the host tests of the page-table walker and its formats. */
#ifndef MINIHV_PTCHECK_H
#define MINIHV_PTCHECK_H

#include <stdio.h>
#include "lib/kerrno.h"
#include "mm/pt.h"

/* @addr maps to @want_pa at @want_level with @want_prot (printing what it found if not). */
static inline int pt_maps(const struct pt *pt, uint64_t addr, uint64_t want_pa, int want_level,
			  unsigned want_prot)
{
	struct pt_walk w;

	if (pt_lookup(pt, addr, &w) || w.pa != want_pa || w.level != want_level ||
	    w.prot != want_prot || pt_mapping_level(pt, addr) != want_level) {
		printf("# %s addr %#llx: pa %#llx level %d prot %u; want %#llx %d %u\n",
		       pt->fmt->name, (unsigned long long)addr, (unsigned long long)w.pa, w.level,
		       w.prot, (unsigned long long)want_pa, want_level, want_prot);
		return 0;
	}
	return 1;
}

static inline int pt_unmapped(const struct pt *pt, uint64_t addr)
{
	struct pt_walk w;

	return pt_lookup(pt, addr, &w) == -ENOENT && w.level == 0 &&
	       pt_mapping_level(pt, addr) == 0;
}

#endif
