/*
 * The gfn-to-pfn cache (ept/gpc.c; seed ../shared/seeds/001_2f6288b8cba2f4fe.txt,
 * ../shared/DESIGN.md "gfn-to-pfn cache"): two users take the cache with
 * gpc_lock() (check, else refresh, which drops and retakes gpc->lock around
 * its host walk) and read through it; a host change of the cached page
 * (invalidate start, the host frame changes, end) and a memslot removal
 * and re-add (the gfn comes back at another hva) run beside them.
 *
 * Property: a user holding the cache (between gpc_lock() and gpc_unlock())
 * reads and writes only the frame the host maps today for the cached gfn:
 * never one the host has unmapped, nor one that is now another gfn's
 * (after the re-add the gfn's hva, and so its frame, is another one).
 *
 * Where the C code departs from the model, and why that is safe:
 * - minihv's refresh decides under mmu_lock (gpc_snapshot() reads
 *   in_progress and the range under it, and memslot changes hold it too)
 *   where KVM's hva_to_pfn_retry() checks mmu_invalidate_seq and
 *   in_progress locklessly. It keeps no seq at all: a start that runs after
 *   the snapshot sets @invalidated under gpc->lock (checked before @valid
 *   is set), and one that runs before it is seen as busy. The model has
 *   exactly these reads; seq is not modelled because nothing here reads it.
 * - One cache, one gfn: the range test of the snapshot (gfn within
 *   [range_start, range_end)) is "in_progress" alone, as every invalidation
 *   of the model covers the cached gfn. The AVL index (vm->gpc_index)
 *   becomes "does the range hold gpc->uhva".
 * - activate/deactivate are not modelled: the cache is active throughout
 *   (the host tests cover the list and index under concurrent activation,
 *   tests/host/test_gpc.c); len always fits in the page.
 * - The refresh's own-invalidation case (-EAGAIN, vm_in_invalidation_here)
 *   does not arise: no notifier calls refresh here.
 * - gpc->lock is an rwlock with no writer preference; write_lock waits for
 *   all readers, which is what lets invalidate_start wait out a user.
 */
#define NONE 0
#define H0 0          /* the slot's first hva */
#define H1 1          /* its hva after the re-add */
#define EFAULT 1
#define EINVAL 2

byte hostpt[2];       /* host frame at each hva */
bool slot = 1;        /* the memslot holding the cached gfn */
byte slot_hva = H0;
byte slots_gen = 1;   /* vm->slots.generation */
short in_progress;    /* vm->inval.in_progress */
byte mn_active;
bit mmu_lock;

/* The cache. */
bool valid;
bool invalidated;
byte pa = NONE;       /* the frame khva points into */
byte uhva = H0;
byte generation;      /* gpc->generation: activate left it stale (slots_gen - 1) */
byte readers;         /* gpc->lock, an rwlock */
bit writer;
bit refresh_lock;

#define backing (slot -> hostpt[slot_hva] : NONE)

inline lock() { atomic { mmu_lock == 0 -> mmu_lock = 1 } } /* C: lib/spinlock.h: spin_lock(mmu_lock) */
inline unlock() { mmu_lock = 0 } /* C: lib/spinlock.h: spin_unlock(mmu_lock) */
inline wlock() { atomic { writer == 0 && readers == 0 -> writer = 1 } } /* C: lib/rwlock.h: write_lock(gpc->lock) */
inline wunlock() { writer = 0 } /* C: lib/rwlock.h: write_unlock(gpc->lock) */
inline rlock() { atomic { writer == 0 -> readers++ } } /* C: lib/rwlock.h: read_lock(gpc->lock) */
inline runlock() { readers-- } /* C: lib/rwlock.h: read_unlock(gpc->lock) */

/* mmu_lock held: clear the cache if its page lies in the range. */
inline gpc_invalidate_start(h) {
	if
	:: uhva == h ->
#ifndef MUTANT_invalidate_start_without_gpc_lock
		wlock(); /* C: ept/gpc.c: invalidate_subtree: write_lock(gpc->lock) */
#endif
		atomic { valid = 0; invalidated = 1 }; /* C: ept/gpc.c: invalidate_subtree: valid = false, invalidated = true */
#ifndef MUTANT_invalidate_start_without_gpc_lock
		wunlock() /* C: ept/gpc.c: invalidate_subtree: write_unlock(gpc->lock) */
#endif
	:: else -> skip /* C: ept/gpc.c: invalidate_subtree: not in the range */
	fi
}

/* The host frame at H0 changes (a migration: frame 1 is no longer mapped). */
proctype change() {
	lock(); /* C: ept/notify.c: vm_invalidate_start: spin_lock(mmu_lock) */
	mn_active++; /* C: ept/notify.c: vm_invalidate_start: mn_active++ */
	gpc_invalidate_start(H0);
	if
	:: slot && slot_hva == H0 -> in_progress++ /* C: ept/inval.c: mmu_invalidate_begin */
	:: else -> skip /* C: ept/notify.c: vm_invalidate_start: no slot, no begin() */
	fi;
	unlock(); /* C: ept/notify.c: vm_invalidate_start: spin_unlock(mmu_lock) */
	hostpt[H0] = 3; /* C: mm/mm.c: the host PTE changes between start and end */
	lock(); /* C: ept/notify.c: vm_invalidate_end: spin_lock(mmu_lock) */
	if
	:: slot && slot_hva == H0 -> in_progress-- /* C: ept/inval.c: mmu_invalidate_end */
	:: else -> skip /* C: ept/notify.c: vm_invalidate_end: no slot, no end() */
	fi;
	atomic { mn_active--; unlock() } /* C: ept/notify.c: vm_invalidate_end: mn_active--, spin_unlock */
}

inline lock_quiescent() {
	do
	:: lock(); /* C: ept/vm_memslot.c: lock_quiescent: spin_lock(mmu_lock) */
		if
		:: mn_active == 0 -> break /* C: ept/vm_memslot.c: lock_quiescent: no invalidation active */
		:: else -> unlock(); (mn_active == 0) /* C: ept/vm_memslot.c: lock_quiescent: wait */
		fi
	od
}

/* The slot goes, and comes back with the gfn at H1. */
proctype memslot() {
	lock_quiescent();
	in_progress++; /* C: ept/vm_memslot.c: vm_memslot_remove -> mmu_invalidate_begin */
#ifndef MUTANT_gpc_not_invalidated_on_memslot_removal
	gpc_invalidate_start(slot_hva);
#endif
	atomic { slot = 0; slots_gen++ }; /* C: ept/vm_memslot.c: vm_memslot_remove -> memslot_remove */
	in_progress--; /* C: ept/vm_memslot.c: vm_memslot_remove -> mmu_invalidate_end */
	unlock(); /* C: ept/vm_memslot.c: vm_memslot_remove: spin_unlock(mmu_lock) */
	lock_quiescent();
	atomic { slot = 1; slot_hva = H1; slots_gen++ }; /* C: ept/vm_memslot.c: vm_memslot_add -> memslot_add */
	unlock() /* C: ept/vm_memslot.c: vm_memslot_add: spin_unlock(mmu_lock) */
}

/* gpc_refresh(): r is 0 or an error. */
inline gpc_refresh(r) {
	atomic { refresh_lock == 0 -> refresh_lock = 1 }; /* C: ept/gpc.c: gpc_refresh: spin_lock(refresh_lock) */
	wlock(); /* C: ept/gpc.c: gpc_refresh: write_lock(gpc->lock) */
	atomic { valid = 0; pa = NONE }; /* C: ept/gpc.c: gpc_refresh -> gpc_unmap (invalid before the lock drops) */
	do
	:: atomic { invalidated = 0; wunlock() }; /* C: ept/gpc.c: gpc_refresh: invalidated = false, write_unlock */
		/* gpc_snapshot() */
		lock(); /* C: ept/gpc.c: gpc_snapshot: spin_lock(mmu_lock) */
		wlock(); /* C: ept/gpc.c: gpc_snapshot: write_lock(gpc->lock) */
		atomic {
			busy = (in_progress != 0); /* C: ept/gpc.c: gpc_snapshot: busy = in_progress && gfn in range */
			err = 0;
			if
			:: generation != slots_gen ->
#ifdef MUTANT_refresh_skips_generation_recheck
				generation = slots_gen /* C: ept/gpc.c: gpc_snapshot (mutant: generation taken, slot not looked up again) */
#else
				if
				:: !slot -> err = EFAULT /* C: ept/gpc.c: gpc_snapshot -> cache_slot: -EFAULT */
				:: else -> uhva = slot_hva; generation = slots_gen /* C: ept/gpc.c: gpc_snapshot -> index_rekey (new uhva) */
				fi
#endif
			:: else -> skip /* C: ept/gpc.c: gpc_snapshot: generation current */
			fi;
			su = uhva
		};
		wunlock(); /* C: ept/gpc.c: gpc_snapshot: write_unlock(gpc->lock) */
		unlock(); /* C: ept/gpc.c: gpc_snapshot: spin_unlock(mmu_lock) */
		f = (err != 0 -> NONE : hostpt[su]); /* C: ept/gpc.c: gpc_refresh -> mm_lookup (host walk, no lock) */
		wlock(); /* C: ept/gpc.c: gpc_refresh: write_lock(gpc->lock) */
		if
		:: err != 0 -> r = err; break /* C: ept/gpc.c: gpc_refresh: slot gone */
		:: else -> skip
		fi;
		if
#if defined(MUTANT_gpc_busy_check_removed)
		:: invalidated || generation != slots_gen -> skip /* C: ept/gpc.c: gpc_refresh (mutant: busy ignored): retry */
#elif defined(MUTANT_gpc_invalidated_check_removed)
		:: busy || generation != slots_gen -> skip /* C: ept/gpc.c: gpc_refresh (mutant: invalidated ignored): retry */
#else
		:: busy || invalidated || generation != slots_gen -> skip /* C: ept/gpc.c: gpc_refresh: busy, invalidated or memslots changed: retry */
#endif
		:: else ->
			if
			:: f == NONE -> r = EFAULT; break /* C: ept/gpc.c: gpc_refresh: not mapped, -EFAULT */
			:: else -> atomic { pa = f; valid = 1 }; r = 0; break /* C: ept/gpc.c: gpc_refresh: pa, khva, valid = true */
			fi
		fi
	od;
	wunlock(); /* C: ept/gpc.c: gpc_refresh: write_unlock(gpc->lock) */
	refresh_lock = 0 /* C: ept/gpc.c: gpc_refresh: spin_unlock(refresh_lock) */
}

/* gpc_lock(), one access, gpc_unlock(). */
proctype user() {
	bool busy;
	byte err, su, f, r;
	rlock(); /* C: ept/gpc.c: gpc_lock: read_lock(gpc->lock) */
	do
	:: valid && generation == slots_gen -> break /* C: ept/gpc.c: gpc_lock -> gpc_check: valid */
	:: else ->
		runlock(); /* C: ept/gpc.c: gpc_lock: read_unlock, refresh */
		gpc_refresh(r);
		if
		:: r != 0 -> goto out /* C: ept/gpc.c: gpc_lock: refresh failed */
		:: else -> skip
		fi;
		rlock() /* C: ept/gpc.c: gpc_lock: read_lock(gpc->lock) */
	od;
	assert(pa == backing); /* C: ept/gpc.c: gpc_lock returned: the user reads *khva (property) */
	assert(pa == backing); /* C: the user writes *khva, later in its critical section (property) */
	runlock(); /* C: ept/gpc.c: gpc_unlock */
out:
	skip
}

init {
	atomic {
		hostpt[H0] = 1; hostpt[H1] = 2;
		generation = slots_gen - 1;
		run user(); run user();
		run change();
		run memslot()
	}
}
