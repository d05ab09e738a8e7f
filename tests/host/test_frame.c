/* Host unit tests for mm/frame.c: the bitmap frame allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/bug.h"
#include "mm/frame.h"
#include "lib/kerrno.h"
#include "tests/host/hostshim.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define NFRAMES (4 * GiB / PAGE_SIZE)

static struct frame_alloc fa;
static uint64_t *bm;
static uint64_t snap[NFRAMES / 64]; /* free/used snapshot: bit set = used */

static void fresh(uint64_t nframes)
{
	free(bm);
	bm = calloc(ALIGN_UP(nframes, 64) / 64, sizeof(uint64_t));
	frame_init(&fa, bm, nframes);
}

/* Frames whose bit is clear, counted straight from the bitmap. */
static uint64_t count_free(void)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < fa.nframes / 64; w++)
		n += 64 - (uint64_t)__builtin_popcountll(bm[w]);
	return n;
}

static bool snap_free(uint64_t frame)
{
	return !((snap[frame / 64] >> (frame % 64)) & 1);
}

static void take_snap(void)
{
	memcpy(snap, bm, fa.nframes / 8);
}

static void test_init(void)
{
	uint64_t pa = 0;

	fresh(NFRAMES);
	T(fa.nframes == NFRAMES && fa.nfree == 0);
	T(frame_alloc(&fa, 0, &pa) == -ENOMEM);
	T(frame_alloc(&fa, 9, &pa) == -ENOMEM);
	T(!frame_is_free(&fa, 0) && !frame_is_free(&fa, 4 * GiB - PAGE_SIZE));
	T(!frame_is_free(&fa, 4 * GiB)); /* untracked */
	fresh(100);
	T(fa.nframes == 128); /* rounded up to whole bitmap words */
	T(frame_alloc(&fa, 19, &pa) == -EINVAL);
	T(frame_alloc(&fa, 64, &pa) == -EINVAL);
	T(frame_alloc(&fa, 200, &pa) == -EINVAL);
}

static void test_release_reserve_edges(void)
{
	fresh(NFRAMES);
	/* Release rounds inward: only frames 2, 3 and 4 lie wholly inside. */
	frame_release_range(&fa, 0x1800, 0x5800);
	T(fa.nfree == 3 && count_free() == 3);
	T(!frame_is_free(&fa, 0x1000) && frame_is_free(&fa, 0x2000));
	T(frame_is_free(&fa, 0x4fff) && !frame_is_free(&fa, 0x5000));
	frame_release_range(&fa, 0x1800, 0x5800); /* again: no double count */
	T(fa.nfree == 3);
	frame_release_range(&fa, 0x7001, 0x7fff); /* inside one frame: nothing */
	frame_release_range(&fa, 0x9000, 0x9000);
	frame_release_range(&fa, 0xa000, 0x9000);
	T(fa.nfree == 3);
	/* Reserve rounds outward: [0x2800, 0x3001) touches frames 2 and 3. */
	frame_reserve_range(&fa, 0x2800, 0x3001);
	T(fa.nfree == 1 && count_free() == 1);
	T(!frame_is_free(&fa, 0x2000) && !frame_is_free(&fa, 0x3000) && frame_is_free(&fa, 0x4000));
	frame_reserve_range(&fa, 0x4fff, 0x5000); /* one byte still takes the frame */
	T(fa.nfree == 0);
	frame_reserve_range(&fa, 0x4000, 0x5000); /* reserving a used frame: no change */
	T(fa.nfree == 0 && count_free() == 0);
	/* Ranges past the tracked frames are clipped. */
	frame_release_range(&fa, 4 * GiB - 2 * PAGE_SIZE, 8 * GiB);
	T(fa.nfree == 2 && frame_is_free(&fa, 4 * GiB - PAGE_SIZE));
	frame_reserve_range(&fa, 4 * GiB - PAGE_SIZE, 16 * GiB);
	T(fa.nfree == 1);
	frame_reserve_range(&fa, 5 * GiB, 6 * GiB);
	frame_release_range(&fa, 5 * GiB, 6 * GiB);
	T(fa.nfree == 1 && count_free() == 1);
}

static void test_alloc_4k_unique(void)
{
	static uint64_t seen[NFRAMES / 64];
	uint64_t pa, n = 0, prev = 0, expect;
	bool unique = true, in_free = true, ascending = true;
	int r;

	fresh(NFRAMES);
	frame_release_range(&fa, 1 * MiB, 4 * GiB);
	frame_reserve_range(&fa, 16 * MiB, 32 * MiB);
	frame_reserve_range(&fa, 3 * GiB + 0x1234, 3 * GiB + 0x5678);
	expect = fa.nfree;
	T(expect == (4 * GiB - 1 * MiB - 16 * MiB) / PAGE_SIZE - 5);
	take_snap();
	memset(seen, 0, sizeof(seen));
	while ((r = frame_alloc(&fa, 0, &pa)) == 0) {
		uint64_t f = pa >> PAGE_SHIFT;

		if (pa & (PAGE_SIZE - 1) || f >= NFRAMES) {
			unique = false;
			break;
		}
		if ((seen[f / 64] >> (f % 64)) & 1)
			unique = false;
		seen[f / 64] |= 1ULL << (f % 64);
		if (!snap_free(f))
			in_free = false;
		if (n && pa <= prev)
			ascending = false;
		prev = pa;
		n++;
	}
	T(r == -ENOMEM && r == -12);
	T(unique && in_free && ascending);
	T(n == expect);
	T(fa.nfree == 0 && count_free() == 0);
	T(frame_alloc(&fa, 0, &pa) == -ENOMEM);
	/* After running dry, a freed frame is found again (the hint moves back). */
	T(frame_free(&fa, 5 * MiB, 0) == 0 && fa.nfree == 1);
	T(frame_alloc(&fa, 0, &pa) == 0 && pa == 5 * MiB);
}

static void test_alloc_2m(void)
{
	uint64_t pa, n = 0;
	bool ok = true;

	fresh(NFRAMES);
	frame_release_range(&fa, 1 * MiB + PAGE_SIZE, 64 * MiB + 0x800);
	frame_release_range(&fa, 100 * MiB, 105 * MiB);         /* holds [100M, 104M) */
	frame_reserve_range(&fa, 10 * MiB + 0x3000, 10 * MiB + 0x3001);
	take_snap();
	uint64_t before = fa.nfree;
	T(frame_alloc(&fa, 9, &pa) == 0 && pa == 2 * MiB); /* lowest whole 2M run */
	T(fa.nfree == before - 512);
	do {
		if (!IS_ALIGNED(pa, 2 * MiB))
			ok = false;
		for (uint64_t f = pa >> PAGE_SHIFT; f < (pa >> PAGE_SHIFT) + 512; f++)
			if (!snap_free(f) || frame_is_free(&fa, f << PAGE_SHIFT))
				ok = false;
		if (pa >= 10 * MiB && pa < 12 * MiB)
			ok = false; /* holds the reserved frame */
		n++;
	} while (frame_alloc(&fa, 9, &pa) == 0);
	T(ok);
	/* [2M, 64M) is 31 runs, minus [10M, 12M); [100M, 104M) is 2 more. */
	T(n == 30 + 2);
	T(fa.nfree == before - n * 512 && count_free() == fa.nfree);
	/* Smaller frames are still left around the edges. */
	T(frame_alloc(&fa, 0, &pa) == 0 && pa == 1 * MiB + PAGE_SIZE);
	T(frame_alloc(&fa, 3, &pa) == 0 && IS_ALIGNED(pa, 8 * PAGE_SIZE) && snap_free(pa >> 12));
	T(frame_alloc(&fa, 6, &pa) == 0 && IS_ALIGNED(pa, 64 * PAGE_SIZE) && snap_free(pa >> 12));
}

static void test_alloc_1g(void)
{
	uint64_t pa;

	fresh(NFRAMES);
	frame_release_range(&fa, 0, 4 * GiB);
	frame_reserve_range(&fa, 1 * GiB + 0x5000, 1 * GiB + 0x6000);
	T(frame_alloc(&fa, 18, &pa) == 0 && pa == 0);
	T(frame_alloc(&fa, 18, &pa) == 0 && pa == 2 * GiB);
	T(frame_alloc(&fa, 18, &pa) == 0 && pa == 3 * GiB);
	T(frame_alloc(&fa, 18, &pa) == -ENOMEM);
	T(fa.nfree == (1ULL << 18) - 1 && count_free() == fa.nfree);
	T(frame_free(&fa, 2 * GiB, 18) == 0);
	T(frame_alloc(&fa, 18, &pa) == 0 && pa == 2 * GiB);

	/* One used 4K frame in every 1G run: no 1G run, 2M runs still there. */
	fresh(NFRAMES);
	frame_release_range(&fa, 0, 4 * GiB);
	for (uint64_t g = 0; g < 4; g++)
		frame_reserve_range(&fa, g * GiB + g * 0x12345000 % GiB, g * GiB + g * 0x12345000 % GiB + 1);
	uint64_t nfree = fa.nfree;
	T(nfree == NFRAMES - 4);
	T(frame_alloc(&fa, 18, &pa) == -ENOMEM);
	T(fa.nfree == nfree);
	T(frame_alloc(&fa, 9, &pa) == 0 && pa == 2 * MiB);

	/* 3.5 GiB tracked: the last, partial GiB is never handed out. */
	fresh(7 * GiB / 2 / PAGE_SIZE);
	frame_release_range(&fa, 0, 4 * GiB);
	T(fa.nfree == 7 * GiB / 2 / PAGE_SIZE);
	for (int i = 0; i < 3; i++)
		T(frame_alloc(&fa, 18, &pa) == 0 && pa == (uint64_t)i * GiB);
	T(frame_alloc(&fa, 18, &pa) == -ENOMEM);
	T(fa.nfree == GiB / 2 / PAGE_SIZE);
}

static void test_free_realloc(void)
{
	uint64_t a, b, c, d, pa;

	fresh(NFRAMES);
	frame_release_range(&fa, 1 * MiB, 64 * MiB);
	uint64_t nfree = fa.nfree;
	T(frame_alloc(&fa, 0, &a) == 0 && frame_alloc(&fa, 0, &b) == 0 &&
	  frame_alloc(&fa, 0, &c) == 0);
	T(a == 1 * MiB && b == a + PAGE_SIZE && c == b + PAGE_SIZE);
	T(fa.nfree == nfree - 3);
	T(frame_free(&fa, b, 0) == 0 && frame_is_free(&fa, b));
	T(frame_alloc(&fa, 0, &d) == 0 && d == b); /* lowest free again */
	T(frame_alloc(&fa, 9, &pa) == 0 && pa == 2 * MiB);
	T(frame_free(&fa, pa, 9) == 0);
	T(frame_alloc(&fa, 9, &d) == 0 && d == pa);
	T(frame_free(&fa, d, 9) == 0 && frame_free(&fa, a, 0) == 0 &&
	  frame_free(&fa, b, 0) == 0 && frame_free(&fa, c, 0) == 0);
	T(fa.nfree == nfree && count_free() == nfree);
	/* A freed 2M run can be handed out again as 4K frames. */
	T(frame_alloc(&fa, 9, &pa) == 0);
	T(frame_free(&fa, pa, 9) == 0);
	for (int i = 0; i < 1024; i++)
		T(frame_alloc(&fa, 0, &d) == 0);
	T(frame_alloc(&fa, 9, &d) == 0 && d >= pa);
}

/* Must run before any other double free: the warning fires once per site. */
static void test_double_free(void)
{
	uint64_t a, b, pa;

	fresh(NFRAMES);
	frame_release_range(&fa, 1 * MiB, 8 * MiB);
	T(frame_alloc(&fa, 0, &a) == 0);
	T(frame_free(&fa, a, 0) == 0);
	uint64_t nfree = fa.nfree;
	unsigned long w = warn_count;
	T(frame_free(&fa, a, 0) == -EINVAL && a != 0);
	T(warn_count > w);
	T(fa.nfree == nfree && count_free() == nfree);
	/* It is handed out once only. */
	T(frame_alloc(&fa, 0, &pa) == 0 && pa == a);
	T(frame_alloc(&fa, 0, &b) == 0 && b != a);

	/* A 2M run with one frame already free: refused, bitmap untouched. */
	T(frame_alloc(&fa, 9, &pa) == 0);
	T(frame_free(&fa, pa + 7 * PAGE_SIZE, 0) == 0);
	nfree = fa.nfree;
	take_snap();
	T(frame_free(&fa, pa, 9) == -EINVAL);
	T(fa.nfree == nfree && !memcmp(snap, bm, fa.nframes / 8));
	/* Frames never released (reserved memory) cannot be freed twice either. */
	T(frame_free(&fa, 0x1000, 0) == 0); /* in use: a valid free */
	T(frame_free(&fa, 0x1000, 0) == -EINVAL);
}

static void test_bad_free(void)
{
	uint64_t pa;

	fresh(NFRAMES);
	frame_release_range(&fa, 1 * MiB, 16 * MiB);
	T(frame_alloc(&fa, 9, &pa) == 0);
	uint64_t nfree = fa.nfree;
	take_snap();
	static const struct {
		uint64_t pa;
		unsigned order;
	} bad[] = {
		{ 2 * MiB + 0x800, 0 },   /* not page aligned */
		{ 2 * MiB + 0x1000, 9 },  /* not 2M aligned */
		{ 2 * MiB, 18 },          /* not 1G aligned */
		{ 2 * MiB, 19 },          /* no such order */
		{ 2 * MiB, 64 },          /* nor one a shift could not even express */
		{ 4 * GiB, 0 },           /* untracked */
		{ 4 * GiB, 9 },           /* untracked 2M run */
		{ ~0ULL << 12, 0 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned long w = warn_count;

		T(frame_free(&fa, bad[i].pa, bad[i].order) == -EINVAL);
		T(warn_count == w + 1);
	}
	T(fa.nfree == nfree && !memcmp(snap, bm, fa.nframes / 8));
	T(frame_free(&fa, pa, 9) == 0 && fa.nfree == nfree + 512);
}

/* Random release/reserve/alloc/free: nfree always equals the bitmap's count. */
static void test_nfree_bookkeeping(void)
{
	static struct {
		uint64_t pa;
		unsigned order;
	} live[4096];
	unsigned nlive = 0;
	uint64_t x = 12345;
	unsigned long w = warn_count;
	bool ok = true;

	fresh(NFRAMES / 4); /* 1 GiB */
	for (int step = 0; step < 20000 && ok; step++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned op = (unsigned)(x >> 60) % 8;
		uint64_t a = (x >> 8) % GiB, len = (x >> 40) % (8 * MiB);
		uint64_t pa;

		if (op == 0) {
			frame_release_range(&fa, a, a + len);
		} else if (op == 1 && step % 5 == 0) {
			frame_reserve_range(&fa, a, a + len / 16);
		} else if (op <= 5 && nlive < ARRAY_SIZE(live)) {
			static const unsigned orders[] = { 0, 0, 0, 1, 3, 9 };
			unsigned order = orders[op];
			uint64_t before = fa.nfree;

			if (frame_alloc(&fa, order, &pa) == 0) {
				if (!IS_ALIGNED(pa, PAGE_SIZE << order) ||
				    fa.nfree != before - (1ULL << order))
					ok = false;
				live[nlive].pa = pa;
				live[nlive++].order = order;
			}
		} else if (nlive) {
			unsigned i = (unsigned)(x >> 20) % nlive;
			uint64_t before = fa.nfree;

			/* It may have been released by a range meanwhile: skip those. */
			bool all_used = true;
			for (uint64_t f = 0; f < (1ULL << live[i].order); f++)
				if (frame_is_free(&fa, live[i].pa + f * PAGE_SIZE))
					all_used = false;
			if (all_used && (frame_free(&fa, live[i].pa, live[i].order) ||
					 fa.nfree != before + (1ULL << live[i].order)))
				ok = false;
			live[i] = live[--nlive];
		}
		if (fa.nfree != count_free()) {
			printf("# step %d op %u: nfree %llu, bitmap %llu\n", step, op,
			       (unsigned long long)fa.nfree, (unsigned long long)count_free());
			ok = false;
		}
	}
	T(ok);
	T(warn_count == w); /* no call above was a misuse */
}

int main(void)
{
	RUN(test_init);
	RUN(test_release_reserve_edges);
	RUN(test_alloc_4k_unique);
	RUN(test_alloc_2m);
	RUN(test_alloc_1g);
	RUN(test_free_realloc);
	RUN(test_double_free);
	RUN(test_bad_free);
	RUN(test_nfree_bookkeeping);
	free(bm);
	return tap_finish();
}
