#include "ept/inval.h"

void mmu_inval_init(struct mmu_inval *iv, struct spinlock *lock)
{
	iv->lock = lock;
	iv->in_progress = 0;
	iv->seq = 0;
	iv->range_start = INVALID_GPA;
	iv->range_end = INVALID_GPA;
	iv->end_hook = NULL;
	iv->end_hook_ctx = NULL;
}

void mmu_invalidate_begin(struct mmu_inval *iv)
{
	lockdep_assert_held(iv->lock);
	/*
	 * The count is what makes retry() fail while invalidations run; the range
	 * starts out unset and range_add() fills it in, so faults outside it may
	 * still proceed.
	 */
	/*
	 * Stores the lockless readers (the pre-check, the seq snapshot) may
	 * race with are WRITE_ONCE: untorn, and known to ThreadSanitizer.
	 */
	WRITE_ONCE(iv->in_progress, iv->in_progress + 1);
	if (iv->in_progress == 1) {
		WRITE_ONCE(iv->range_start, INVALID_GPA);
		WRITE_ONCE(iv->range_end, INVALID_GPA);
	}
}

void mmu_invalidate_range_add(struct mmu_inval *iv, uint64_t start, uint64_t end)
{
	lockdep_assert_held(iv->lock);
	WARN_ON_ONCE(iv->in_progress <= 0);
	if (iv->range_start == INVALID_GPA) {
		WRITE_ONCE(iv->range_start, start);
		WRITE_ONCE(iv->range_end, end);
	} else {
		/*
		 * Overlapping invalidations widen one range rather than tracking
		 * each: a fault in the union retries, which is a false positive at
		 * worst.
		 */
		WRITE_ONCE(iv->range_start, MIN(iv->range_start, start));
		WRITE_ONCE(iv->range_end, MAX(iv->range_end, end));
	}
}

bool mmu_invalidate_end(struct mmu_inval *iv)
{
	lockdep_assert_held(iv->lock);
	/*
	 * Bump seq before dropping in_progress so that a fault which snapshot
	 * seq before the invalidation, and finds in_progress already zero,
	 * still sees seq change. Pairs with the smp_rmb() of the snapshot.
	 */
	WRITE_ONCE(iv->seq, iv->seq + 1);
	smp_wmb();
	if (iv->end_hook)
		iv->end_hook(iv, iv->end_hook_ctx);
	WRITE_ONCE(iv->in_progress, iv->in_progress - 1);
	/* Seed 000: check the range alone; a missing range_add() is a bug, not fatal. */
	WARN_ON_ONCE(iv->range_start == INVALID_GPA);
	return iv->in_progress >= 0;
}

bool mmu_invalidate_retry(const struct mmu_inval *iv, uint64_t seq)
{
	if (unlikely(READ_ONCE(iv->in_progress)))
		return true;
	smp_rmb();
	return READ_ONCE(iv->seq) != seq;
}

bool mmu_invalidate_retry_gfn(const struct mmu_inval *iv, uint64_t seq, uint64_t gfn)
{
	lockdep_assert_held(iv->lock);
	if (unlikely(iv->in_progress)) {
		/* In progress with no range yet: nothing is known, so retry. */
		if (WARN_ON_ONCE(iv->range_start == INVALID_GPA))
			return true;
		if (gfn >= iv->range_start && gfn < iv->range_end)
			return true;
	}
	return iv->seq != seq;
}

bool mmu_invalidate_retry_gfn_unsafe(const struct mmu_inval *iv, uint64_t seq, uint64_t gfn)
{
	/*
	 * No lock: the values may be stale, so only use them to skip work that
	 * would be thrown away anyway. The locked check decides.
	 */
	uint64_t start = READ_ONCE(iv->range_start), end = READ_ONCE(iv->range_end);

	if (READ_ONCE(iv->in_progress) && gfn >= start && gfn < end && start != INVALID_GPA)
		return true;
	return READ_ONCE(iv->seq) != seq;
}
