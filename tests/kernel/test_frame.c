/* The live frame allocator: what boot built from the real memory map. */
#include "boot/bootinfo.h"
#include "lib/bug.h"
#include "mm/frame.h"
#include "mm/hostpt.h"
#include "lib/kerrno.h"
#include "lib/ktest.h"

extern struct boot_info boot_info;
extern char _kernel_start[], _kernel_end[];

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t bend)
{
	return a < bend && b < a + alen;
}

/* A frame run must lie in available RAM and away from everything in use. */
static bool run_ok(uint64_t pa, uint64_t len)
{
	bool in_ram = false;

	if (overlaps(pa, len, (uint64_t)_kernel_start, (uint64_t)_kernel_end) ||
	    overlaps(pa, len, boot_info.mbi_start, boot_info.mbi_end) || pa < (1ULL << 20))
		return false;
	for (unsigned i = 0; i < boot_info.nmodules; i++)
		if (overlaps(pa, len, boot_info.modules[i].start, boot_info.modules[i].end))
			return false;
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];

		if (r->type == MB2_MEM_AVAILABLE && pa >= r->base && pa + len <= r->base + r->len)
			in_ram = true;
		else if (r->type != MB2_MEM_AVAILABLE && overlaps(pa, len, r->base, r->base + r->len))
			return false;
	}
	return in_ram;
}

#define NR_SMALL 256

KTEST(frame_alloc_4k_unique)
{
	static uint64_t got[NR_SMALL];
	uint64_t before = phys_frames.nfree;

	for (int i = 0; i < NR_SMALL; i++) {
		if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &got[i]), 0))
			return;
		CHECK(run_ok(got[i], PAGE_SIZE), "frame %#llx is in use or not RAM",
		      (unsigned long long)got[i]);
		for (int j = 0; j < i; j++)
			CHECK(got[j] != got[i], "frame %#llx handed out twice",
			      (unsigned long long)got[i]);
	}
	CHECK_EQ(phys_frames.nfree, before - NR_SMALL);
	for (int i = 0; i < NR_SMALL; i++)
		CHECK_EQ(frame_free(&phys_frames, got[i], FRAME_ORDER_4K), 0);
	CHECK_EQ(phys_frames.nfree, before);
}

KTEST(frame_alloc_huge_aligned)
{
	uint64_t pa2m, pa1g;

	if (CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_2M, &pa2m), 0)) {
		CHECK(IS_ALIGNED(pa2m, 2ULL << 20), "2 MiB run at %#llx", (unsigned long long)pa2m);
		CHECK(run_ok(pa2m, 2ULL << 20));
		frame_free(&phys_frames, pa2m, FRAME_ORDER_2M);
	}
	if (boot_info.ram_top < (2ULL << 30)) {
		ktest_skip("less than 2 GiB of RAM: no free 1 GiB run to test");
		return;
	}
	if (CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_1G, &pa1g), 0)) {
		CHECK(IS_ALIGNED(pa1g, 1ULL << 30), "1 GiB run at %#llx", (unsigned long long)pa1g);
		CHECK(run_ok(pa1g, 1ULL << 30));
		frame_free(&phys_frames, pa1g, FRAME_ORDER_1G);
	}
}

KTEST(frame_exhaustion)
{
	/* A private allocator over 128 frames: exhaustion must be an error, not a hang. */
	static uint64_t bitmap[2];
	struct frame_alloc fa;
	uint64_t pa;
	int n = 0;

	frame_init(&fa, bitmap, 128);
	frame_release_range(&fa, 0, 128 * PAGE_SIZE);
	CHECK_EQ(frame_alloc(&fa, FRAME_ORDER_2M, &pa), -ENOMEM);
	while (frame_alloc(&fa, FRAME_ORDER_4K, &pa) == 0)
		n++;
	CHECK_EQ(n, 128);
	CHECK_EQ(frame_alloc(&fa, FRAME_ORDER_4K, &pa), -ENOMEM);
	unsigned long w = warn_count;
	CHECK_EQ(frame_free(&fa, 5 * PAGE_SIZE, FRAME_ORDER_4K), 0);
	CHECK_EQ(frame_free(&fa, 5 * PAGE_SIZE, FRAME_ORDER_4K), -EINVAL); /* double free */
	CHECK_EQ(warn_count, w + 1);
	CHECK_EQ(fa.nfree, 1);
}
