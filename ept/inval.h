/*
 * Invalidation tracking between the primary MMU (host page tables) and EPT,
 * as KVM's mmu_invalidate_* (seeds ../shared/seeds/000_2316efe6a1f42eb7.txt and
 * 002_e1e06e68a47d5deb.txt, ../shared/DESIGN.md). All state is in
 * gfn units; INVALID_GPA marks an unset range. Pure: host-tested.
 *
 * Writers (begin/range_add/end) hold the VM's mmu_lock. A fault snapshots
 * seq (then smp_rmb) before it walks the host page tables, and installs its
 * EPT entry only if retry_gfn() says no invalidation raced with it.
 */
#ifndef MINIHV_INVAL_H
#define MINIHV_INVAL_H

#include "lib/lib.h"
#include "arch/x86/arch.h"

#define INVALID_GPA (~0ULL)

struct mmu_inval {
	struct spinlock *lock;  /* the VM's mmu_lock, for lock assertions */
	long in_progress;
	uint64_t seq;
	uint64_t range_start;   /* gfn, INVALID_GPA when no range was added */
	uint64_t range_end;
	/*
	 * Test harness: called by end() between its two stores (seq, then
	 * in_progress), where a fault running on another CPU may look.
	 */
	void (*end_hook)(struct mmu_inval *iv, void *ctx);
	void *end_hook_ctx;
};

void mmu_inval_init(struct mmu_inval *iv, struct spinlock *lock);
void mmu_invalidate_begin(struct mmu_inval *iv);
void mmu_invalidate_range_add(struct mmu_inval *iv, uint64_t start, uint64_t end);
/* Returns false when the in-progress count went negative: a VM bug. */
bool mmu_invalidate_end(struct mmu_inval *iv);
bool mmu_invalidate_retry(const struct mmu_inval *iv, uint64_t seq);
/* mmu_lock held: false positives are fine, false negatives never. */
bool mmu_invalidate_retry_gfn(const struct mmu_inval *iv, uint64_t seq, uint64_t gfn);
/* Lockless pre-check (seed 002): true means the fault will surely retry. */
bool mmu_invalidate_retry_gfn_unsafe(const struct mmu_inval *iv, uint64_t seq, uint64_t gfn);

static inline uint64_t mmu_invalidate_seq_snapshot(const struct mmu_inval *iv)
{
	uint64_t seq = READ_ONCE(iv->seq);

	smp_rmb(); /* pairs with smp_wmb() in mmu_invalidate_end() */
	return seq;
}

/*
 * An invalidation in progress covers @gfn now (iv->lock held): retry_gfn
 * with the seq of now. For accesses made under mmu_lock, which must wait
 * until end() rather than go through a mapping being replaced.
 */
static inline bool mmu_invalidate_covers_gfn(const struct mmu_inval *iv, uint64_t gfn)
{
	return mmu_invalidate_retry_gfn(iv, READ_ONCE(iv->seq), gfn);
}

#endif
