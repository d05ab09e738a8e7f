/*
 * One 4-level page-table walker for every radix-tree format minihv builds:
 * the host page tables (mm/hostpt.c, the primary MMU) and EPT (ept/ept_fmt.c,
 * the secondary MMU). A format supplies its entry encoding through struct pt_fmt;
 * the walker owns the tree shape: allocation, splitting, freeing.
 * Pure: table pages come from a struct frame_alloc and are reached through
 * phys_to_virt(), so the walker is host-tested.
 *
 * Levels count from the leaf: 1 = 4 KiB (PT), 2 = 2 MiB (PD), 3 = 1 GiB (PDPT),
 * 4 = PML4. Ranges are half-open [va, va + size).
 */
#ifndef MINIHV_PT_H
#define MINIHV_PT_H

#include "mm/frame.h"
#include "arch/x86/arch.h"

typedef uint64_t pte_t;

#define PT_LEVEL_4K 1
#define PT_LEVEL_2M 2
#define PT_LEVEL_1G 3
#define PT_LEVELS 4
#define PT_ENTRIES 512
#define PT_VA_BITS 48

/* Format-independent protection; a format maps it onto its own bits. */
#define PT_PROT_R 1u
#define PT_PROT_W 2u
#define PT_PROT_X 4u
#define PT_PROT_RW (PT_PROT_R | PT_PROT_W)
#define PT_PROT_RWX (PT_PROT_R | PT_PROT_W | PT_PROT_X)
/*
 * Not an access right: a NUMA hint is pending on the page (mm_protect_numa).
 * Host formats keep it in a bit the CPU ignores; the host's own accesses are
 * not hinted, only a secondary MMU's, which must take the hint fault first.
 */
#define PT_PROT_NUMA 8u

static inline unsigned pt_level_shift(int level)
{
	return PAGE_SHIFT + 9u * (unsigned)(level - 1);
}

static inline uint64_t pt_level_size(int level)
{
	return 1ULL << pt_level_shift(level);
}

static inline unsigned pt_index(uint64_t va, int level)
{
	return (unsigned)(va >> pt_level_shift(level)) & (PT_ENTRIES - 1);
}

/*
 * The address an entry of @level points to, from its address bits @a: a
 * huge leaf's is aligned to its size, its low bits there being flags (on
 * x86, bit 12 of a huge leaf is PAT).
 */
static inline uint64_t pt_entry_addr(uint64_t a, int level, bool huge)
{
	return (level > PT_LEVEL_4K && huge) ? a & ~(pt_level_size(level) - 1) : a;
}

static inline const char *pt_level_name(int level)
{
	static const char *const names[] = { "none", "4K", "2M", "1G", "512G" };

	return level >= 0 && level <= PT_LEVELS ? names[level] : "?";
}

struct pt_fmt {
	const char *name;
	uint64_t present_mask;  /* any of these bits set: the entry is present */
	uint64_t huge_mask;     /* set in a present entry at level > 1: a page, not a table */
	uint64_t addr_mask;     /* the address bits of an entry */
	uint64_t accessed_mask; /* set by the CPU in a leaf it used (0: no such bit) */
	unsigned (*prot)(pte_t e);
	pte_t (*mk_table)(uint64_t pa);
	pte_t (*mk_leaf)(uint64_t pa, int level, unsigned prot);
};

static inline bool pt_present(const struct pt_fmt *f, pte_t e)
{
	return e & f->present_mask;
}

static inline bool pt_huge(const struct pt_fmt *f, pte_t e)
{
	return e & f->huge_mask;
}

/* Physical address of the table or page the entry points to. */
static inline uint64_t pt_addr(const struct pt_fmt *f, pte_t e, int level)
{
	return pt_entry_addr(e & f->addr_mask, level, pt_huge(f, e));
}

struct pt {
	const struct pt_fmt *fmt;
	struct frame_alloc *fa;
	uint64_t root;          /* physical address of the level-4 table */
	unsigned leaf_levels;   /* bit L set: level L may hold a leaf (bit 1 always) */
	unsigned long table_pages; /* allocated, including those waiting in @deferred */
	/*
	 * With @defer_frees, table pages the walker drops wait on @deferred
	 * (a chain through their entry 0) until pt_free_deferred(), which the
	 * owner calls after the flush that makes every CPU forget them
	 * (../shared/DESIGN.md, "Freeing order"). EPT sets it.
	 */
	bool defer_frees;
	uint64_t deferred;
};

/* What a walk found for one address. */
struct pt_walk {
	int level;          /* level of the leaf, 0 if not mapped */
	uint64_t pa;        /* physical address of the byte at va */
	unsigned prot;
	pte_t entries[PT_LEVELS + 1]; /* entries[L] as read at level L (read once) */
	int depth;          /* lowest level read */
};

int pt_init(struct pt *pt, const struct pt_fmt *fmt, struct frame_alloc *fa,
	    unsigned leaf_levels);
/* Frees every table page (not the pages the leaves point to); the caller has flushed. */
void pt_destroy(struct pt *pt);
/* Free the table pages that wait for a flush (@defer_frees); call after the flush. */
void pt_free_deferred(struct pt *pt);
/*
 * The same in two steps, for tables changed by several CPUs at once (the
 * host's, mm/mm.c): take the pages waiting now, flush, then free exactly
 * those; pages another CPU defers during the flush wait for the next one.
 * pt_deferred_take() and pt_deferred_free() need whatever lock serialises
 * the table's changes.
 */
uint64_t pt_deferred_take(struct pt *pt);
void pt_deferred_free(struct pt *pt, uint64_t chain);

/*
 * One entry of a live table, read or written whole. Release/acquire rather
 * than relaxed: a table or page is filled before the entry that links it
 * is stored, and a lockless walker that loads the entry must see it filled
 * (x86 orders this by itself; the C memory model, and ThreadSanitizer,
 * need it said).
 */
static inline pte_t pte_read(const pte_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pte_write(pte_t *p, pte_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/*
 * Map [va, va + size) to [pa, pa + size) with leaves of @level. va, pa and
 * size must be aligned to the level; -EEXIST if anything is already mapped
 * there (nothing is changed then), -ENOMEM if tables run out.
 */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level);
/* Same, choosing the largest allowed level that alignment permits per chunk. */
int pt_map_best(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned prot);
/*
 * pt_map() of one 4 KiB leaf (va and pa page-aligned, 4K leaves allowed)
 * where every table above it exists, in one walk: 0 once mapped, -EEXIST
 * if something is mapped there, -EAGAIN when pt_map() must do it (a table
 * to build, a huge leaf on the way). The fault path's install (issue 22).
 */
int pt_map_4k(struct pt *pt, uint64_t va, uint64_t pa, unsigned prot);
/*
 * Remove every mapping in the range, splitting huge leaves that straddle its
 * edges and freeing tables left empty. Returns the number of present leaves
 * removed (>= 0) or -ENOMEM if a split could not allocate.
 */
long pt_unmap(struct pt *pt, uint64_t va, uint64_t size);
/* Set @prot on every mapping in the range; returns leaves changed or -errno. */
long pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned prot);
/* Split the leaf of @level that maps @va into 512 leaves of level - 1. */
int pt_split(struct pt *pt, uint64_t va, int level);
/* Walk for @va reading each entry once; returns 0 or -ENOENT. */
int pt_lookup(const struct pt *pt, uint64_t va, struct pt_walk *w);
/*
 * pt_lookup() for a caller that wants only the leaf: @w's level, pa and
 * prot (not its entries or depth), each entry read once as there. The
 * second-level fault's host walk (issue 22).
 */
int pt_lookup_leaf(const struct pt *pt, uint64_t va, struct pt_walk *w);
/*
 * Clear every present leaf that overlaps [va, va + size), whole (a huge leaf
 * that straddles an edge goes entirely: nothing is split, nothing
 * allocated). With @keep_prot != 0, leaves whose protection is within
 * @keep_prot stay. Returns the number of leaves cleared. Tables stay.
 */
long pt_zap(struct pt *pt, uint64_t va, uint64_t size, unsigned keep_prot);
/* Call @fn for each present leaf overlapping [va, va + size); stops when fn returns false. */
void pt_for_each_leaf(struct pt *pt, uint64_t va, uint64_t size,
		      bool (*fn)(void *ctx, uint64_t leaf_va, int level, pte_t *entry), void *ctx);
/* Pointer to the leaf entry mapping @va and its level; NULL if not mapped. */
pte_t *pt_find_leaf(const struct pt *pt, uint64_t va, int *level);
/* Level of the mapping of @va, 0 if none. */
int pt_mapping_level(const struct pt *pt, uint64_t va);

#endif
