/*
 * The invalidation protocol (../shared/DESIGN.md "The rules to reproduce",
 * "Fault path"; seeds ../shared/seeds/000_2316efe6a1f42eb7.txt and
 * 002_e1e06e68a47d5deb.txt) as ept/inval.c, ept/notify.c, ept/fault.c and
 * ept/vm_memslot.c run it: two host changes (start, range_add, the host
 * frame changes, end), two faulting vCPUs (seq snapshot, host walk, lockless
 * pre-check, mmu_lock, retry_gfn, install), a memslot removal and re-add,
 * and one lockless user of mmu_invalidate_retry(). Every step names the C
 * function it stands for in a "C:" comment; scripts/model.sh prints error
 * trails through them.
 *
 * Properties:
 * - stale translation: once the end() of every change covering a gfn has
 *   returned, its EPT leaf is empty or maps the frame the host maps for it
 *   (checked at every install and when an end() returns, the only steps
 *   that can break it: the host frame changes only inside a change);
 * - in_progress never negative, and the seed-000 WARNs (end() with no
 *   range, range_add() with none in progress, retry_gfn() in progress with
 *   no range) never fire on a balanced run;
 * - mmu_invalidate_retry()'s contract: false means the frame read after
 *   the snapshot is still the host's when in_progress was read;
 * - progress (pan -l -f, weak fairness): every fault installs, or ends with
 *   -EFAULT while its slot is gone; no fault retries forever.
 *
 * Where the C code departs from the model, and why that is safe:
 * - begin() and range_add() are one atomic step here (C: several stores
 *   under mmu_lock). Only the lockless pre-check and the lockless
 *   mmu_invalidate_retry() reader can look between them, and a partial
 *   view there only makes them retry. end() keeps its two stores apart:
 *   their order is what mmu_invalidate_retry() relies on.
 * - The pre-check (mmu_invalidate_retry_gfn_unsafe) reads its four fields
 *   in one step; C may read them torn. It only ever decides "retry now",
 *   and the locked check decides everything else.
 * - mmu_resolve() reads the slot without mmu_lock (C: its memslot_cache
 *   under the slot generation, or a copy under mmu_lock). A removal after
 *   the read is an invalidation that moves seq, as in C.
 * - One page per gfn, no huge leaves, no memslot alignment (seed 003's
 *   level rules are host-tested), no gpc (model/gpc.pml), no flush (the
 *   flush is model/remote_flush.pml's): a zap empties the leaf at once.
 * - In minihv every reader that decides to install holds mmu_lock, so
 *   swapping end()'s seq++ and in_progress-- is invisible to the fault
 *   path (make mutants marks no test for it but a step-point one). The
 *   reader of the one lockless API, mmu_invalidate_retry() (ept/inval.h,
 *   no caller in the kernel today, host-tested), is what the order is for:
 *   the model keeps one such reader so that the swap is caught. It runs in
 *   a check of its own (-DRETRY_READER: the two changes and the memslot
 *   change with the reader instead of the vCPUs): all six processes
 *   together are 40 million states, over the time this check may take.
 */
#define NG 2          /* gfns 0 and 1, one slot covering both */
#define INVALID 255   /* INVALID_GPA */
#define NONE 0        /* no frame: an empty leaf */

byte hostpt[NG];      /* the host frame at each gfn's hva (mm/hostpt.c) */
byte ept[NG];         /* the EPT leaf of each gfn */
bool slot = 1;        /* the memslot covering gfns 0..1 */
byte seq;             /* iv->seq */
short in_progress;    /* iv->in_progress */
byte rstart = INVALID, rend = INVALID; /* iv->range_start, range_end */
byte mn_active;       /* vm->mn_active */
bit mmu_lock;         /* vm->mmu_lock */
byte covering[NG];    /* ghost: changes of each gfn started and not ended */

#define backing(g) (slot -> hostpt[g] : NONE)
#define stale(g) (covering[g] == 0 && ept[g] != NONE && ept[g] != backing(g))

inline lock() { atomic { mmu_lock == 0 -> mmu_lock = 1 } } /* C: lib/spinlock.h: spin_lock(mmu_lock) */
inline unlock() { mmu_lock = 0 } /* C: lib/spinlock.h: spin_unlock(mmu_lock) */

inline inval_begin() {
	atomic { in_progress++; if :: in_progress == 1 -> rstart = INVALID; rend = INVALID :: else fi } /* C: ept/inval.c: mmu_invalidate_begin */
}

inline range_add(s, e) {
	atomic {
		assert(in_progress > 0); /* C: ept/inval.c: mmu_invalidate_range_add (WARN_ON_ONCE in_progress <= 0) */
		if
		:: rstart == INVALID -> rstart = s; rend = e /* C: ept/inval.c: mmu_invalidate_range_add */
#ifdef MUTANT_range_add_keeps_first_range
		:: else -> skip /* C: ept/inval.c: mmu_invalidate_range_add (mutant: keeps the first range) */
#else
		:: else -> rstart = (s < rstart -> s : rstart); rend = (e > rend -> e : rend) /* C: ept/inval.c: mmu_invalidate_range_add (widen) */
#endif
		fi
	}
}

inline inval_end() {
#if defined(MUTANT_swap_seq_inprogress)
	in_progress--; /* C: ept/inval.c: mmu_invalidate_end: in_progress-- (mutant: before seq++) */
	seq++;         /* C: ept/inval.c: mmu_invalidate_end: seq++ (mutant: after in_progress--) */
#elif defined(MUTANT_seq_not_bumped)
	in_progress--; /* C: ept/inval.c: mmu_invalidate_end: in_progress-- (mutant: no seq++) */
#else
	seq++;         /* C: ept/inval.c: mmu_invalidate_end: seq++, smp_wmb() */
	in_progress--; /* C: ept/inval.c: mmu_invalidate_end: in_progress-- */
#endif
	atomic {
		assert(rstart != INVALID); /* C: ept/inval.c: mmu_invalidate_end (seed 000 WARN_ON_ONCE: no range) */
		assert(in_progress >= 0)   /* C: ept/notify.c: vm_invalidate_end (VM_BUG_ON: more end()s than begin()s) */
	}
}

/* mmu_lock held: false positives are fine, false negatives never. */
inline retry_gfn(s, g, r) {
	atomic {
		if
#ifndef MUTANT_locked_check_ignores_in_progress
		:: in_progress != 0 ->
			assert(rstart != INVALID); /* C: ept/inval.c: mmu_invalidate_retry_gfn (WARN: in progress, no range) */
#ifdef MUTANT_locked_check_ignores_range
			r = (seq != s) /* C: ept/inval.c: mmu_invalidate_retry_gfn (mutant: range ignored) */
#else
			r = ((g >= rstart && g < rend) || seq != s) /* C: ept/inval.c: mmu_invalidate_retry_gfn */
#endif
#endif
		:: else -> r = (seq != s) /* C: ept/inval.c: mmu_invalidate_retry_gfn: seq moved */
		fi
	}
}

/* One vCPU's EPT violation on gfn g, until it installs (or the slot is gone). */
proctype vcpu(byte g) {
	byte s, f;
	bool r;
again:
	s = seq; /* C: ept/inval.h: mmu_invalidate_seq_snapshot (READ_ONCE, smp_rmb) */
	if
	:: !slot -> goto efault /* C: ept/fault.c: mmu_resolve: no memslot, -EFAULT */
	:: else -> skip /* C: ept/fault.c: mmu_resolve: memslot copy */
	fi;
	f = hostpt[g]; /* C: ept/fault.c: mmu_resolve -> mm_lookup_leaf (host walk, no lock) */
	atomic { /* C: ept/inval.c: mmu_invalidate_retry_gfn_unsafe (lockless pre-check, seed 002) */
		r = (in_progress != 0 && rstart != INVALID && g >= rstart && g < rend) || seq != s
	};
	if
	:: r -> goto again /* C: ept/fault.c: install: pre-check says retry */
	:: else -> skip
	fi;
	atomic {
		lock(); /* C: ept/fault.c: install: spin_lock(mmu_lock) */
#ifdef MUTANT_locked_retry_removed
		r = false; /* C: ept/fault.c: install (mutant: no locked re-check) */
#else
		retry_gfn(s, g, r);
#endif
		if
		:: r -> unlock(); goto again /* C: ept/fault.c: install: retry_gfn says retry, spin_unlock */
		:: else -> skip
		fi;
		ept[g] = f; /* C: ept/fault.c: install -> pt_map_4k (install the leaf) */
		assert(!stale(g)); /* C: ept/fault.c: install (property: no stale leaf) */
		unlock() /* C: ept/fault.c: install: spin_unlock(mmu_lock) */
	};
	goto done;
efault:
	skip; /* C: virt/exits.c: vcpu_fault_failed (-EFAULT: the VM stops) */
done:
	skip
}

/* A host change of gfn g's page: its frame becomes newf (a migration). */
proctype change(byte g; byte newf) {
	atomic {
		lock(); /* C: ept/notify.c: vm_invalidate_start: spin_lock(mmu_lock) */
		covering[g]++;
#ifdef MUTANT_mn_active_only_with_slot
		if :: slot -> mn_active++ :: else fi; /* C: ept/notify.c: vm_invalidate_start (mutant: mn_active++ only when a slot is hit) */
#else
		mn_active++; /* C: ept/notify.c: vm_invalidate_start: mn_active++ */
#endif
		if
		:: slot -> /* C: ept/notify.c: vm_invalidate_start: for_each_slot_range hits a slot */
			inval_begin();
#ifndef MUTANT_range_add_skipped
			range_add(g, g + 1);
#endif
			ept[g] = NONE /* C: ept/notify.c: vm_invalidate_gfns -> pt_zap */
		:: else -> skip /* C: ept/notify.c: vm_invalidate_start: no slot, no begin() */
		fi;
		unlock() /* C: ept/notify.c: vm_invalidate_start: spin_unlock(mmu_lock) */
	};
	hostpt[g] = newf; /* C: mm/mm.c: the host PTE changes between start and end */
	lock(); /* C: ept/notify.c: vm_invalidate_end: spin_lock(mmu_lock) */
	if
	:: slot -> inval_end() /* C: ept/notify.c: vm_invalidate_end -> mmu_invalidate_end */
	:: else -> skip /* C: ept/notify.c: vm_invalidate_end: no slot, no end() */
	fi;
	atomic {
		assert(mn_active > 0); /* C: ept/notify.c: vm_invalidate_end (VM_BUG_ON mn_active <= 0) */
		mn_active--; covering[g]--; /* C: ept/notify.c: vm_invalidate_end: mn_active-- */
		unlock() /* C: ept/notify.c: vm_invalidate_end: spin_unlock(mmu_lock) */
	};
	assert(!stale(0) && !stale(1)) /* C: ept/notify.c: vm_invalidate_end returned (property: no stale leaf) */
}

/* mmu_lock with no invalidation active (KVM's mn_active_invalidate_count wait). */
inline lock_quiescent() {
	do
	:: lock(); /* C: ept/vm_memslot.c: lock_quiescent: spin_lock(mmu_lock) */
		if
#ifdef MUTANT_memslot_change_during_invalidation
		:: in_progress == 0 -> break /* C: ept/vm_memslot.c: lock_quiescent (mutant: waits on in_progress) */
#else
		:: mn_active == 0 -> break /* C: ept/vm_memslot.c: lock_quiescent: no invalidation active */
#endif
		:: else -> unlock(); /* C: ept/vm_memslot.c: lock_quiescent: spin_unlock, wait */
#ifdef MUTANT_memslot_change_during_invalidation
			(in_progress == 0) /* C: ept/vm_memslot.c: lock_quiescent (mutant): while (READ_ONCE(in_progress)) */
#else
			(mn_active == 0) /* C: ept/vm_memslot.c: lock_quiescent: while (READ_ONCE(mn_active)) */
#endif
		fi
	od
}

/* The slot goes (an invalidation of its gfns) and comes back. */
proctype memslot() {
	lock_quiescent();
	atomic {
		covering[0]++; covering[1]++; /* C: ept/vm_memslot.c: vm_memslot_remove */
#ifndef MUTANT_memslot_removal_not_an_invalidation
		inval_begin();
		range_add(0, NG);
#endif
		ept[0] = NONE; ept[1] = NONE; /* C: ept/vm_memslot.c: vm_memslot_remove -> vm_invalidate_gfns (zap) */
		slot = 0 /* C: ept/vm_memslot.c: vm_memslot_remove -> memslot_remove */
	};
#if !defined(MUTANT_memslot_removal_not_an_invalidation) && !defined(MUTANT_memslot_removal_end_dropped)
	inval_end();
#endif
	atomic {
		covering[0]--; covering[1]--; /* C: ept/vm_memslot.c: vm_memslot_remove: end of the removal */
		unlock() /* C: ept/vm_memslot.c: vm_memslot_remove: spin_unlock(mmu_lock) */
	};
	assert(!stale(0) && !stale(1)); /* C: ept/vm_memslot.c: vm_memslot_remove returned (property) */
	lock_quiescent();
	atomic {
		slot = 1; /* C: ept/vm_memslot.c: vm_memslot_add -> memslot_add */
		unlock() /* C: ept/vm_memslot.c: vm_memslot_add: spin_unlock(mmu_lock) */
	}
}

/* A user of the lockless retry(seq) API on gfn 0's page. */
proctype reader() {
	byte s, f, seen;
	bool busy;
	s = seq; /* C: ept/inval.h: mmu_invalidate_seq_snapshot */
	if
	:: !slot -> goto out /* C: ept/memslot.c: memslot_find: no slot */
	:: else -> skip /* C: ept/memslot.c: memslot_find: gfn 0's hva */
	fi;
	f = hostpt[0]; /* C: mm/hostpt.c: host walk of gfn 0's hva */
	atomic { busy = (in_progress != 0); seen = backing(0) }; /* C: ept/inval.c: mmu_invalidate_retry: READ_ONCE(in_progress) */
	if
	:: busy -> skip /* C: ept/inval.c: mmu_invalidate_retry: true (in progress) */
	:: else ->
		if
		:: seq == s -> assert(f == seen) /* C: ept/inval.c: mmu_invalidate_retry: smp_rmb, seq unchanged: false (property: frame current) */
		:: else -> skip /* C: ept/inval.c: mmu_invalidate_retry: seq moved: true */
		fi
	fi;
out:
	skip
}

init {
	atomic {
		hostpt[0] = 1; hostpt[1] = 2;
		run change(0, 3); run change(1, 4);
		run memslot();
#ifdef RETRY_READER
		run reader()
#else
		run vcpu(0); run vcpu(1)
#endif
	}
}
