#include "mm/memmap.h"
#include "lib/lib.h"

/* Real-mode IVT, BIOS data and the EBDA/ROM area: never handed out. */
#define LOW_RESERVED_END (1ULL << 20)

int memmap_setup(struct frame_alloc *fa, uint64_t *bitmap, const struct mem_region *regions,
		 unsigned nregions, uint64_t ram_top, const struct phys_range *reserved,
		 unsigned nreserved, char *err, size_t errlen)
{
	uint64_t top = MIN(ALIGN_UP(ram_top, PAGE_SIZE), MEMMAP_MAX_PHYS);

	frame_init(fa, bitmap, top >> PAGE_SHIFT);
	for (unsigned i = 0; i < nregions; i++)
		if (regions[i].type == MEM_REGION_AVAILABLE)
			frame_release_range(fa, regions[i].base, regions[i].base + regions[i].len);
	/* Overlapping "reserved" entries win over "available" ones. */
	for (unsigned i = 0; i < nregions; i++)
		if (regions[i].type != MEM_REGION_AVAILABLE)
			frame_reserve_range(fa, regions[i].base, regions[i].base + regions[i].len);
	frame_reserve_range(fa, 0, LOW_RESERVED_END);
	for (unsigned i = 0; i < nreserved; i++)
		frame_reserve_range(fa, reserved[i].start, reserved[i].end);

	if ((fa->nfree << PAGE_SHIFT) < MEMMAP_MIN_FREE) {
		ksnprintf(err, errlen,
			  "memory map too small: %llu KiB free after reserving the kernel, "
			  "boot information and modules; minihv needs at least %llu MiB",
			  (unsigned long long)(fa->nfree << PAGE_SHIFT) >> 10,
			  (unsigned long long)MEMMAP_MIN_FREE >> 20);
		return -ENOMEM;
	}
	return 0;
}
