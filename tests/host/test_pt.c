/*
 * Host unit tests for mm/pt.c with the x86-64 format (mm/x86pt.c). Table
 * pages come from a frame allocator over the arena ("physical memory" 0..64M);
 * the pages the leaves point to are never touched, so they may lie anywhere.
 */
#include <stdio.h>
#include <string.h>
#include "mm/frame.h"
#include "lib/kerrno.h"
#include "mm/pt.h"
#include "mm/x86pt.h"
#include "tests/host/hostshim.h"
#include "tests/host/ptcheck.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define ARENA (64 * MiB)
#define ALL_LEAVES ((1u << 1) | (1u << 2) | (1u << 3))

static struct frame_alloc fa;
static uint64_t bm[ARENA / PAGE_SIZE / 64];
static struct pt pt;

/* Free frames before any table: the whole arena except frame 0 (no table at pa 0). */
#define NFREE0 (ARENA / PAGE_SIZE - 1)

/* A fresh allocator and an empty table (its root taken from the allocator). */
static void setup(void)
{
	frame_init(&fa, bm, ARENA / PAGE_SIZE);
	frame_release_range(&fa, PAGE_SIZE, ARENA);
	x86_pt_nx = true;
	T(pt_init(&pt, &x86_pt_fmt, &fa, ALL_LEAVES) == 0);
}

static void test_map_lookup(void)
{
	struct pt_walk w;

	setup();
	T(pt.table_pages == 1 && fa.nfree == NFREE0 - 1 && pt.root && pt.root < ARENA);
	T(pt_unmapped(&pt, 0) && pt_unmapped(&pt, 0x1000));

	T(pt_map(&pt, 0x1000, 0x5000, PAGE_SIZE, PT_PROT_RW, 1) == 0 && pt.table_pages == 4);
	T(pt_maps(&pt, 0x1000, 0x5000, 1, PT_PROT_RW) && pt_maps(&pt, 0x1abc, 0x5abc, 1, PT_PROT_RW));
	T(pt_unmapped(&pt, 0x0) && pt_unmapped(&pt, 0x2000));

	T(pt_map(&pt, 0xa00000, 0x1200000, 2 * MiB, PT_PROT_RWX, 2) == 0);
	T(pt.table_pages == 4); /* same PDPT and PD */
	T(pt_maps(&pt, 0xa00000, 0x1200000, 2, PT_PROT_RWX) && pt_maps(&pt, 0xa12345, 0x1212345, 2, PT_PROT_RWX));
	T(pt_maps(&pt, 0xbfffff, 0x13fffff, 2, PT_PROT_RWX));
	T(pt_unmapped(&pt, 0xc00000) && pt_unmapped(&pt, 0x9fffff));

	T(pt_map(&pt, 512 * GiB, 1 * GiB, GiB, PT_PROT_R, 3) == 0 && pt.table_pages == 5); /* +PDPT */
	T(pt_maps(&pt, 512 * GiB + 0x12345678, 1 * GiB + 0x12345678, 3, PT_PROT_R));
	T(pt_maps(&pt, 513 * GiB - 1, 2 * GiB - 1, 3, PT_PROT_R) && pt_unmapped(&pt, 513 * GiB));
	T(fa.nfree == NFREE0 - pt.table_pages);

	/* Several leaves in one call. */
	T(pt_map(&pt, 0x10000, 0x20000, 5 * PAGE_SIZE, PT_PROT_R | PT_PROT_X, 1) == 0);
	for (int i = 0; i < 5; i++)
		T(pt_maps(&pt, 0x10000 + i * PAGE_SIZE, 0x20000 + i * PAGE_SIZE, 1, PT_PROT_R | PT_PROT_X));
	T(pt_unmapped(&pt, 0x15000));

	/* The walk records the entries it read. */
	T(pt_lookup(&pt, 0x1234, &w) == 0 && w.depth == 1 && w.level == 1);
	T(w.entries[1] == (0x5000 | X86_PTE_P | X86_PTE_W | X86_PTE_NX));
	for (int l = 2; l <= 4; l++)
		T((w.entries[l] & (X86_PTE_P | X86_PTE_W | X86_PTE_PS)) == (X86_PTE_P | X86_PTE_W));
	T(pt_lookup(&pt, 0xa00000, &w) == 0 && w.depth == 2);
	T(w.entries[2] == (0x1200000 | X86_PTE_P | X86_PTE_W | X86_PTE_PS) && w.entries[1] == 0);
	T(pt_lookup(&pt, 512 * GiB, &w) == 0 && w.depth == 3);
	T(w.entries[3] == (1 * GiB | X86_PTE_P | X86_PTE_PS | X86_PTE_NX));
	/* Misses: the depth says where the walk stopped. */
	T(pt_lookup(&pt, 1024 * GiB, &w) == -ENOENT && w.depth == 4 && w.entries[4] == 0);
	T(pt_lookup(&pt, 1 * GiB, &w) == -ENOENT && w.depth == 3 && w.entries[3] == 0);
	T(pt_lookup(&pt, 0xe00000, &w) == -ENOENT && w.depth == 2);
	T(pt_lookup(&pt, 0x3000, &w) == -ENOENT && w.depth == 1 && w.entries[2] != 0);
	pt_destroy(&pt);
	T(fa.nfree == NFREE0 && pt.table_pages == 0);
}

static void test_map_existing(void)
{
	setup();
	T(pt_map(&pt, 0x1000, 0x5000, PAGE_SIZE, PT_PROT_RW, 1) == 0);
	T(pt_map(&pt, 0x600000 + 0x3000, 0x7000, PAGE_SIZE, PT_PROT_RW, 1) == 0);
	T(pt_map(&pt, 0xa00000, 0x1200000, 2 * MiB, PT_PROT_RWX, 2) == 0);
	T(pt_map(&pt, GiB, 3 * GiB, GiB, PT_PROT_R, 3) == 0);
	unsigned long tables = pt.table_pages;
	uint64_t nfree = fa.nfree;

	T(pt_map(&pt, 0x1000, 0x9000, PAGE_SIZE, PT_PROT_R, 1) == -EEXIST && -EEXIST == -17);
	T(pt_map(&pt, 0, 0x9000, 3 * PAGE_SIZE, PT_PROT_R, 1) == -EEXIST); /* hits 0x1000 */
	T(pt_map(&pt, 0, 0, 2 * MiB, PT_PROT_R, 2) == -EEXIST);             /* a PT is there */
	T(pt_map(&pt, 0xa01000, 0, PAGE_SIZE, PT_PROT_R, 1) == -EEXIST);     /* in a 2M leaf */
	T(pt_map(&pt, 0xa00000, 0, 2 * MiB, PT_PROT_R, 2) == -EEXIST);
	T(pt_map(&pt, GiB + 0x5000, 0, PAGE_SIZE, PT_PROT_R, 1) == -EEXIST); /* in a 1G leaf */
	T(pt_map(&pt, GiB + 4 * MiB, 0, 2 * MiB, PT_PROT_R, 2) == -EEXIST);
	T(pt_map(&pt, 0, 0, GiB, PT_PROT_R, 3) == -EEXIST);
	/* The clash is inside the second 2M chunk: the first must be rolled back. */
	T(pt_map(&pt, 0x400000, 0x800000, 4 * MiB, PT_PROT_R, 2) == -EEXIST);
	T(pt_map_best(&pt, 0x400000, 0x800000, 4 * MiB, PT_PROT_R) == -EEXIST);
	T(pt_map_best(&pt, 0x0, 0x0, 0x2000, PT_PROT_R) == -EEXIST);
	T(pt_unmapped(&pt, 0x400000) && pt_unmapped(&pt, 0x0));
	/* Nothing changed. */
	T(pt.table_pages == tables && fa.nfree == nfree);
	T(pt_maps(&pt, 0x1000, 0x5000, 1, PT_PROT_RW));
	T(pt_maps(&pt, 0x603000, 0x7000, 1, PT_PROT_RW));
	T(pt_maps(&pt, 0xa01000, 0x1201000, 2, PT_PROT_RWX));
	T(pt_maps(&pt, GiB + 0x5000, 3 * GiB + 0x5000, 3, PT_PROT_R));
	pt_destroy(&pt);
}

static void test_bad_args(void)
{
	struct pt small;

	setup();
	T(pt_map(&pt, 0x1001, 0x5000, PAGE_SIZE, PT_PROT_R, 1) == -EINVAL);
	T(pt_map(&pt, 0x1000, 0x5001, PAGE_SIZE, PT_PROT_R, 1) == -EINVAL);
	T(pt_map(&pt, 0x1000, 0x5000, 0, PT_PROT_R, 1) == -EINVAL);      /* size 0 */
	T(pt_map(&pt, 0x1000, 0x5000, 0x1800, PT_PROT_R, 1) == -EINVAL); /* partial page */
	T(pt_map(&pt, 0x1000, 0x200000, 2 * MiB, PT_PROT_R, 2) == -EINVAL);
	T(pt_map(&pt, 0x200000, 0x201000, 2 * MiB, PT_PROT_R, 2) == -EINVAL);
	T(pt_map(&pt, 0x200000, 0x200000, PAGE_SIZE, PT_PROT_R, 2) == -EINVAL);
	T(pt_map(&pt, 2 * MiB, 0, GiB, PT_PROT_R, 3) == -EINVAL);
	T(pt_map(&pt, 0, 0, PAGE_SIZE, PT_PROT_R, 0) == -EINVAL);
	T(pt_map(&pt, 0, 0, 512 * GiB, PT_PROT_R, 4) == -EINVAL);
	T(pt_map(&pt, 0, 0, PAGE_SIZE, PT_PROT_R, -1) == -EINVAL);
	T(pt_map(&pt, (1ULL << 48) - PAGE_SIZE, 0, 2 * PAGE_SIZE, PT_PROT_R, 1) == -EINVAL);
	T(pt_map(&pt, ~0ULL << 12, 0, 2 * PAGE_SIZE, PT_PROT_R, 1) == -EINVAL);
	T(pt_map(&pt, (1ULL << 48) - PAGE_SIZE, 0, PAGE_SIZE, PT_PROT_R, 1) == 0); /* last page */
	T(pt_maps(&pt, (1ULL << 48) - 1, 0xfff, 1, PT_PROT_R));
	T(pt_map_best(&pt, 0x1800, 0, PAGE_SIZE, PT_PROT_R) == -EINVAL);
	T(pt_map_best(&pt, 0x1000, 0x800, PAGE_SIZE, PT_PROT_R) == -EINVAL);
	T(pt_map_best(&pt, 0x1000, 0, 0, PT_PROT_R) == -EINVAL);
	T(pt_unmap(&pt, 0x1800, PAGE_SIZE) == -EINVAL && pt_unmap(&pt, 0x1000, 0x800) == -EINVAL);
	T(pt_protect(&pt, 0x1000, 0, PT_PROT_R) == -EINVAL);
	T(pt_split(&pt, 0, 1) == -EINVAL && pt_split(&pt, 0, 4) == -EINVAL);
	T(pt.table_pages == 4);
	pt_destroy(&pt);

	/* Leaf levels the table does not allow. */
	T(pt_init(&small, &x86_pt_fmt, &fa, 0) == 0 && small.leaf_levels == (1u << 1));
	T(pt_map(&small, 0, 0, 2 * MiB, PT_PROT_R, 2) == -EINVAL &&
	  pt_map(&small, 0, 0, GiB, PT_PROT_R, 3) == -EINVAL);
	T(pt_map_best(&small, GiB, GiB, 4 * MiB, PT_PROT_R) == 0);
	T(pt_mapping_level(&small, GiB) == 1 && pt_mapping_level(&small, GiB + 4 * MiB - 1) == 1);
	pt_destroy(&small);
	T(pt_init(&small, &x86_pt_fmt, &fa, (1u << 3)) == 0);
	T(pt_map(&small, GiB, 0, GiB, PT_PROT_R, 3) == 0);
	T(pt_split(&small, GiB, 3) == -EINVAL); /* 2M leaves not allowed */
	T(pt_mapping_level(&small, GiB) == 3);
	pt_destroy(&small);
}

static void test_map_best(void)
{
	setup();
	/* 4K, 4K, then 1G, 2M, 4K: the largest leaf alignment allows each time. */
	uint64_t va = GiB - 8 * KiB, pa = 3 * GiB - 8 * KiB;
	T(pt_map_best(&pt, va, pa, 8 * KiB + GiB + 2 * MiB + 4 * KiB, PT_PROT_RW) == 0);
	T(pt_maps(&pt, va, pa, 1, PT_PROT_RW) && pt_maps(&pt, va + 4 * KiB, pa + 4 * KiB, 1, PT_PROT_RW));
	T(pt_maps(&pt, GiB, 3 * GiB, 3, PT_PROT_RW) && pt_maps(&pt, 2 * GiB - 1, 4 * GiB - 1, 3, PT_PROT_RW));
	T(pt_maps(&pt, 2 * GiB, 4 * GiB, 2, PT_PROT_RW) && pt_maps(&pt, 2 * GiB + 2 * MiB - 1, 4 * GiB + 2 * MiB - 1, 2, PT_PROT_RW));
	T(pt_maps(&pt, 2 * GiB + 2 * MiB, 4 * GiB + 2 * MiB, 1, PT_PROT_RW));
	T(pt_unmapped(&pt, 2 * GiB + 2 * MiB + 4 * KiB) && pt_unmapped(&pt, va - 4 * KiB));
	/* va and pa aligned differently: 4K leaves only. */
	T(pt_map_best(&pt, 8 * GiB, 4 * KiB, 2 * MiB, PT_PROT_R) == 0);
	T(pt_mapping_level(&pt, 8 * GiB) == 1 && pt_mapping_level(&pt, 8 * GiB + 2 * MiB - 1) == 1);
	/* 1G alignment but less than 1G left: 2M leaves. */
	T(pt_map_best(&pt, 16 * GiB, 0, 6 * MiB, PT_PROT_R) == 0);
	T(pt_maps(&pt, 16 * GiB + 5 * MiB, 5 * MiB, 2, PT_PROT_R));
	pt_destroy(&pt);
}

static void test_unmap_split(void)
{
	setup();
	T(pt_map(&pt, 2 * MiB, GiB, 2 * MiB, PT_PROT_RW, 2) == 0);
	unsigned long tables = pt.table_pages;
	/* Two pages out of the middle of a 2M leaf. */
	T(pt_unmap(&pt, 2 * MiB + 0x1000, 0x2000) == 2);
	T(pt.table_pages == tables + 1);
	T(pt_unmapped(&pt, 2 * MiB + 0x1000) && pt_unmapped(&pt, 2 * MiB + 0x2fff));
	T(pt_maps(&pt, 2 * MiB, GiB, 1, PT_PROT_RW));
	T(pt_maps(&pt, 2 * MiB + 0x3000, GiB + 0x3000, 1, PT_PROT_RW));
	T(pt_maps(&pt, 4 * MiB - 1, GiB + 2 * MiB - 1, 1, PT_PROT_RW));
	T(pt_unmapped(&pt, 4 * MiB) && pt_unmapped(&pt, 2 * MiB - 1));

	/* One page out of a 1G leaf: 1G -> 2M -> 4K around it. */
	T(pt_map(&pt, GiB, 5 * GiB, GiB, PT_PROT_R, 3) == 0);
	T(pt_unmap(&pt, GiB + 2 * MiB + 0x4000, 0x1000) == 1);
	T(pt_maps(&pt, GiB, 5 * GiB, 2, PT_PROT_R));
	T(pt_maps(&pt, GiB + 2 * MiB, 5 * GiB + 2 * MiB, 1, PT_PROT_R));
	T(pt_maps(&pt, GiB + 2 * MiB + 0x5000, 5 * GiB + 2 * MiB + 0x5000, 1, PT_PROT_R));
	T(pt_unmapped(&pt, GiB + 2 * MiB + 0x4000));
	T(pt_maps(&pt, GiB + 4 * MiB, 5 * GiB + 4 * MiB, 2, PT_PROT_R));
	T(pt_maps(&pt, 2 * GiB - 1, 6 * GiB - 1, 2, PT_PROT_R));

	/* A range straddling two 2M leaves: half of each goes. */
	T(pt_map(&pt, 8 * GiB, 0, 4 * MiB, PT_PROT_R, 2) == 0);
	T(pt_unmap(&pt, 8 * GiB + 1 * MiB, 2 * MiB) == 512);
	T(pt_maps(&pt, 8 * GiB + 1 * MiB - 1, 1 * MiB - 1, 1, PT_PROT_R));
	T(pt_unmapped(&pt, 8 * GiB + 1 * MiB) && pt_unmapped(&pt, 8 * GiB + 3 * MiB - 1));
	T(pt_maps(&pt, 8 * GiB + 3 * MiB, 3 * MiB, 1, PT_PROT_R));
	/* Whole leaves inside the range are removed without a split. */
	T(pt_map(&pt, 16 * GiB, 0, 8 * MiB, PT_PROT_R, 2) == 0);
	tables = pt.table_pages;
	T(pt_unmap(&pt, 16 * GiB + 2 * MiB, 4 * MiB) == 2 && pt.table_pages == tables);
	T(pt_unmap(&pt, 32 * GiB, GiB) == 0); /* nothing there */
	pt_destroy(&pt);
}

static void test_unmap_frees_tables(void)
{
	setup();
	T(pt_map(&pt, 0x1000, 0, PAGE_SIZE, PT_PROT_R, 1) == 0);
	T(pt_unmap(&pt, 0x1000, PAGE_SIZE) == 1);
	T(pt.table_pages == 1 && fa.nfree == NFREE0 - 1);

	T(pt_map(&pt, 0, 0, 64 * PAGE_SIZE, PT_PROT_R, 1) == 0);          /* 64 leaves */
	T(pt_map(&pt, 6 * MiB, 0, 8 * MiB, PT_PROT_RW, 2) == 0);          /* 4 */
	T(pt_map(&pt, 3 * GiB, 0, 2 * GiB, PT_PROT_RW, 3) == 0);          /* 2 */
	T(pt_map(&pt, 1024 * GiB + 4 * KiB, 0, 4 * KiB, PT_PROT_R, 1) == 0); /* 1 */
	T(pt_map_best(&pt, 200 * GiB, 0, GiB + 2 * MiB + 4 * KiB, PT_PROT_R) == 0); /* 3 */
	/* One 2M leaf becomes 512 4K leaves, one of which goes: 510 more. */
	T(pt_unmap(&pt, 12 * MiB + 4 * KiB, 4 * KiB) == 1);
	long leaves = 64 + 4 + 2 + 1 + 3 + 510;
	T(pt.table_pages > 8);
	T(pt_unmap(&pt, 0, 1ULL << 48) == leaves);
	T(pt.table_pages == 1 && fa.nfree == NFREE0 - 1);
	T(pt_unmapped(&pt, 0) && pt_unmapped(&pt, 3 * GiB) && pt_unmapped(&pt, 200 * GiB));
	T(pt_unmap(&pt, 0, 1ULL << 48) == 0);
	pt_destroy(&pt);
	T(fa.nfree == NFREE0);
}

static void test_protect(void)
{
	const unsigned RX = PT_PROT_R | PT_PROT_X;
	struct pt_walk w;

	setup();
	T(pt_map(&pt, 2 * MiB, 0x40000000, 2 * MiB, PT_PROT_RWX, 2) == 0);
	T(pt_map(&pt, 4 * MiB, 0x50000000, 2 * PAGE_SIZE, PT_PROT_RWX, 1) == 0);
	/* The last page of the 2M leaf and the first 4K leaf become read-only. */
	T(pt_protect(&pt, 4 * MiB - PAGE_SIZE, 2 * PAGE_SIZE, PT_PROT_R) == 2);
	T(pt_maps(&pt, 2 * MiB, 0x40000000, 1, PT_PROT_RWX));
	T(pt_maps(&pt, 4 * MiB - 2 * PAGE_SIZE, 0x401fe000, 1, PT_PROT_RWX));
	T(pt_maps(&pt, 4 * MiB - PAGE_SIZE, 0x401ff000, 1, PT_PROT_R));
	T(pt_maps(&pt, 4 * MiB, 0x50000000, 1, PT_PROT_R));
	T(pt_maps(&pt, 4 * MiB + PAGE_SIZE, 0x50001000, 1, PT_PROT_RWX));
	T(pt_lookup(&pt, 4 * MiB, &w) == 0);
	T(!(w.entries[1] & X86_PTE_W) && (w.entries[1] & X86_PTE_NX));
	T(pt_protect(&pt, 4 * MiB, PAGE_SIZE, RX) == 1);
	T(pt_lookup(&pt, 4 * MiB, &w) == 0 && w.prot == RX);
	T(!(w.entries[1] & X86_PTE_W) && !(w.entries[1] & X86_PTE_NX));
	T(pt_protect(&pt, 4 * MiB, PAGE_SIZE, PT_PROT_RW) == 1);
	T(pt_lookup(&pt, 4 * MiB, &w) == 0 && w.prot == PT_PROT_RW);
	T((w.entries[1] & X86_PTE_W) && (w.entries[1] & X86_PTE_NX));
	T(w.pa == 0x50000000);

	/* A whole 1G leaf stays one leaf; a part of one is split. */
	T(pt_map(&pt, GiB, 2 * GiB, 2 * GiB, PT_PROT_RWX, 3) == 0);
	T(pt_protect(&pt, GiB, GiB, PT_PROT_RW) == 1);
	T(pt_maps(&pt, GiB + 0x1234, 2 * GiB + 0x1234, 3, PT_PROT_RW));
	T(pt_lookup(&pt, GiB, &w) == 0 && (w.entries[3] & X86_PTE_PS) && (w.entries[3] & X86_PTE_NX));
	T(pt_protect(&pt, 2 * GiB + 4 * MiB, 4 * MiB + PAGE_SIZE, RX) == 2 + 1);
	T(pt_maps(&pt, 2 * GiB, 3 * GiB, 2, PT_PROT_RWX));
	T(pt_maps(&pt, 2 * GiB + 4 * MiB, 3 * GiB + 4 * MiB, 2, RX));
	T(pt_maps(&pt, 2 * GiB + 8 * MiB, 3 * GiB + 8 * MiB, 1, RX));
	T(pt_maps(&pt, 2 * GiB + 8 * MiB + PAGE_SIZE, 3 * GiB + 8 * MiB + PAGE_SIZE, 1, PT_PROT_RWX));
	T(pt_maps(&pt, 3 * GiB - 1, 4 * GiB - 1, 2, PT_PROT_RWX));
	T(pt_protect(&pt, 64 * GiB, GiB, PT_PROT_R) == 0); /* nothing mapped there */

	/* Without NX, no bit 63 and every page is executable. */
	x86_pt_nx = false;
	T(pt_protect(&pt, 4 * MiB, PAGE_SIZE, PT_PROT_R) == 1);
	T(pt_lookup(&pt, 4 * MiB, &w) == 0 && !(w.entries[1] & X86_PTE_NX) && w.prot == RX);
	x86_pt_nx = true;
	pt_destroy(&pt);
}

/* Translations of a sample of addresses in [base, base + 1G). */
static void sample(uint64_t base, uint64_t *pa, unsigned *prot, int n)
{
	for (int i = 0; i < n; i++) {
		struct pt_walk w;

		pa[i] = pt_lookup(&pt, base + ((uint64_t)i * 0x1f3579b) % GiB, &w) ? ~0ULL : w.pa;
		prot[i] = w.prot;
	}
}

static void test_split(void)
{
	enum { N = 4096 };
	static uint64_t pa0[N], pa1[N];
	static unsigned pr0[N], pr1[N];

	setup();
	T(pt_map(&pt, GiB, 4 * GiB, GiB, PT_PROT_RW, 3) == 0);
	sample(GiB, pa0, pr0, N);
	unsigned long tables = pt.table_pages;
	T(pt_split(&pt, GiB + 0x123456, 3) == 0);
	T(pt.table_pages == tables + 1);
	T(pt_mapping_level(&pt, GiB) == 2 && pt_mapping_level(&pt, 2 * GiB - 1) == 2);
	sample(GiB, pa1, pr1, N);
	T(!memcmp(pa0, pa1, sizeof(pa0)) && !memcmp(pr0, pr1, sizeof(pr0)));
	T(pt_split(&pt, GiB + 6 * MiB + 5, 2) == 0);
	T(pt_mapping_level(&pt, GiB + 6 * MiB) == 1 && pt_mapping_level(&pt, GiB + 8 * MiB) == 2);
	T(pt_mapping_level(&pt, GiB + 4 * MiB) == 2);
	sample(GiB, pa1, pr1, N);
	T(!memcmp(pa0, pa1, sizeof(pa0)) && !memcmp(pr0, pr1, sizeof(pr0)));
	for (uint64_t off = 0; off < 2 * MiB; off += PAGE_SIZE)
		T(pt_maps(&pt, GiB + 6 * MiB + off, 4 * GiB + 6 * MiB + off, 1, PT_PROT_RW));
	T(pt.table_pages == tables + 2);

	/* Refusals. */
	T(pt_split(&pt, GiB, 3) == -EINVAL);             /* already a table */
	T(pt_split(&pt, GiB + 6 * MiB, 2) == -EINVAL);   /* already a table */
	T(pt_split(&pt, 64 * GiB, 3) == -ENOENT);        /* nothing there */
	T(pt_split(&pt, 64 * GiB, 2) == -ENOENT);
	T(pt_split(&pt, 2 * GiB, 3) == -ENOENT);         /* PDPT exists, entry empty */
	T(pt_map(&pt, 8 * GiB, 0, GiB, PT_PROT_R, 3) == 0);
	T(pt_split(&pt, 8 * GiB + 2 * MiB, 2) == -EINVAL); /* under a 1G leaf */
	T(pt_map(&pt, 0x1000, 0, PAGE_SIZE, PT_PROT_R, 1) == 0);
	T(pt_split(&pt, 0x3000, 2) == -EINVAL);          /* a PT, not a 2M leaf */
	T(pt_split(&pt, 4 * MiB, 2) == -ENOENT);         /* PD exists, entry empty */
	T(pt.table_pages == tables + 2 + 2); /* the 4K leaf added a PD and a PT */
	pt_destroy(&pt);
}

static void test_destroy(void)
{
	setup();
	/* Even i: a 1G, a 2M and 4K leaves; odd i: 2M leaves then 4K leaves. */
	for (uint64_t i = 0; i < 16; i++) {
		uint64_t off = (i & 1) ? 2 * MiB : 0;

		T(pt_map_best(&pt, i * 37 * GiB + off, off, GiB + 3 * MiB + 8 * KiB, PT_PROT_RW) == 0);
	}
	T(pt_mapping_level(&pt, 0) == 3 && pt_mapping_level(&pt, 37 * GiB + 2 * MiB) == 2);
	T(pt_split(&pt, 37 * GiB + 4 * MiB, 2) == 0);
	T(pt_split(&pt, 74 * GiB, 3) == 0);
	T(pt.table_pages > 40 && fa.nfree == NFREE0 - pt.table_pages);
	pt_destroy(&pt);
	T(pt.table_pages == 0 && pt.root == 0 && fa.nfree == NFREE0);
	pt_destroy(&pt); /* twice is harmless */
	T(fa.nfree == NFREE0);
}

static void test_enomem(void)
{
	/* Three free frames: the root takes one, a 4K mapping needs three more. */
	frame_init(&fa, bm, ARENA / PAGE_SIZE);
	frame_release_range(&fa, 16 * MiB, 16 * MiB + 3 * PAGE_SIZE);
	T(pt_init(&pt, &x86_pt_fmt, &fa, ALL_LEAVES) == 0);
	T(pt_map(&pt, 0, 0, PAGE_SIZE, PT_PROT_R, 1) == -ENOMEM && -ENOMEM == -12);
	T(pt_unmapped(&pt, 0));
	T(pt.table_pages == 1 && fa.nfree == 2); /* half-built tables go back */
	T(pt_map_best(&pt, 0, 0x1000, 2 * PAGE_SIZE, PT_PROT_R) == -ENOMEM);
	T(pt_unmapped(&pt, 0) && pt.table_pages == 1 && fa.nfree == 2);

	/* One more frame: the first page maps, the second needs another PT. */
	frame_release_range(&fa, 20 * MiB, 20 * MiB + PAGE_SIZE);
	T(pt_map(&pt, 2 * MiB - PAGE_SIZE, 0, 2 * PAGE_SIZE, PT_PROT_R, 1) == -ENOMEM);
	T(pt_unmapped(&pt, 2 * MiB - PAGE_SIZE) && pt_unmapped(&pt, 2 * MiB));
	T(pt.table_pages == 1 && fa.nfree == 3);
	T(pt_map(&pt, 2 * MiB, 0, 2 * MiB, PT_PROT_R, 2) == 0); /* a 2M leaf needs two */
	T(fa.nfree == 1);
	/* Splitting needs a table too. */
	T(frame_alloc(&fa, 0, &(uint64_t){ 0 }) == 0 && fa.nfree == 0);
	T(pt_unmap(&pt, 2 * MiB, PAGE_SIZE) == -ENOMEM);
	T(pt_protect(&pt, 2 * MiB, PAGE_SIZE, PT_PROT_RW) == -ENOMEM);
	T(pt_split(&pt, 2 * MiB, 2) == -ENOMEM);
	T(pt_maps(&pt, 2 * MiB + PAGE_SIZE, PAGE_SIZE, 2, PT_PROT_R));
	T(pt_unmap(&pt, 2 * MiB, 2 * MiB) == 1 && pt.table_pages == 1);
	pt_destroy(&pt);

	/* Across a 1G boundary: the second page gets a new PD, then no PT. */
	frame_init(&fa, bm, ARENA / PAGE_SIZE);
	frame_release_range(&fa, 16 * MiB, 16 * MiB + 5 * PAGE_SIZE);
	T(pt_init(&pt, &x86_pt_fmt, &fa, ALL_LEAVES) == 0 && fa.nfree == 4);
	T(pt_map(&pt, GiB - PAGE_SIZE, 0, 2 * PAGE_SIZE, PT_PROT_R, 1) == -ENOMEM);
	T(pt_unmapped(&pt, GiB - PAGE_SIZE) && pt_unmapped(&pt, GiB));
	T(pt.table_pages == 1 && fa.nfree == 4);
	T(pt_map(&pt, GiB - PAGE_SIZE, 0, PAGE_SIZE, PT_PROT_R, 1) == 0 && fa.nfree == 1);
	pt_destroy(&pt);
	T(fa.nfree == 5);
}

int main(void)
{
	arena_init(ARENA);
	RUN(test_map_lookup);
	RUN(test_map_existing);
	RUN(test_bad_args);
	RUN(test_map_best);
	RUN(test_unmap_split);
	RUN(test_unmap_frees_tables);
	RUN(test_protect);
	RUN(test_split);
	RUN(test_destroy);
	RUN(test_enomem);
	return tap_finish();
}
