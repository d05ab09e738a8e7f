/*
 * Host unit tests for mm/memmap.c: the frame allocator built from boot_info
 * (through boot_reserved() of boot/mb2.c, as kmain does).
 * Every frame is checked against a simple model: free iff wholly inside an
 * available region and touching no reserved region, low 1 MiB, the boot
 * information, a module or an extra range.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/bootinfo.h"
#include "lib/kerrno.h"
#include "mm/memmap.h"
#include "tests/host/hostshim.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct frame_alloc fa;
static uint64_t *bm;
static struct boot_info bi;
static char err[256];

static void bi_reset(uint64_t ram_top)
{
	memset(&bi, 0, sizeof(bi));
	bi.ram_top = ram_top;
}

static void region(uint64_t base, uint64_t len, uint32_t type)
{
	bi.regions[bi.nregions++] = (struct mem_region){ base, len, type };
}

static void module(uint64_t start, uint64_t end)
{
	bi.modules[bi.nmodules].start = start;
	bi.modules[bi.nmodules++].end = end;
}

static int setup(const struct phys_range *extra, unsigned nextra)
{
	uint64_t top = MIN(ALIGN_UP(bi.ram_top, PAGE_SIZE), MEMMAP_MAX_PHYS);

	free(bm);
	bm = malloc(ALIGN_UP(top / PAGE_SIZE, 64) / 8);
	memset(bm, 0x5a, ALIGN_UP(top / PAGE_SIZE, 64) / 8); /* garbage: setup must init */
	memset(err, 'Z', sizeof(err));
	err[sizeof(err) - 1] = '\0';
	struct phys_range rsv[2 + BI_MAX_MODULES + 8];
	unsigned n = boot_reserved(&bi, 0, 0, rsv);

	for (unsigned i = 0; i < nextra && n < ARRAY_SIZE(rsv); i++)
		rsv[n++] = extra[i];
	return memmap_setup(&fa, bm, bi.regions, bi.nregions, bi.ram_top, rsv, n, err,
			    sizeof(err));
}

static bool touches(uint64_t s, uint64_t e, uint64_t f)
{
	return s < (f + 1) * PAGE_SIZE && e > f * PAGE_SIZE;
}

static bool model_free(uint64_t f, const struct phys_range *extra, unsigned nextra)
{
	bool avail = false;

	for (unsigned i = 0; i < bi.nregions; i++) {
		const struct mem_region *r = &bi.regions[i];

		if (r->type == MB2_MEM_AVAILABLE && r->base <= f * PAGE_SIZE &&
		    (f + 1) * PAGE_SIZE <= r->base + r->len)
			avail = true;
		if (r->type != MB2_MEM_AVAILABLE && touches(r->base, r->base + r->len, f))
			return false;
	}
	if (!avail || touches(0, MiB, f) || touches(bi.mbi_start, bi.mbi_end, f))
		return false;
	for (unsigned i = 0; i < bi.nmodules; i++)
		if (touches(bi.modules[i].start, bi.modules[i].end, f))
			return false;
	for (unsigned i = 0; i < nextra; i++)
		if (touches(extra[i].start, extra[i].end, f))
			return false;
	return true;
}

/* Every tracked frame agrees with the model; nfree is the exact count. */
static int matches_model(const struct phys_range *extra, unsigned nextra)
{
	uint64_t nfree = 0, bad = 0;

	for (uint64_t f = 0; f < fa.nframes; f++) {
		bool want = model_free(f, extra, nextra);

		nfree += want;
		if (frame_is_free(&fa, f * PAGE_SIZE) != want && bad++ < 5)
			printf("# frame %#llx: free=%d, model says %d\n", (unsigned long long)f,
			       !want, want);
	}
	if (nfree != fa.nfree)
		printf("# nfree %llu, model %llu\n", (unsigned long long)fa.nfree,
		       (unsigned long long)nfree);
	return !bad && nfree == fa.nfree;
}

static const struct phys_range kernel[] = {
	{ 0x100000, 0x2345678, "kernel" },
	{ 0x6000000, 0x6000001, "one byte" },
};

static void pc_like(void)
{
	bi_reset(4 * GiB);
	region(0, 0x9fc00, 1);
	region(0x9fc00, 0x400, 2);
	region(0xf0000, 0x10000, 2);
	region(0x100000, 3 * GiB - 0x100000, 1);
	region(0x7fe0000, 0x20000, 3);          /* ACPI inside available RAM */
	region(0x10000800, 0x1000, 5);          /* unaligned bad RAM: two frames */
	region(0xfec00000, 0x1000, 2);          /* outside available RAM */
	region(3 * GiB + 512 * MiB, 512 * MiB, 1);
	bi.mbi_start = 0x2400100;
	bi.mbi_end = 0x2402100;
	module(0x3000000, 0x3400000);
	module(0x5000800, 0x5001000);
}

static void test_pc_like(void)
{
	pc_like();
	T(setup(kernel, ARRAY_SIZE(kernel)) == 0);
	T(fa.nframes == 4 * GiB / PAGE_SIZE);
	T(matches_model(kernel, ARRAY_SIZE(kernel)));
	/* Spot checks of the edges. */
	T(!frame_is_free(&fa, 0) && !frame_is_free(&fa, 0x9e000) && !frame_is_free(&fa, 0xff000));
	T(!frame_is_free(&fa, 0x100000) && !frame_is_free(&fa, 0x2345000));
	T(frame_is_free(&fa, 0x2346000));
	T(!frame_is_free(&fa, 0x2400000) && !frame_is_free(&fa, 0x2402000));
	T(frame_is_free(&fa, 0x2403000) && frame_is_free(&fa, 0x23ff000));
	T(!frame_is_free(&fa, 0x3000000) && !frame_is_free(&fa, 0x33ff000));
	T(frame_is_free(&fa, 0x3400000) && frame_is_free(&fa, 0x2fff000));
	T(!frame_is_free(&fa, 0x5000000) && frame_is_free(&fa, 0x5001000));
	T(!frame_is_free(&fa, 0x6000000) && frame_is_free(&fa, 0x6001000));
	T(!frame_is_free(&fa, 0x7fe0000) && !frame_is_free(&fa, 0x7fff000));
	T(frame_is_free(&fa, 0x8000000) && frame_is_free(&fa, 0x7fdf000));
	T(!frame_is_free(&fa, 0x10000000) && !frame_is_free(&fa, 0x10001000));
	T(frame_is_free(&fa, 0x10002000) && frame_is_free(&fa, 0xffff000));
	T(!frame_is_free(&fa, 3 * GiB) && !frame_is_free(&fa, 3 * GiB + 512 * MiB - PAGE_SIZE));
	T(frame_is_free(&fa, 3 * GiB + 512 * MiB) && frame_is_free(&fa, 4 * GiB - PAGE_SIZE));
	/* The allocator works and never hands out a reserved frame. */
	uint64_t pa;
	T(frame_alloc(&fa, 0, &pa) == 0 && pa == 0x2346000);
	T(frame_alloc(&fa, 9, &pa) == 0 && pa == 0x2600000);
	T(frame_alloc(&fa, 18, &pa) == 0 && pa == GiB);
}

static void test_reserved_listed_first(void)
{
	/* A reserved entry wins over an available one whatever the order. */
	bi_reset(256 * MiB);
	region(64 * MiB + 0x10, 0x10, 2);
	region(100 * MiB, 50 * MiB, 4);
	region(0, 256 * MiB, 1);
	T(setup(NULL, 0) == 0);
	T(matches_model(NULL, 0));
	T(!frame_is_free(&fa, 64 * MiB) && frame_is_free(&fa, 64 * MiB + PAGE_SIZE));
	T(!frame_is_free(&fa, 100 * MiB) && !frame_is_free(&fa, 150 * MiB - PAGE_SIZE));
	T(frame_is_free(&fa, 150 * MiB) && frame_is_free(&fa, 100 * MiB - PAGE_SIZE));
	T(fa.nfree == (256 * MiB - 1 * MiB - 50 * MiB) / PAGE_SIZE - 1);
	/* With no mbi set (0..0) nothing extra is reserved. */
	T(frame_is_free(&fa, 1 * MiB));
}

static void test_unaligned_regions(void)
{
	/* Available edges round inward, reserved ones outward. */
	bi_reset(64 * MiB + 0x800);
	region(1 * MiB + 0x10, 32 * MiB - 0x20, 1);
	region(40 * MiB + 0xfff, 24 * MiB - 0x7ff, 1);      /* ends at 64M + 0x800 */
	region(20 * MiB - 1, 2, 2);                          /* touches two frames */
	bi.mbi_start = 30 * MiB + 0xff8;
	bi.mbi_end = 30 * MiB + 0x1008;
	const struct phys_range ex[] = { { 50 * MiB + 1, 50 * MiB + 2, "byte" } };
	T(setup(ex, 1) == 0);
	T(fa.nframes == ALIGN_UP(64 * MiB / PAGE_SIZE + 1, 64));
	T(matches_model(ex, 1));
	T(!frame_is_free(&fa, 1 * MiB) && frame_is_free(&fa, 1 * MiB + PAGE_SIZE));
	T(frame_is_free(&fa, 33 * MiB - 2 * PAGE_SIZE) && !frame_is_free(&fa, 33 * MiB - PAGE_SIZE));
	T(!frame_is_free(&fa, 40 * MiB) && frame_is_free(&fa, 40 * MiB + PAGE_SIZE));
	T(frame_is_free(&fa, 64 * MiB - PAGE_SIZE) && !frame_is_free(&fa, 64 * MiB));
	T(!frame_is_free(&fa, 20 * MiB - PAGE_SIZE) && !frame_is_free(&fa, 20 * MiB));
	T(!frame_is_free(&fa, 30 * MiB) && !frame_is_free(&fa, 30 * MiB + PAGE_SIZE));
	T(frame_is_free(&fa, 30 * MiB + 2 * PAGE_SIZE));
	T(!frame_is_free(&fa, 50 * MiB) && frame_is_free(&fa, 50 * MiB + PAGE_SIZE));
}

static void test_too_small(void)
{
	const struct phys_range k[] = { { 1 * MiB, 3 * MiB, "kernel" } };

	/* 16 MiB available, 2 MiB of it taken by the kernel: refused. */
	bi_reset(17 * MiB);
	region(0, 17 * MiB, 1);
	T(setup(k, 1) == -ENOMEM && -ENOMEM == -12);
	T(strstr(err, "too small") != NULL);
	T(strstr(err, "14336 KiB") != NULL && strstr(err, "16 MiB") != NULL);
	T(fa.nfree == 14 * MiB / PAGE_SIZE);

	/* Exactly 16 MiB free is enough; one frame less is not. */
	bi_reset(19 * MiB);
	region(0, 19 * MiB, 1);
	T(setup(k, 1) == 0 && fa.nfree == 16 * MiB / PAGE_SIZE);
	module(18 * MiB + 0x10, 18 * MiB + 0x20);
	T(setup(k, 1) == -ENOMEM && strstr(err, "too small"));

	/* Plenty of RAM, but all of it reserved. */
	bi_reset(GiB);
	region(0, GiB, 1);
	region(0, GiB, 2);
	T(setup(NULL, 0) == -ENOMEM && strstr(err, "too small") && fa.nfree == 0);
	/* Modules and mbi count against the minimum too. */
	bi_reset(64 * MiB);
	region(0, 64 * MiB, 1);
	module(8 * MiB, 40 * MiB);
	bi.mbi_start = 40 * MiB;
	bi.mbi_end = 60 * MiB;
	T(setup(NULL, 0) == -ENOMEM && strstr(err, "too small"));
	/* A tiny error buffer is not overrun. */
	char small[8];
	struct phys_range rsv[2 + BI_MAX_MODULES];
	unsigned n = boot_reserved(&bi, 0, 0, rsv);
	T(memmap_setup(&fa, bm, bi.regions, bi.nregions, bi.ram_top, rsv, n, small,
		       sizeof(small)) == -ENOMEM);
	T(strlen(small) == sizeof(small) - 1);
}

static void test_cap_and_outside(void)
{
	/* RAM above MEMMAP_MAX_PHYS is not tracked. */
	bi_reset(128 * GiB);
	region(0, 640 * 1024, 1);
	region(4 * GiB, 124 * GiB, 1);
	module(100 * GiB, 100 * GiB + 4 * MiB);            /* above the cap: ignored */
	const struct phys_range ex[] = { { 63 * GiB, 65 * GiB, "straddles the cap" } };
	T(setup(ex, 1) == 0);
	T(fa.nframes == MEMMAP_MAX_PHYS / PAGE_SIZE);
	T(fa.nfree == (63 * GiB - 4 * GiB) / PAGE_SIZE);
	T(frame_is_free(&fa, 4 * GiB) && !frame_is_free(&fa, 63 * GiB));
	T(!frame_is_free(&fa, 64 * GiB));
	T(!frame_is_free(&fa, 0x1000)); /* available, but below 1 MiB */
}

int main(void)
{
	RUN(test_pc_like);
	RUN(test_reserved_listed_first);
	RUN(test_unaligned_regions);
	RUN(test_too_small);
	RUN(test_cap_and_outside);
	free(bm);
	return tap_finish();
}
