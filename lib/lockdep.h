/*
 * Lock ranks and a per-CPU record of held locks (a small lockdep): each lock
 * class has a rank, and a CPU may only take a lock whose rank is above every
 * ranked lock it holds. Taking one out of order, or the same lock twice, is
 * a named panic: both locks and where the held one was taken. Pure: the host
 * tests run it with one "CPU" per thread (cpu_id() in arch/x86/hal.h).
 *
 * The order, outermost first (why each pair is ordered: the call that nests
 * them). A zero rank is unranked: only recursion is checked.
 */
#ifndef MINIHV_LOCKDEP_H
#define MINIHV_LOCKDEP_H

#include "arch/x86/arch.h"

enum lock_rank {
	LOCK_RANK_NONE = 0,
	LOCK_RANK_REGISTRY = 10,    /* VM registry: vm_create() then takes the rest */
	LOCK_RANK_NOTIFIERS = 20,   /* mm's notifier list: held (read) across callbacks */
	LOCK_RANK_GPC_REFRESH = 30, /* gpc_refresh() looks at mmu_lock under it */
	LOCK_RANK_MMU = 40,         /* vm->mmu_lock: invalidate_start() takes gpc->lock */
	LOCK_RANK_GPC = 50,         /* gpc->lock */
	LOCK_RANK_MM = 60,          /* mm->lock: fault-in allocates frames under it */
	LOCK_RANK_FRAME = 70,       /* the frame allocator: innermost but for the console */
	LOCK_RANK_VCPUS = 80,       /* vm->vcpus_lock: the flush takes it under mmu_lock (and mm->lock) */
	LOCK_RANK_PLATFORM = 84,    /* a guest's PC devices (virt/platform.h): no lock under it */
	LOCK_RANK_LAPIC = 86,       /* a vCPU's local APIC: an IPI takes the target's alone */
	LOCK_RANK_CONSOLE = 90,     /* printk may run under any lock */
};

#define LOCKDEP_MAX_CPUS 64
#define LOCKDEP_DEPTH 12

struct lockdep_map {
	enum lock_rank rank;
	const char *name;
};

/* Before the lock is taken: panics if taking it would break the order. */
void lockdep_acquire(const void *lock, const struct lockdep_map *map, const char *site);
void lockdep_release(const void *lock);
/* Locks this CPU holds now (tests). */
unsigned lockdep_depth(void);

#endif
