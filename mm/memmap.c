#include "memmap.h"
#include "kerrno.h"
#include "printk.h"

/* Real-mode IVT, BIOS data and the EBDA/ROM area: never handed out. */
#define LOW_RESERVED_END (1ULL << 20)

int memmap_setup(struct frame_alloc *fa, uint64_t *bitmap, const struct boot_info *bi,
		 const struct phys_range *extra, unsigned nextra, char *err, size_t errlen)
{
	uint64_t top = MIN(ALIGN_UP(bi->ram_top, PAGE_SIZE), MEMMAP_MAX_PHYS);

	frame_init(fa, bitmap, top >> PAGE_SHIFT);
	for (unsigned i = 0; i < bi->nregions; i++) {
		const struct mem_region *r = &bi->regions[i];

		if (r->type == MB2_MEM_AVAILABLE)
			frame_release_range(fa, r->base, r->base + r->len);
	}
	/* Overlapping "reserved" entries win over "available" ones. */
	for (unsigned i = 0; i < bi->nregions; i++) {
		const struct mem_region *r = &bi->regions[i];

		if (r->type != MB2_MEM_AVAILABLE)
			frame_reserve_range(fa, r->base, r->base + r->len);
	}
	frame_reserve_range(fa, 0, LOW_RESERVED_END);
	frame_reserve_range(fa, bi->mbi_start, bi->mbi_end);
	for (unsigned i = 0; i < bi->nmodules; i++)
		frame_reserve_range(fa, bi->modules[i].start, bi->modules[i].end);
	for (unsigned i = 0; i < nextra; i++)
		frame_reserve_range(fa, extra[i].start, extra[i].end);

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
