/*
 * Host unit tests for the EPT entry format (ept/ept_fmt.c, ept/ept_fmt.h) and the
 * generic walker (mm/pt.c) driven by it. Table pages come from a frame
 * allocator over the arena ("physical memory" 0..64M); leaf targets are never
 * touched, so they may lie anywhere.
 */
#include <stdio.h>
#include <string.h>
#include "ept/ept_fmt.h"
#include "ept/npt_fmt.h"
#include "mm/x86pt.h"
#include "mm/frame.h"
#include "lib/kerrno.h"
#include "mm/pt.h"
#include "tests/host/hostshim.h"
#include "tests/host/ptcheck.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define ARENA (64 * MiB)
#define LEAVES_4K_2M_1G 0xeu
#define WB (EPT_MT_WB << EPT_MT_SHIFT)
#define NFREE0 (ARENA / PAGE_SIZE - 1)

static struct frame_alloc fa;
static uint64_t bm[ARENA / PAGE_SIZE / 64];
static struct pt pt;

static void setup(void)
{
	frame_init(&fa, bm, ARENA / PAGE_SIZE);
	frame_release_range(&fa, PAGE_SIZE, ARENA);
	T(pt_init(&pt, &ept_fmt, &fa, LEAVES_4K_2M_1G) == 0);
	T(pt.leaf_levels == LEAVES_4K_2M_1G && pt.table_pages == 1);
}

/* A well-formed leaf: WB type, bit 7 exactly on huge levels, never W without R. */
static int leaf_ok(pte_t e, int level)
{
	return (e & (7ULL << EPT_MT_SHIFT)) == WB && !!(e & EPT_LARGE) == (level > 1) &&
	       !((e & EPT_W) && !(e & EPT_R)) && !(e & (EPT_IGNORE_PAT | EPT_ACCESSED | EPT_DIRTY));
}

static void test_constants(void)
{
	T(EPT_R == 1 && EPT_W == 2 && EPT_X == 4 && EPT_RWX == 7);
	T(WB == 0x30 && EPT_LARGE == 0x80 && EPT_IGNORE_PAT == 0x40);
	T(EPT_ACCESSED == 0x100 && EPT_DIRTY == 0x200);
	T(EPT_ADDR_MASK == 0x000ffffffffff000ULL);
	T(!strcmp(ept_fmt.name, "EPT"));
}

static void test_mk_leaf(void)
{
	/* Every protection at every level. */
	for (int level = 1; level <= 3; level++) {
		uint64_t pa = pt_level_size(level) * 5;

		for (unsigned prot = 0; prot <= PT_PROT_RWX; prot++) {
			pte_t e = ept_fmt.mk_leaf(pa, level, prot);
			uint64_t want_rwx = ((prot & PT_PROT_R) || (prot & PT_PROT_W) ? EPT_R : 0) |
					    ((prot & PT_PROT_W) ? EPT_W : 0) |
					    ((prot & PT_PROT_X) ? EPT_X : 0);

			T(leaf_ok(e, level));
			T((e & EPT_RWX) == want_rwx);
			T((e & EPT_ADDR_MASK) == pa);
			T(e == (pa | WB | want_rwx | (level > 1 ? EPT_LARGE : 0)));
			T(pt_addr(&ept_fmt, e, level) == pa);
			T(pt_huge(&ept_fmt, e) == (level > 1));
			T(pt_present(&ept_fmt, e) == (prot != 0));
			/* prot() round trip; W alone comes back as RW. */
			T(ept_fmt.prot(e) == ((prot & PT_PROT_W) ? prot | PT_PROT_R : prot));
		}
	}
	/* Exact encodings. */
	T(ept_fmt.mk_leaf(0x5000, 1, PT_PROT_RWX) == 0x5037);
	T(ept_fmt.mk_leaf(0x200000, 2, PT_PROT_R) == 0x2000b1);
	T(ept_fmt.mk_leaf(0x40000000, 3, PT_PROT_W) == 0x400000b3);
	T(ept_fmt.mk_leaf(0x7000, 1, PT_PROT_X) == 0x7034); /* execute-only is legal */
	T(ept_fmt.mk_leaf(0xfffffffff000ULL, 1, PT_PROT_R) == 0xfffffffff031ULL);
}

static void test_table_and_present(void)
{
	pte_t t = ept_fmt.mk_table(0x123000);

	T(t == (0x123000 | EPT_RWX));
	T(pt_present(&ept_fmt, t) && !pt_huge(&ept_fmt, t) && !(t & (7ULL << EPT_MT_SHIFT)));
	/* A table entry's address is never masked to the level. */
	for (int level = 1; level <= 4; level++)
		T(pt_addr(&ept_fmt, t, level) == 0x123000);
	T(ept_fmt.prot(t) == PT_PROT_RWX);

	T(!pt_present(&ept_fmt, 0));
	T(!pt_present(&ept_fmt, 0x5000 | WB | EPT_LARGE | EPT_ACCESSED | EPT_DIRTY));
	T(pt_present(&ept_fmt, EPT_R) && pt_present(&ept_fmt, EPT_W) && pt_present(&ept_fmt, EPT_X));
	T(ept_fmt.prot(0) == 0 && ept_fmt.prot(EPT_X) == PT_PROT_X);
	T(ept_fmt.prot(EPT_W) == PT_PROT_W); /* prot() reports what is there */
}

static void test_addr_mask(void)
{
	/* Bits under the page size of a huge leaf are not address bits. */
	pte_t e2 = 0x200000 | 0x1ff000 | EPT_LARGE | EPT_R | WB;
	pte_t e3 = 0xc0000000 | 0x3ffff000 | EPT_LARGE | EPT_R | WB;

	T(pt_addr(&ept_fmt, e2, 2) == 0x200000);
	T(pt_addr(&ept_fmt, e2, 1) == 0x3ff000); /* at level 1 bit 7 means nothing */
	T(pt_addr(&ept_fmt, e3, 3) == 0xc0000000);
	T(pt_addr(&ept_fmt, e3, 2) == 0xc0000000 + 0x3fe00000);
	/* Without bit 7 (a table), nothing is masked but the flags. */
	T(pt_addr(&ept_fmt, e2 & ~EPT_LARGE, 2) == 0x3ff000);
	/* Bits above 51 (e.g. suppress-#VE, bit 63) are not address bits. */
	T(pt_addr(&ept_fmt, (1ULL << 63) | (1ULL << 52) | 0x5000 | EPT_R, 1) == 0x5000);
	T(pt_addr(&ept_fmt, (1ULL << 63) | 0x40000000 | EPT_LARGE | EPT_R, 3) == 0x40000000);
}

static void test_pointer_misconfig(void)
{
	T(ept_pointer(0x123000, false) == (0x123000 | 6 | (3 << 3)));
	T(ept_pointer(0x123000, false) == 0x12301e);
	T(ept_pointer(0x123000, true) == 0x12305e);
	T(!(ept_pointer(0x5000, false) & EPTP_AD) && (ept_pointer(0x5000, true) & EPTP_AD));
	T((ept_pointer(0x5000, true) & 7) == 6 && ((ept_pointer(0x5000, true) >> 3) & 7) == 3);
	T((ept_pointer(0xfffffffff000ULL, true) & EPT_ADDR_MASK) == 0xfffffffff000ULL);

	for (unsigned prot = 0; prot <= PT_PROT_RWX; prot++) {
		pte_t good = ept_fmt.mk_leaf(0x9000, 1, prot);
		pte_t bad = ept_misconfigured_entry(good);

		T((bad & EPT_W) && !(bad & EPT_R));
		T((bad & ~(EPT_R | EPT_W)) == (good & ~(EPT_R | EPT_W))); /* the rest is kept */
		T(pt_present(&ept_fmt, bad) && pt_addr(&ept_fmt, bad, 1) == 0x9000);
	}
	/* mk_leaf can never produce what the helper plants. */
	for (int level = 1; level <= 3; level++)
		for (unsigned prot = 0; prot <= PT_PROT_RWX; prot++) {
			pte_t e = ept_fmt.mk_leaf(0, level, prot);
			T(!((e & EPT_W) && !(e & EPT_R)));
		}
}

static void test_walk_map_lookup(void)
{
	struct pt_walk w;

	setup();
	T(pt_map(&pt, 0x1000, 0x5000, PAGE_SIZE, PT_PROT_RW, 1) == 0 && pt.table_pages == 4);
	T(pt_maps(&pt, 0x1000, 0x5000, 1, PT_PROT_RW) && pt_maps(&pt, 0x1abc, 0x5abc, 1, PT_PROT_RW));
	T(pt_unmapped(&pt, 0) && pt_unmapped(&pt, 0x2000));
	T(pt_map(&pt, 0xa00000, 0x1200000, 2 * MiB, PT_PROT_RWX, 2) == 0 && pt.table_pages == 4);
	T(pt_maps(&pt, 0xa12345, 0x1212345, 2, PT_PROT_RWX) && pt_maps(&pt, 0xbfffff, 0x13fffff, 2, PT_PROT_RWX));
	T(pt_unmapped(&pt, 0xc00000) && pt_unmapped(&pt, 0x9fffff));
	T(pt_map(&pt, 512 * GiB, GiB, GiB, PT_PROT_R | PT_PROT_X, 3) == 0 && pt.table_pages == 5);
	T(pt_maps(&pt, 512 * GiB + 0x12345678, GiB + 0x12345678, 3, PT_PROT_R | PT_PROT_X));
	T(pt_unmapped(&pt, 513 * GiB));
	/* Write-only asked for: mapped readable too. */
	T(pt_map(&pt, 0x3000, 0x8000, PAGE_SIZE, PT_PROT_W, 1) == 0);
	T(pt_maps(&pt, 0x3000, 0x8000, 1, PT_PROT_RW));
	T(fa.nfree == NFREE0 - pt.table_pages);

	/* The raw entries the walk read. */
	T(pt_lookup(&pt, 0x1234, &w) == 0 && w.depth == 1);
	T(w.entries[1] == (0x5000 | WB | EPT_R | EPT_W));
	for (int l = 2; l <= 4; l++)
		T((w.entries[l] & 0xfff) == EPT_RWX && w.entries[l] & EPT_ADDR_MASK);
	T(pt_lookup(&pt, 0xa00000, &w) == 0 && w.depth == 2);
	T(w.entries[2] == (0x1200000 | WB | EPT_LARGE | EPT_RWX) && leaf_ok(w.entries[2], 2));
	T(pt_lookup(&pt, 512 * GiB, &w) == 0 && w.depth == 3);
	T(w.entries[3] == (GiB | WB | EPT_LARGE | EPT_R | EPT_X) && leaf_ok(w.entries[3], 3));
	T(pt_lookup(&pt, 1024 * GiB, &w) == -ENOENT && w.depth == 4 && w.entries[4] == 0);
	T(pt_lookup(&pt, 0x4000, &w) == -ENOENT && w.depth == 1);

	/* Occupied: refused, nothing changes. */
	unsigned long tables = pt.table_pages;
	T(pt_map(&pt, 0xa01000, 0, PAGE_SIZE, PT_PROT_R, 1) == -EEXIST);
	T(pt_map(&pt, 512 * GiB + 2 * MiB, 0, 2 * MiB, PT_PROT_R, 2) == -EEXIST);
	T(pt_map(&pt, 0, 0, 2 * MiB, PT_PROT_R, 2) == -EEXIST);
	T(pt.table_pages == tables && pt_maps(&pt, 0xa01000, 0x1201000, 2, PT_PROT_RWX));
	pt_destroy(&pt);
	T(fa.nfree == NFREE0 && pt.table_pages == 0);
}

static void test_walk_leaf_levels(void)
{
	struct pt small;

	frame_init(&fa, bm, ARENA / PAGE_SIZE);
	frame_release_range(&fa, PAGE_SIZE, ARENA);
	/* 4K and 2M only, as on a CPU without 1 GiB EPT pages. */
	T(pt_init(&small, &ept_fmt, &fa, 0x6) == 0 && small.leaf_levels == 0x6);
	T(pt_map(&small, GiB, 0, GiB, PT_PROT_R, 3) == -EINVAL);
	T(pt_map_best(&small, GiB, 0, GiB + 4 * KiB, PT_PROT_RW) == 0);
	T(pt_mapping_level(&small, GiB) == 2 && pt_mapping_level(&small, 2 * GiB - 1) == 2);
	T(pt_mapping_level(&small, 2 * GiB) == 1);
	T(pt_unmap(&small, GiB, GiB + 4 * KiB) == 512 + 1);
	pt_destroy(&small);
	T(fa.nfree == NFREE0);
}

static void test_walk_unmap(void)
{
	setup();
	T(pt_map(&pt, 0, 0, 64 * PAGE_SIZE, PT_PROT_R, 1) == 0);           /* 64 */
	T(pt_map(&pt, 6 * MiB, 0, 8 * MiB, PT_PROT_RW, 2) == 0);           /* 4 */
	T(pt_map(&pt, 3 * GiB, 0, 2 * GiB, PT_PROT_RWX, 3) == 0);          /* 2 */
	T(pt_map_best(&pt, 200 * GiB, 0, GiB + 2 * MiB + 4 * KiB, PT_PROT_R) == 0); /* 3 */
	T(pt_mapping_level(&pt, 200 * GiB) == 3 && pt_mapping_level(&pt, 201 * GiB) == 2);
	/* Two pages out of a 2M leaf: split into 512, two go, 510 stay. */
	T(pt_unmap(&pt, 8 * MiB + 4 * KiB, 8 * KiB) == 2);
	T(pt_maps(&pt, 8 * MiB, 0x200000, 1, PT_PROT_RW) && pt_unmapped(&pt, 8 * MiB + 4 * KiB));
	T(pt_unmapped(&pt, 8 * MiB + 8 * KiB) && pt_maps(&pt, 8 * MiB + 12 * KiB, 0x203000, 1, PT_PROT_RW));
	/* One page out of a 1G leaf: 1G -> 2M -> 4K. */
	T(pt_unmap(&pt, 3 * GiB + 2 * MiB, PAGE_SIZE) == 1);
	T(pt_maps(&pt, 3 * GiB, 0, 2, PT_PROT_RWX) && pt_maps(&pt, 3 * GiB + 2 * MiB + 4 * KiB, 2 * MiB + 4 * KiB, 1, PT_PROT_RWX));
	T(pt_maps(&pt, 4 * GiB, GiB, 3, PT_PROT_RWX));
	/* Whole leaves inside the range go without a split. */
	unsigned long tables = pt.table_pages;
	T(pt_unmap(&pt, 10 * MiB, 4 * MiB) == 2 && pt.table_pages == tables);
	T(pt_unmapped(&pt, 10 * MiB) && pt_unmapped(&pt, 14 * MiB - 1) && pt_maps(&pt, 6 * MiB, 0, 2, PT_PROT_RW));
	long left = 64 + 1 + 510 + (511 + 511) + 1 + 3;
	T(pt_unmap(&pt, 0, 1ULL << 48) == left);
	T(pt.table_pages == 1 && fa.nfree == NFREE0 - 1);
	T(pt_unmap(&pt, 0, 1ULL << 48) == 0);
	pt_destroy(&pt);
	T(fa.nfree == NFREE0);
}

static void test_walk_split_protect(void)
{
	struct pt_walk w;

	setup();
	T(pt_map(&pt, GiB, 4 * GiB, GiB, PT_PROT_RWX, 3) == 0);
	T(pt_split(&pt, GiB + 0x123456, 3) == 0);
	/* The 512 new leaves are 2M leaves: bit 7 set, WB, same rights. */
	for (uint64_t off = 0; off < GiB; off += 2 * MiB) {
		if (pt_lookup(&pt, GiB + off, &w) || w.level != 2 || w.pa != 4 * GiB + off ||
		    !leaf_ok(w.entries[2], 2) || (w.entries[2] & EPT_RWX) != EPT_RWX ||
		    w.entries[3] != ept_fmt.mk_table(w.entries[3] & EPT_ADDR_MASK)) {
			T(!"2M leaf after a 1G split");
			break;
		}
	}
	T(pt_split(&pt, GiB + 6 * MiB, 2) == 0);
	/* Their 4K children have no bit 7. */
	for (uint64_t off = 0; off < 2 * MiB; off += PAGE_SIZE) {
		if (pt_lookup(&pt, GiB + 6 * MiB + off, &w) || w.level != 1 ||
		    w.pa != 4 * GiB + 6 * MiB + off || !leaf_ok(w.entries[1], 1) ||
		    (w.entries[1] & EPT_LARGE) || w.prot != PT_PROT_RWX) {
			T(!"4K leaf after a 2M split");
			break;
		}
	}
	T(pt_mapping_level(&pt, GiB + 4 * MiB) == 2 && pt_mapping_level(&pt, GiB + 8 * MiB) == 2);
	T(pt_split(&pt, GiB + 6 * MiB, 2) == -EINVAL && pt_split(&pt, 8 * GiB, 3) == -ENOENT);

	/* Protect across a 2M leaf and into the 4K ones: rights change, bit 7 stays. */
	T(pt_protect(&pt, GiB + 4 * MiB, 2 * MiB + PAGE_SIZE, PT_PROT_R) == 2);
	T(pt_lookup(&pt, GiB + 4 * MiB, &w) == 0 && w.level == 2 && w.prot == PT_PROT_R);
	T(w.entries[2] == ((4 * GiB + 4 * MiB) | WB | EPT_LARGE | EPT_R));
	T(pt_lookup(&pt, GiB + 6 * MiB, &w) == 0 && w.level == 1);
	T(w.entries[1] == ((4 * GiB + 6 * MiB) | WB | EPT_R));
	T(pt_maps(&pt, GiB + 6 * MiB + PAGE_SIZE, 4 * GiB + 6 * MiB + PAGE_SIZE, 1, PT_PROT_RWX));
	/* W alone becomes RW, never a misconfiguration. */
	T(pt_protect(&pt, GiB + 6 * MiB, PAGE_SIZE, PT_PROT_W) == 1);
	T(pt_lookup(&pt, GiB + 6 * MiB, &w) == 0 && (w.entries[1] & EPT_RWX) == (EPT_R | EPT_W));
	T(pt_protect(&pt, GiB + 6 * MiB, PAGE_SIZE, PT_PROT_X) == 1);
	T(pt_maps(&pt, GiB + 6 * MiB, 4 * GiB + 6 * MiB, 1, PT_PROT_X)); /* execute-only stays present */
	pt_destroy(&pt);
	T(fa.nfree == NFREE0);
}

/* NPT (ept/npt_fmt.c): x86 entries with U on every level, A for aging. */
static void test_npt_format(void)
{
	T(!strcmp(npt_fmt.name, "NPT") && npt_fmt.accessed_mask == X86_PTE_A);
	T(ept_fmt.accessed_mask == EPT_ACCESSED);
	pte_t t = npt_fmt.mk_table(0x123000);

	T(t == (0x123000 | X86_PTE_P | X86_PTE_W | X86_PTE_U));
	for (int level = 1; level <= 3; level++) {
		uint64_t pa = pt_level_size(level) * 3;

		for (unsigned prot = PT_PROT_R; prot <= PT_PROT_RWX; prot++) {
			pte_t e = npt_fmt.mk_leaf(pa, level, prot | PT_PROT_R);

			T((e & (X86_PTE_P | X86_PTE_U)) == (X86_PTE_P | X86_PTE_U));
			T(!!(e & X86_PTE_W) == !!(prot & PT_PROT_W));
			T(pt_huge(&npt_fmt, e) == (level > 1) && pt_addr(&npt_fmt, e, level) == pa);
			T((npt_fmt.prot(e) & PT_PROT_RW) == ((prot | PT_PROT_R) & PT_PROT_RW));
			T(!(e & X86_PTE_NUMA)); /* NUMA hints never reach a guest's tables */
		}
	}
	T(!pt_present(&npt_fmt, 0) && !pt_present(&npt_fmt, X86_PTE_W | X86_PTE_U));
}

int main(void)
{
	arena_init(ARENA);
	RUN(test_constants);
	RUN(test_mk_leaf);
	RUN(test_table_and_present);
	RUN(test_npt_format);
	RUN(test_addr_mask);
	RUN(test_pointer_misconfig);
	RUN(test_walk_map_lookup);
	RUN(test_walk_leaf_levels);
	RUN(test_walk_unmap);
	RUN(test_walk_split_protect);
	return tap_finish();
}
