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

#include "mm/pt.h"
#include "lib/lib.h"

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

/* Points of a change where a test can act (the race harness, like fault_step). */
enum mm_step {
	MM_STEP_STARTED, /* start() has run; the page tables are not changed yet */
	MM_STEP_UNMAPPED, /* migrate/collapse: the old pages unmapped, the new not mapped */
	MM_STEP_CHANGED, /* the page tables changed; end() has not run yet */
	MM_STEP_CLAIMING, /* about to claim its range: nothing claimed, notified or changed yet */
};

struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct mmu_notifier *next;
};

struct mm {
	/*
	 * The tables. Changed only under @lock (by the mm_* operations below);
	 * walked without it by mm_lookup(). With pt.defer_frees, table pages
	 * freed by a change wait for the next @flush_tlb, which waits for
	 * every lockless walker (see mm_lookup()).
	 */
	struct pt pt;
	/*
	 * Held for read across every notifier callback, for write by
	 * (un)register: unregister returns only once no callback of the
	 * notifier runs. Rank LOCK_RANK_NOTIFIERS (rwlock_init it; zeroed, it
	 * works unranked).
	 */
	struct rwlock notifier_lock;
	struct mmu_notifier *notifiers;
	/*
	 * Changes between their start() and end() calls: changed only inside
	 * read sections of @notifier_lock, read under its write lock by
	 * mmu_notifier_register(), which refuses a newcomer while any is.
	 */
	long notifying;
	uint64_t register_busy; /* registrations refused so (tests) */
	/*
	 * Changes in flight (between change_begin and the end() of mm.c) and
	 * the union of their ranges: no other change nor a fault-in may touch
	 * them. Under @lock, which is never held across a notifier call.
	 * @lock is also held by every write to the tables: two changes of
	 * disjoint claims still share table pages (a fault-in allocating a
	 * page table that an unmap next to it frees as empty), and pt.c's
	 * walker assumes one writer per table.
	 */
	struct spinlock lock;
	long changing;
	uint64_t change_start, change_end;
	void (*step_hook)(struct mm *mm, enum mm_step at, const struct mmu_range *r, void *ctx);
	void *step_hook_ctx;
	uint64_t faultins;    /* pages mm_fault_in() mapped */
	/*
	 * A shootdown: make every CPU forget [va, va + size) and return only
	 * when all have; a CPU inside mm_lookup() (IRQs off) holds it back
	 * until its walk is done. Called without any lock held; mm.c frees
	 * the table pages deferred before the call right after it returns.
	 */
	void (*flush_tlb)(uint64_t va, uint64_t size);
	uint64_t dyn_base;   /* mm_* operations refuse addresses below this */
	uint64_t numa_faults; /* hint faults taken (mm_numa_fault) */
};

/*
 * The same, filling only @w's level, pa and prot (pt_lookup_leaf()): the
 * fault path's, inline there (issue 22).
 */
static inline int mm_lookup_leaf(const struct mm *mm, uint64_t va, struct pt_walk *w)
{
	unsigned long flags = hal_irq_save();
	int r = pt_lookup_leaf(&mm->pt, va, w);

	hal_irq_restore(flags);
	return r;
}

const char *mmu_event_name(enum mmu_event ev);

/*
 * Walk @mm's tables for @va without its lock (the secondary MMUs' fault
 * path, gpc refresh): IRQs are off during the walk, so a concurrent
 * change cannot free a table page under it before the walk is done (the
 * shootdown waits for it; seed ../shared/seeds/003_c1c4202c3c43e2ca.txt,
 * ../shared/DESIGN.md "Freeing order"). What it returns may be stale at
 * once: the caller checks it against the invalidation sequence.
 */
int mm_lookup(const struct mm *mm, uint64_t va, struct pt_walk *w);

/*
 * -EBUSY (nothing registered) while a change is between its start() and
 * end(): the caller retries once it is over (vm_mmu_attach() waits), or the
 * new notifier would see an end() without its start().
 */
int mmu_notifier_register(struct mm *mm, struct mmu_notifier *mn);
void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *mn);

/*
 * Every change below returns -EBUSY while another change in flight overlaps
 * its range (on one CPU: a change made from a notifier or a step hook).
 *
 * A new mapping where there was none: nothing can be stale, no notification.
 * -EBUSY inside a change's claim, like the rest.
 */
int mm_map(struct mm *mm, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level);
long mm_unmap(struct mm *mm, uint64_t va, uint64_t size);
/*
 * Change the protection of [va, va + size) to @prot; returns the leaves
 * changed. With @numa, @prot is ignored: NUMA hinting (MMU_EV_PROTECT_NUMA)
 * marks each 4 KiB page not hinted yet with PT_PROT_NUMA, and only those
 * pages are invalidated; a secondary MMU that finds the mark takes the hint
 * fault (mm_numa_fault) before it maps the page again.
 */
long mm_protect(struct mm *mm, uint64_t va, uint64_t size, unsigned prot, bool numa);
/* Would NUMA hinting change the page at @va now (a 4 KiB page not hinted yet)? */
bool mm_numa_would_change(const struct mm *mm, uint64_t va);
/* The hint fault: clear PT_PROT_NUMA on the page at @va; -ENOENT if none was set. */
int mm_numa_fault(struct mm *mm, uint64_t va);
/*
 * A host page fault for a secondary MMU: map a fresh zeroed 4 KiB page at
 * @va if nothing is mapped there. -EAGAIN while a change in flight covers
 * @va (the caller retries later), 0 once something is mapped.
 */
int mm_fault_in(struct mm *mm, uint64_t va);
int mm_split(struct mm *mm, uint64_t va, int level);
/* One leaf of the tables, as mm_leaves() reports it. */
struct mm_leaf {
	uint64_t va;   /* where the leaf starts (may be below the range asked for) */
	uint64_t pa;
	int level;
};
/*
 * The first (at most @max) leaves that overlap [va, va + size), in address
 * order, read under @mm's lock: a snapshot, for a caller that then unmaps
 * them and frees their frames (a VM's teardown). Tables with nothing
 * mapped are skipped whole, so the cost follows what is mapped, not the
 * size of the range. Returns how many were stored.
 */
long mm_leaves(struct mm *mm, uint64_t va, uint64_t size, struct mm_leaf *out, long max);
/* Replace the 512 small pages of the 2 MiB-aligned block at @va by one 2 MiB page. */
int mm_collapse(struct mm *mm, uint64_t va);
/*
 * Move the 4 KiB page at @va to @new_pa (copying its contents). The old
 * frame is returned in *old_pa and left to the caller, who frees it.
 */
int mm_migrate(struct mm *mm, uint64_t va, uint64_t new_pa, uint64_t *old_pa);
bool mm_clear_young(struct mm *mm, uint64_t va, uint64_t size);
bool mm_test_young(struct mm *mm, uint64_t va, uint64_t size);

/*
 * The rest of mm/'s public interface: other areas include mm/mm.h only
 * (scripts/check-layers.sh). Last, because hostpt.h builds on the above.
 */
#include "mm/frame.h"
#include "mm/memmap.h"
#include "mm/x86pt.h"
#include "mm/hostpt.h"

#endif
