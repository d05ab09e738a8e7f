/*
 * A reader/writer spinlock: many readers or one writer. Pure (atomics only),
 * so the host tests run the same code. Writers wait for readers to leave.
 */
#ifndef MINIHV_RWLOCK_H
#define MINIHV_RWLOCK_H

#include "lib/bug.h"
#include "lib/lockdep.h"
#include "arch/x86/arch.h"

#define RW_WRITER (-1)

struct rwlock {
	int state; /* > 0: readers, RW_WRITER: a writer, 0: free */
	struct lockdep_map dep;
};

static inline void rwlock_init(struct rwlock *l, enum lock_rank rank, const char *name)
{
	l->state = 0;
	l->dep = (struct lockdep_map){ rank, name };
}

/* Readers and the writer are ranked alike (lib/lockdep.h); a reader may not nest either. */
static inline void read_lock_at(struct rwlock *l, const char *site)
{
	lockdep_acquire(l, &l->dep, site);
	for (;;) {
		int s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);

		if (s >= 0 && __atomic_compare_exchange_n(&l->state, &s, s + 1, false,
							  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		hal_cpu_relax();
	}
}

static inline void read_unlock(struct rwlock *l)
{
	WARN_ON_ONCE(__atomic_fetch_sub(&l->state, 1, __ATOMIC_RELEASE) <= 0);
	lockdep_release(l);
}

static inline void write_lock_at(struct rwlock *l, const char *site)
{
	lockdep_acquire(l, &l->dep, site);
	for (;;) {
		int s = 0;

		if (__atomic_compare_exchange_n(&l->state, &s, RW_WRITER, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		hal_cpu_relax();
	}
}

static inline void write_unlock(struct rwlock *l)
{
	WARN_ON_ONCE(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) != RW_WRITER);
	lockdep_release(l);
}

#define read_lock(l) read_lock_at(l, THIS_SITE)
#define write_lock(l) write_lock_at(l, THIS_SITE)

static inline bool rw_is_write_locked(const struct rwlock *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) == RW_WRITER;
}

static inline bool rw_is_locked(const struct rwlock *l)
{
	return __atomic_load_n(&l->state, __ATOMIC_RELAXED) != 0;
}

#endif
