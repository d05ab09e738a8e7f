/* Building the frame allocator from the firmware's memory map (pure, host-tested). */
#ifndef MINIHV_MEMMAP_H
#define MINIHV_MEMMAP_H

#include "mm/frame.h"

/* Frames the allocator can track at most (bitmap in .bss): 64 GiB. */
#define MEMMAP_MAX_PHYS (64ULL << 30)
/* Below this much free RAM minihv refuses to run: a clear message beats odd failures. */
#define MEMMAP_MIN_FREE (16ULL << 20)

/* Usable RAM: type 1 of the multiboot2 memory map, as of E820. */
#define MEM_REGION_AVAILABLE 1

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* 1 available, 3 ACPI, 4 preserve, 5 bad */
};

struct phys_range {
	uint64_t start, end;
	const char *what;
};

/*
 * Release the available ones of the @nregions @regions (RAM ends at
 * @ram_top), then reserve the low 1 MiB and the @nreserved ranges given (the
 * kernel image, the boot information, modules). Returns 0, or -ENOMEM with a
 * message when too little is left.
 */
int memmap_setup(struct frame_alloc *fa, uint64_t *bitmap, const struct mem_region *regions,
		 unsigned nregions, uint64_t ram_top, const struct phys_range *reserved,
		 unsigned nreserved, char *err, size_t errlen);

#endif
