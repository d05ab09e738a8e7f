/* Building the frame allocator from the boot information (pure, host-tested). */
#ifndef MINIHV_MEMMAP_H
#define MINIHV_MEMMAP_H

#include "bootinfo.h"
#include "frame.h"

/* Frames the allocator can track at most (bitmap in .bss): 64 GiB. */
#define MEMMAP_MAX_PHYS (64ULL << 30)
/* Below this much free RAM minihv refuses to run: a clear message beats odd failures. */
#define MEMMAP_MIN_FREE (16ULL << 20)

struct phys_range {
	uint64_t start, end;
	const char *what;
};

/*
 * Release the available regions of @bi, then reserve the low 1 MiB, the
 * multiboot information, every module and the @nextra ranges given (the
 * kernel image). Returns 0, or -ENOMEM with a message when too little is left.
 */
int memmap_setup(struct frame_alloc *fa, uint64_t *bitmap, const struct boot_info *bi,
		 const struct phys_range *extra, unsigned nextra, char *err, size_t errlen);

#endif
