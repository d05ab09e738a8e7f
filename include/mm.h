/*
 * The primary MMU: a set of page tables plus the notifiers that secondary
 * MMUs (EPT, gfn-to-pfn caches) subscribe to. Every change to a live mapping
 * goes through the mm_* operations below, which bracket it with
 * invalidate_range_start() before the page-table change and
 * invalidate_range_end() after it (and after the TLB flush), as Linux's
 * mmu_notifier does. Pure: the host unit tests drive the same code.
 */
#ifndef MINIHV_MM_H
#define MINIHV_MM_H

#include "pt.h"

enum mmu_event {
	MMU_EV_UNMAP,         /* mapping removed */
	MMU_EV_PROTECT,       /* protection changed (range.prot is the new one) */
	MMU_EV_PROTECT_NUMA,  /* protection removed to catch accesses (NUMA hinting) */
	MMU_EV_MIGRATE,       /* page moved to another frame */
	MMU_EV_COLLAPSE,      /* small pages replaced by one huge page */
	MMU_EV_SPLIT,         /* huge page replaced by small pages, same frames */
};

struct mmu_range {
	uint64_t start, end; /* host-virtual [start, end) */
	enum mmu_event event;
	unsigned prot;       /* MMU_EV_PROTECT: the new protection */
};

struct mmu_notifier;

struct mmu_notifier_ops {
	void (*invalidate_range_start)(struct mmu_notifier *mn, const struct mmu_range *r);
	void (*invalidate_range_end)(struct mmu_notifier *mn, const struct mmu_range *r);
	/* Page aging: was [start, end) accessed through this secondary MMU? */
	bool (*clear_young)(struct mmu_notifier *mn, uint64_t start, uint64_t end);
	bool (*test_young)(struct mmu_notifier *mn, uint64_t start, uint64_t end);
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct mmu_notifier *next;
};

struct mm {
	struct pt pt;
	struct mmu_notifier *notifiers;
	/* Flush this CPU's TLB for a range (the kernel's invlpg; no-op on the host). */
	void (*flush_tlb)(uint64_t va, uint64_t size);
	uint64_t dyn_base;   /* mm_* operations refuse addresses below this */
};

const char *mmu_event_name(enum mmu_event ev);

void mmu_notifier_register(struct mm *mm, struct mmu_notifier *mn);
void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *mn);

/* A new mapping where there was none: nothing can be stale, no notification. */
int mm_map(struct mm *mm, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level);
long mm_unmap(struct mm *mm, uint64_t va, uint64_t size);
/* @numa: the NUMA-hinting kind of protection change (MMU_EV_PROTECT_NUMA). */
long mm_protect(struct mm *mm, uint64_t va, uint64_t size, unsigned prot, bool numa);
int mm_split(struct mm *mm, uint64_t va, int level);
/* Replace the 512 small pages of the 2 MiB-aligned block at @va by one 2 MiB page. */
int mm_collapse(struct mm *mm, uint64_t va);
/*
 * Move the 4 KiB page at @va to @new_pa (copying its contents). The old
 * frame is returned in *old_pa and left to the caller, who frees it.
 */
int mm_migrate(struct mm *mm, uint64_t va, uint64_t new_pa, uint64_t *old_pa);
bool mm_clear_young(struct mm *mm, uint64_t va, uint64_t size);
bool mm_test_young(struct mm *mm, uint64_t va, uint64_t size);

#endif
