/*
 * Shadow pages: the secondary MMU on a CPU without EPT/NPT (or mmu=shadow).
 * The CPU walks shadow page tables that minihv builds from the guest's own
 * 4-level tables; each table page of the guest that is shadowed gets one
 * struct shadow_page per role, keyed by (gfn, role), as KVM's struct
 * kvm_mmu_page. Pure: host-tested (tests/host/test_unsync.c).
 *
 * Unsync (seed ../shared/seeds/004_a8b0bafe251e54eb.txt): a level-1 page the
 * guest writes may be left writable and marked @unsync; each parent up to
 * the root records that in @unsync_child_bitmap / @unsync_children, and the
 * next CR3 load or INVLPG collects the unsync pages with sp_unsync_walk()
 * and syncs or zaps each one.
 */
#ifndef MINIHV_SHADOW_PAGE_H
#define MINIHV_SHADOW_PAGE_H

/* mm/mm.h: mm/'s public header (pte_t, pte_read(), X86_PTE_*; check-layers.sh). */
#include "mm/mm.h"
#include "lib/lib.h"

/* What a shadow page stands for, besides its gfn (KVM's kvm_mmu_page_role). */
union shadow_role {
	uint32_t word;
	struct {
		uint32_t level : 3;   /* 1 = it maps 4 KiB pages ... 4 = a root */
		uint32_t direct : 1;  /* maps a guest huge page, not a guest table */
		uint32_t wp : 1;      /* the guest's CR0.WP (supervisor writes obey W) */
		uint32_t access : 3;  /* SHADOW_ACC_*: the rights of the guest entries above */
		uint32_t invalid : 1; /* zapped while a vCPU held it as its root */
		uint32_t nxe : 1;     /* the guest's EFER.NXE (NX is a reserved bit without it) */
		/*
		 * The guest's paging is off: a page of the identity map (always
		 * direct); at level 3, the PAE root, whose four entries are
		 * PDPTEs (P and the address only: bits 1, 2 and 5-8 are
		 * reserved there, APM vol. 2, 5.3.3; SDM 3A table 4-8).
		 */
		uint32_t nonpaging : 1;
	};
};

/*
 * role.access: what the guest entries above a shadow page allow together
 * (W and U are ANDed, NX ORed; for a direct page the huge entry's too,
 * without W while it is not dirty). Pages of one guest table reached
 * through entries with different rights differ (KVM's role.access): a
 * leaf's rights, built from one path, then hold for every path to it.
 */
#define SHADOW_ACC_W 1u
#define SHADOW_ACC_U 2u
#define SHADOW_ACC_X 4u

struct shadow_page;

/* One parent entry that points at a shadow page: (parent, index). */
struct sp_parent {
	struct shadow_page *sp;
	unsigned index;
	struct sp_parent *next;
};

struct shadow_page {
	uint64_t gfn;                 /* the guest table's gfn (direct: first gfn mapped) */
	union shadow_role role;
	uint64_t spt_pa;              /* the table the CPU walks */
	pte_t *spt;                   /* ... as the host reaches it */
	/* The guest entry each present spt[i] was built from (sync compares). */
	uint64_t *gptes;
	/* spt[i]'s child shadow page when spt[i] is a present non-leaf entry. */
	struct shadow_page **child;
	struct sp_parent *parents;    /* every entry that links this page */
	struct shadow_page *hash_next;
	struct shadow_page *all_next; /* every page of the VM */
	unsigned root_count;          /* vCPUs that hold it as their root */
	unsigned audit_gen;           /* shadow_audit(): live in the audit of that number */
	bool unsync;                  /* level 1: the guest may have written it freely */
	unsigned unsync_children;     /* set bits of unsync_child_bitmap */
	uint64_t unsync_child_bitmap[PT_ENTRIES / 64];
};

/*
 * The page vector an unsync walk fills (KVM's kvm_mmu_pages): each page it
 * hands over with the index of the parent entry that led to it. @cap (at
 * most SP_VEC_MAX; 0 means SP_VEC_MAX) bounds it, so tests can fill it
 * at every position.
 */
#define SP_VEC_MAX 16
struct sp_vec {
	unsigned n, cap;
	struct {
		struct shadow_page *sp;
		unsigned index;
	} page[SP_VEC_MAX];
};

/*
 * Seed 004's final __mmu_unsync_walk(): collect into @vec the pages below
 * @sp that are unsync or have unsync children, clearing each child's bit in
 * its parent's bitmap once the child is in sync (a stale bit) or has been
 * added (after recursing into it). Returns the number of unsync leaves
 * added, or -ENOSPC when @vec filled before a child could be added: that
 * child's bit stays set. Either way the caller must sync or zap every page
 * of @vec, then walk again while -ENOSPC came back. mmu_lock held.
 * The caller's loop ends only if @vec holds a whole path from @sp down to a
 * leaf (level - 1 pages: 3 below a 4-level root); shorter, every walk stops
 * above the first leaf. A page linked from several parents is handed over
 * once per link (no dedup, as in the seed's code): sync it at the first.
 */
int sp_unsync_walk(struct shadow_page *sp, struct sp_vec *vec);
/*
 * Clear bit @i of @sp's bitmap, dropping @unsync_children by one (KVM's
 * clear_unsync_child_bit(): nothing above @sp changes; a parent's stale bit
 * is cleared by a later walk). WARN_ON_ONCE, and no change to the count, if
 * the bit was not set or the count was already 0.
 */
void sp_clear_unsync_child_bit(struct shadow_page *sp, unsigned i);
/*
 * @sp (level 1) becomes unsync: set its bit in each parent, and in theirs
 * while a count goes 0 -> 1, up to the roots; the parents stay in sync.
 * Idempotent: marking again counts nothing twice, and tells parents linked
 * since the last mark.
 */
void sp_mark_unsync(struct shadow_page *sp);
/*
 * Set bit @i of @parent's bitmap (the child there is unsync or has unsync
 * children), and on @parent's first such bit its own bit in its parents: a
 * new link to such a child (ept/shadow_mem.c's sp_link()).
 */
void sp_set_unsync_child_bit(struct shadow_page *parent, unsigned i);

/* A present entry of a shadow table, and whether it is a huge leaf (x86 format). */
static inline bool spte_present(pte_t e)
{
	return e & X86_PTE_P;
}

static inline bool spte_huge(pte_t e)
{
	return e & X86_PTE_PS;
}

/* The identity map's root: its entries are PAE PDPTEs (role.nonpaging says why). */
static inline bool sp_is_pae_root(const struct shadow_page *sp)
{
	return sp->role.nonpaging && sp->role.level == PT_LEVEL_1G;
}

#endif
