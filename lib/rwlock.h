/*
 * A reader/writer spinlock: many readers or one writer. Pure (atomics only),
 * so the host tests run the same code. Writers wait for readers to leave.
 */
#ifndef MINIHV_RWLOCK_H
#define MINIHV_RWLOCK_H

#include "lib/bug.h"
#include "arch/x86/arch.h"

#define RW_WRITER (-1)

struct rwlock {
	int state; /* > 0: readers, RW_WRITER: a writer, 0: free */
};

static inline void read_lock(struct rwlock *l)
{
	for (;;) {
		int s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);

		if (s >= 0 && __atomic_compare_exchange_n(&l->state, &s, s + 1, false,
							  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		__builtin_ia32_pause();
	}
}

static inline void read_unlock(struct rwlock *l)
{
	WARN_ON_ONCE(__atomic_fetch_sub(&l->state, 1, __ATOMIC_RELEASE) <= 0);
}

static inline void write_lock(struct rwlock *l)
{
	for (;;) {
		int s = 0;

		if (__atomic_compare_exchange_n(&l->state, &s, RW_WRITER, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		__builtin_ia32_pause();
	}
}

static inline void write_unlock(struct rwlock *l)
{
	WARN_ON_ONCE(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) != RW_WRITER);
}

static inline bool rw_is_write_locked(const struct rwlock *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) == RW_WRITER;
}

static inline bool rw_is_locked(const struct rwlock *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) != 0;
}

#endif
