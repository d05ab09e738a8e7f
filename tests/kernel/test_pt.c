/* The generic walker on a private table, then on the live host page tables. */
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "mm/hostpt.h"
#include "lib/kerrno.h"
#include "lib/ktest.h"
#include "mm/x86pt.h"

#define SZ_4K (1ULL << 12)
#define SZ_2M (1ULL << 21)
#define SZ_1G (1ULL << 30)

/* Private tables: translations only, nothing is accessed through them. */
KTEST(pt_map_levels)
{
	struct pt pt;
	struct pt_walk w;
	uint64_t free0 = phys_frames.nfree;

	if (!CHECK_EQ(pt_init(&pt, &x86_pt_fmt, &phys_frames, 0xe), 0))
		return;
	CHECK_EQ(pt_map(&pt, 0x40000000000ULL, 0x200000000ULL, SZ_1G, PT_PROT_RW, PT_LEVEL_1G), 0);
	CHECK_EQ(pt_map(&pt, 0x40080000000ULL, 0x300000000ULL, SZ_2M * 2, PT_PROT_R, PT_LEVEL_2M), 0);
	CHECK_EQ(pt_map(&pt, 0x400c0000000ULL, 0x5000, SZ_4K * 3, PT_PROT_RWX, PT_LEVEL_4K), 0);

	CHECK_EQ(pt_mapping_level(&pt, 0x40000000000ULL + 0x12345), PT_LEVEL_1G);
	CHECK_EQ(pt_mapping_level(&pt, 0x40080000000ULL + SZ_2M + 8), PT_LEVEL_2M);
	CHECK_EQ(pt_mapping_level(&pt, 0x400c0000000ULL + 2 * SZ_4K), PT_LEVEL_4K);
	CHECK_EQ(pt_mapping_level(&pt, 0x400c0000000ULL + 3 * SZ_4K), 0);
	CHECK_EQ(pt_lookup(&pt, 0x40000000000ULL + 0x12345, &w), 0);
	CHECK_EQ(w.pa, 0x200000000ULL + 0x12345);
	CHECK_EQ(w.prot & PT_PROT_W, PT_PROT_W);
	CHECK_EQ(pt_lookup(&pt, 0x40080000000ULL + SZ_2M + 8, &w), 0);
	CHECK_EQ(w.pa, 0x300000000ULL + SZ_2M + 8);
	CHECK_EQ(w.prot & PT_PROT_W, 0);
	/* Overlap is refused and changes nothing. */
	CHECK_EQ(pt_map(&pt, 0x400c0000000ULL, 0x9000, SZ_4K, PT_PROT_R, PT_LEVEL_4K), -EEXIST);
	CHECK_EQ(pt_lookup(&pt, 0x400c0000000ULL, &w), 0);
	CHECK_EQ(w.pa, 0x5000);
	CHECK_EQ(pt_map(&pt, 0x40000001000ULL, 0, SZ_2M, PT_PROT_R, PT_LEVEL_2M), -EINVAL);

	pt_destroy(&pt);
	CHECK_EQ(phys_frames.nfree, free0);
}

KTEST(pt_unmap_protect_split)
{
	struct pt pt;
	struct pt_walk w;
	uint64_t va = 0x50000000000ULL, pa = 0x40000000ULL;

	if (!CHECK_EQ(pt_init(&pt, &x86_pt_fmt, &phys_frames, 0xe), 0))
		return;
	CHECK_EQ(pt_map(&pt, va, pa, SZ_1G, PT_PROT_RW, PT_LEVEL_1G), 0);
	/* Split 1G -> 2M -> 4K: every translation stays the same. */
	CHECK_EQ(pt_split(&pt, va, PT_LEVEL_1G), 0);
	CHECK_EQ(pt_mapping_level(&pt, va + 5 * SZ_2M), PT_LEVEL_2M);
	CHECK_EQ(pt_split(&pt, va + 5 * SZ_2M, PT_LEVEL_2M), 0);
	for (uint64_t off = 0; off < SZ_1G; off += SZ_2M / 2 + SZ_4K * 3) {
		if (!CHECK_EQ(pt_lookup(&pt, va + off, &w), 0))
			break;
		CHECK_EQ(w.pa, pa + off);
	}
	CHECK_EQ(pt_mapping_level(&pt, va + 5 * SZ_2M + SZ_4K), PT_LEVEL_4K);
	CHECK_EQ(pt_split(&pt, va + 5 * SZ_2M, PT_LEVEL_2M), -EINVAL); /* already a table */

	/* Unmap a 4K hole inside a 2M leaf: the leaf is split, neighbours remain. */
	CHECK_EQ(pt_unmap(&pt, va + 7 * SZ_2M + SZ_4K, SZ_4K), 1);
	CHECK_EQ(pt_mapping_level(&pt, va + 7 * SZ_2M + SZ_4K), 0);
	CHECK_EQ(pt_mapping_level(&pt, va + 7 * SZ_2M), PT_LEVEL_4K);
	CHECK_EQ(pt_lookup(&pt, va + 7 * SZ_2M + 2 * SZ_4K, &w), 0);
	CHECK_EQ(w.pa, pa + 7 * SZ_2M + 2 * SZ_4K);

	/* Protect a range that cuts through 2M leaves: only the range changes. */
	CHECK(pt_protect(&pt, va + 9 * SZ_2M - SZ_4K, 2 * SZ_4K, PT_PROT_R) == 2);
	CHECK_EQ(pt_lookup(&pt, va + 9 * SZ_2M - SZ_4K, &w), 0);
	CHECK_EQ(w.prot & PT_PROT_W, 0);
	CHECK_EQ(pt_lookup(&pt, va + 9 * SZ_2M + SZ_4K, &w), 0);
	CHECK_EQ(w.prot & PT_PROT_W, PT_PROT_W);

	unsigned long tables = pt.table_pages;
	CHECK(pt_unmap(&pt, va, SZ_1G) > 0);
	CHECK_EQ(pt_mapping_level(&pt, va + SZ_2M), 0);
	CHECK(pt.table_pages < tables, "unmap freed no tables");
	CHECK_EQ(pt.table_pages, 1); /* only the root is left */
	pt_destroy(&pt);
}

/* The live host tables: write through a new mapping, fault after unmap. */
KTEST(pt_live_host_mapping)
{
	uint64_t frame, v, va = HOST_DYN_BASE + 0x12345000ULL;
	volatile uint64_t *p = (volatile uint64_t *)va;
	volatile uint64_t *direct;

	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &frame), 0))
		return;
	direct = (volatile uint64_t *)frame;
	*direct = 0;
	CHECK_EQ(probe_read64(p, &v), X86_EXC_PF); /* not mapped yet */
	CHECK_EQ(host_map(va, frame, SZ_4K, PT_PROT_RW, PT_LEVEL_4K), 0);
	CHECK_EQ(host_mapping_level(va), PT_LEVEL_4K);
	*p = 0x1122334455667788ULL;
	CHECK_EQ(*direct, 0x1122334455667788ULL);

	CHECK_EQ(host_protect(va, SZ_4K, PT_PROT_R), 1);
	CHECK_EQ(probe_write64(p, 1), X86_EXC_PF);
	CHECK_EQ(probe_read64(p, &v), -1);
	CHECK_EQ(v, 0x1122334455667788ULL);
	CHECK_EQ(host_protect(va, SZ_4K, PT_PROT_RW), 1);
	CHECK_EQ(probe_write64(p, 2), -1);
	CHECK_EQ(*direct, 2);

	CHECK_EQ(host_unmap(va, SZ_4K), 1);
	CHECK_EQ(probe_read64(p, &v), X86_EXC_PF);
	CHECK_EQ(host_mapping_level(va), 0);
	CHECK_EQ(host_map(0x1000, frame, SZ_4K, PT_PROT_RW, PT_LEVEL_4K), -EINVAL); /* direct map */
	frame_free(&phys_frames, frame, FRAME_ORDER_4K);
}

KTEST(pt_live_split_2m)
{
	uint64_t run, va = HOST_DYN_BASE + 0x40000000ULL;
	volatile uint64_t *p = (volatile uint64_t *)va;

	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_2M, &run), 0))
		return;
	CHECK_EQ(host_map(va, run, SZ_2M, PT_PROT_RW, PT_LEVEL_2M), 0);
	CHECK_EQ(host_mapping_level(va + SZ_4K * 100), PT_LEVEL_2M);
	for (int i = 0; i < 512; i++)
		p[i * 512] = (uint64_t)i * 3;
	CHECK_EQ(host_split(va, PT_LEVEL_2M), 0);
	CHECK_EQ(host_mapping_level(va + SZ_4K * 100), PT_LEVEL_4K);
	for (int i = 0; i < 512; i++)
		if (!CHECK_EQ(p[i * 512], (uint64_t)i * 3))
			break;
	CHECK_EQ(host_unmap(va, SZ_2M), 512);
	frame_free(&phys_frames, run, FRAME_ORDER_2M);
}

KTEST(pt_live_1g)
{
	uint64_t run, v, va = HOST_DYN_BASE + 0x80000000ULL;

	if (!(host_leaf_levels() & (1u << PT_LEVEL_1G))) {
		ktest_skip("CPU has no 1 GiB pages (CPUID.80000001H:EDX.PDPE1GB clear)");
		return;
	}
	if (frame_alloc(&phys_frames, FRAME_ORDER_1G, &run)) {
		ktest_skip("no free 1 GiB run of RAM");
		return;
	}
	CHECK_EQ(host_map(va, run, SZ_1G, PT_PROT_RW, PT_LEVEL_1G), 0);
	CHECK_EQ(host_mapping_level(va + SZ_1G - 8), PT_LEVEL_1G);
	*(volatile uint64_t *)(va + SZ_1G - 8) = 0xabcdef;
	CHECK_EQ(*(volatile uint64_t *)(run + SZ_1G - 8), 0xabcdef);
	CHECK_EQ(host_split(va, PT_LEVEL_1G), 0);
	CHECK_EQ(host_mapping_level(va + SZ_1G - 8), PT_LEVEL_2M);
	CHECK_EQ(probe_read64((void *)(va + SZ_1G - 8), &v), -1);
	CHECK_EQ(v, 0xabcdef);
	CHECK_EQ(host_unmap(va, SZ_1G), 512);
	frame_free(&phys_frames, run, FRAME_ORDER_1G);
}
