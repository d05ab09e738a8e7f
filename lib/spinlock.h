/*
 * A test-and-set spinlock with a held check for lock assertions (as KVM's
 * lockdep_assert_held). Pure: the host tests use the same code.
 */
#ifndef MINIHV_SPINLOCK_H
#define MINIHV_SPINLOCK_H

#include "lib/bug.h"
#include "arch/x86/arch.h"

struct spinlock {
	int locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
}

#define lockdep_assert_held(l) WARN_ON_ONCE(!spin_is_locked(l))

/* Barriers pairing the invalidation sequence writes with the fault path's reads. */
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)

#endif
