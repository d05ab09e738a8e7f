/*
 * A test-and-set spinlock that knows its owner (so lockdep_assert_held()
 * asks "does this CPU hold it?", as KVM's does) and its rank (lib/lockdep.h:
 * out-of-order acquisition is a named panic). The _irqsave forms keep
 * interrupts off while the lock is held, for locks an interrupt handler (an
 * IPI) may also take. Pure: the host tests use the same code.
 */
#ifndef MINIHV_SPINLOCK_H
#define MINIHV_SPINLOCK_H

#include "lib/bug.h"
#include "lib/lockdep.h"
#include "arch/x86/arch.h"

struct spinlock {
	int locked;
	unsigned owner; /* cpu_id() + 1 of the holder; 0 when free */
	struct lockdep_map dep;
};

static inline void spin_lock_init(struct spinlock *l, enum lock_rank rank, const char *name)
{
	l->locked = 0;
	l->owner = 0;
	l->dep = (struct lockdep_map){ rank, name };
}

static inline void spin_lock_at(struct spinlock *l, const char *site)
{
	lockdep_acquire(l, &l->dep, site);
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			hal_cpu_relax();
	WRITE_ONCE(l->owner, cpu_id() + 1);
}

static inline void spin_unlock(struct spinlock *l)
{
	WARN_ON_ONCE(READ_ONCE(l->owner) != cpu_id() + 1);
	WRITE_ONCE(l->owner, 0);
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	lockdep_release(l);
}

#define spin_lock(l) spin_lock_at(l, THIS_SITE)
#define spin_lock_irqsave(l, flags)              \
	do {                                     \
		(flags) = hal_irq_save();        \
		spin_lock_at(l, THIS_SITE);      \
	} while (0)
#define spin_unlock_irqrestore(l, flags) \
	do {                             \
		spin_unlock(l);          \
		hal_irq_restore(flags);  \
	} while (0)

static inline bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
}

/* This CPU holds @l (not merely someone). */
static inline bool spin_held_here(const struct spinlock *l)
{
	return spin_is_locked(l) && READ_ONCE(l->owner) == cpu_id() + 1;
}

#define lockdep_assert_held(l) WARN_ON_ONCE(!spin_held_here(l))

/* Barriers pairing the invalidation sequence writes with the fault path's reads. */
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif
