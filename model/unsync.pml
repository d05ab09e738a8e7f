/*
 * The unsync walk (ept/unsync.c, ept/shadow.c: sync_root; seed
 * ../shared/seeds/004_a8b0bafe251e54eb.txt, ../shared/DESIGN.md "Unsync
 * walk"): a three-level shadow tree (root R, tables M0 and M1, four
 * level-1 pages under them), each page's unsync-child bitmap and count, a
 * page vector of two entries (so -ENOSPC happens), and a vCPU that loads
 * the root twice (kvm_mmu_load -> sync_root) while a guest's writes mark
 * level-1 pages unsync (try_unsync -> sp_mark_unsync). Which pages start
 * unsync, and which one is marked between the syncs, is left to Spin.
 *
 * Properties:
 * - when sync_root() returns, no level-1 page reachable from the root is
 *   unsync;
 * - a child's bit is cleared only when the child is in sync (stale bit),
 *   or was handed over in the vector with all its own bits cleared;
 * - when the walk returns (-ENOSPC included), every unsync level-1 page is
 *   still found by its bits from the root, or is in the vector;
 *
 * Where the C code departs from the model, and why that is safe:
 * - C holds mmu_lock across the whole sync_root(), and try_unsync() holds
 *   it to mark: marking never interleaves with a walk. The model takes the
 *   same lock, so its marks land between syncs, as in C; the proof covers
 *   the orders the lock allows, not a lockless walk.
 * - The bitmap has two bits per page (C: 512, walked in index order by
 *   next_unsync_bit, which reads the bitmap afresh: a walk clears only the
 *   bit it stands on, so a bit set behind it waits for the next walk).
 * - Every entry is present and no page is zapped: the stale-entry branches
 *   (!spte_present, a huge leaf, a missing child) clear a bit and hand over
 *   nothing, and are host-tested (tests/host/test_unsync.c).
 * - sync_page() is "unsync = false" after the write-protect and flush; the
 *   compare of guest entries is shadow paging's, not the walk's.
 * - The vector holds two pages where C's holds SP_VEC_MAX (16); with three
 *   levels two is the least that still makes progress (a table and one
 *   level-1 page below it).
 */
#define NP 7          /* R = 0, M0 = 1, M1 = 2, leaves 3..6 (M0: 3, 4; M1: 5, 6) */
#define CAP 2         /* the page vector's room */
#define ENOSPC 255

bit bits[NP * 2];     /* sp->unsync_child_bitmap: page p's child i at p * 2 + i */
byte cnt[NP];         /* sp->unsync_children */
bool unsync[NP];      /* sp->unsync (level-1 pages only) */
byte vec[CAP];        /* struct sp_vec */
byte vn;
bit mmu_lock;

#define child(p, i) ((p) == 0 -> 1 + (i) : 3 + ((p) - 1) * 2 + (i))
#define in_vec(c) ((vn > 0 && vec[0] == (c)) || (vn > 1 && vec[1] == (c)))
/* Found from the root through set bits (leaf l under table m at bit b). */
#define found(l) (bits[((l) - 3) / 2] && bits[(1 + ((l) - 3) / 2) * 2 + ((l) - 3) % 2])
#define kept(l) (!unsync[l] || in_vec(l) || found(l))
#define all_kept (kept(3) && kept(4) && kept(5) && kept(6))
#define all_synced (!unsync[3] && !unsync[4] && !unsync[5] && !unsync[6])

inline lock() { atomic { mmu_lock == 0 -> mmu_lock = 1 } } /* C: lib/spinlock.h: spin_lock(mmu_lock) */

/* Clear page p's bit i for child c, which must be handed over or in sync. */
inline clear_bit(cp, ci, cc) {
	atomic {
		assert(bits[cp * 2 + ci] && cnt[cp] > 0); /* C: ept/unsync.c: sp_clear_unsync_child_bit (WARN: bit and count agree) */
		assert(cnt[cc] == 0 && (!unsync[cc] || in_vec(cc))); /* C: ept/unsync.c: sp_unsync_walk: clear_unsync_child (property: handed over) */
		bits[cp * 2 + ci] = 0; cnt[cp]-- /* C: ept/unsync.c: sp_clear_unsync_child_bit */
	}
}

inline vec_add(vc) {
	atomic { vec[vn] = vc; vn++ } /* C: ept/unsync.c: vec_add (an index past CAP is an error Spin reports itself) */
}

/*
 * sp_unsync_walk(), written out once per level (Promela has no recursion
 * in an inline): walk_table() over a table page p, whose children are
 * level-1 pages; walk_root() over the root, whose children are tables and
 * which calls walk_table() for each. ret: unsync pages found, or ENOSPC.
 */
inline walk_table(tp, ti, tc, tnr, tret) {
	tnr = 0; tret = 0; ti = 0;
	do
	:: ti == 2 -> tret = tnr; break
	:: ti < 2 && !bits[tp * 2 + ti] -> ti++ /* C: ept/unsync.c: for_each_unsync_bit: next set bit */
	:: ti < 2 && bits[tp * 2 + ti] ->
		tc = child(tp, ti);
#ifdef MUTANT_clear_bit_before_walk
		clear_bit(tp, ti, tc); /* C: ept/unsync.c: sp_unsync_walk (mutant: bit cleared before the child is handed over) */
#endif
		if
		:: !unsync[tc] && cnt[tc] == 0 -> skip /* C: ept/unsync.c: sp_unsync_walk: child in sync, the bit is stale */
		:: else ->
			if
			:: vn >= CAP -> /* C: ept/unsync.c: sp_unsync_walk: vec_full, -ENOSPC with the bit set */
#ifdef MUTANT_unsync_walk_clears_unadded_child
				clear_bit(tp, ti, tc); /* C: ept/unsync.c: sp_unsync_walk (mutant: clears the bit of a child not added) */
#endif
				tret = ENOSPC; break
			:: else -> skip
			fi;
			vec_add(tc);
			tnr++ /* C: ept/unsync.c: sp_unsync_walk: a level-1 page, nr++ */
		fi;
#ifndef MUTANT_clear_bit_before_walk
		clear_bit(tp, ti, tc);
#endif
		ti++
	od
}

inline walk_root(i, c, nr, ret, j, d, nr2, r2) {
	nr = 0; ret = 0; i = 0;
	do
	:: i == 2 -> ret = nr; break
	:: i < 2 && !bits[i] -> i++ /* C: ept/unsync.c: for_each_unsync_bit: next set bit */
	:: i < 2 && bits[i] ->
		c = child(0, i);
#ifdef MUTANT_clear_bit_before_walk
		clear_bit(0, i, c); /* C: ept/unsync.c: sp_unsync_walk (mutant: bit cleared before the child is handed over) */
#endif
		if
		:: !unsync[c] && cnt[c] == 0 -> skip /* C: ept/unsync.c: sp_unsync_walk: child in sync, the bit is stale */
		:: else ->
			if
			:: vn >= CAP -> /* C: ept/unsync.c: sp_unsync_walk: vec_full, -ENOSPC with the bit set */
#ifdef MUTANT_unsync_walk_clears_unadded_child
				clear_bit(0, i, c); /* C: ept/unsync.c: sp_unsync_walk (mutant: clears the bit of a child not added) */
#endif
				ret = ENOSPC; break
			:: else -> skip
			fi;
			vec_add(c);
			walk_table(c, j, d, nr2, r2); /* C: ept/unsync.c: sp_unsync_walk: recurse into the child */
			if
			:: r2 == ENOSPC -> ret = ENOSPC; break /* C: ept/unsync.c: sp_unsync_walk: the child's -ENOSPC, return */
			:: else -> nr = nr + r2 /* C: ept/unsync.c: sp_unsync_walk: ret >= 0, nr += ret */
			fi
		fi;
#ifndef MUTANT_clear_bit_before_walk
		clear_bit(0, i, c);
#endif
		i++
	od
}

/* sync_root(): walk, sync every page handed over, again while -ENOSPC. */
proctype vcpu() {
	byte i, c, nr, ret, j, d, nr2, r2, k, loads = 0;
	do
	:: loads == 2 -> break
	:: loads < 2 ->
		lock(); /* C: ept/shadow.c: shadow_load_root: spin_lock(mmu_lock) */
		if
		:: cnt[0] == 0 -> skip /* C: ept/shadow.c: sync_root: no unsync children */
		:: else ->
			do
			:: vn = 0; /* C: ept/shadow.c: sync_root: vec.n = 0 */
				walk_root(i, c, nr, ret, j, d, nr2, r2);
				assert(all_kept); /* C: ept/unsync.c: sp_unsync_walk returned (property: nothing lost) */
#ifdef MUTANT_caller_skips_pages_on_error
				if :: ret == ENOSPC -> vn = 0 :: else fi; /* C: ept/shadow.c: sync_root (mutant: the pages handed over are dropped on -ENOSPC) */
#endif
				k = 0;
				do
				:: k < vn -> unsync[vec[k]] = 0; k++ /* C: ept/shadow.c: sync_root -> shadow_write_protect_gfn, shadow_flush, sync_page */
				:: k == vn -> break
				od;
#ifdef MUTANT_no_enospc_retry
				break /* C: ept/shadow.c: sync_root (mutant: no second walk after -ENOSPC) */
#else
				if
				:: ret == ENOSPC -> skip /* C: ept/shadow.c: sync_root: -ENOSPC, walk again */
				:: else -> break
				fi
#endif
			od
		fi;
		assert(all_synced); /* C: ept/shadow.c: sync_root returned (property: every unsync page synced) */
		mmu_lock = 0; /* C: ept/shadow.c: shadow_load_root: spin_unlock(mmu_lock) */
		loads++
	od
}

/* sp_mark_unsync(l): l unsync, its bit in its table, the table's in the root. */
inline mark(l) {
	atomic {
		unsync[l] = 1; /* C: ept/unsync.c: sp_mark_unsync */
#ifndef MUTANT_mark_no_parents
		if
		:: !bits[(1 + (l - 3) / 2) * 2 + (l - 3) % 2] -> /* C: ept/unsync.c: sp_set_unsync_child_bit */
			bits[(1 + (l - 3) / 2) * 2 + (l - 3) % 2] = 1;
			cnt[1 + (l - 3) / 2]++;
			if
			:: cnt[1 + (l - 3) / 2] == 1 -> /* C: ept/unsync.c: sp_set_unsync_child_bit: count 0 -> 1, mark_parents_unsync */
				if
				:: !bits[(l - 3) / 2] -> bits[(l - 3) / 2] = 1; cnt[0]++ /* C: ept/unsync.c: sp_set_unsync_child_bit (the root's bit) */
				:: else -> skip
				fi
			:: else -> skip
			fi
		:: else -> skip /* C: ept/unsync.c: sp_set_unsync_child_bit: bit set already */
		fi
#endif
	}
}

/* A guest write to a level-1 table: try_unsync -> sp_mark_unsync, under mmu_lock. */
proctype guest() {
	lock(); /* C: ept/shadow.c: try_unsync: mmu_lock held (the write's fault) */
	if
	:: mark(3) :: mark(4) :: mark(5) :: mark(6)
	fi;
	mmu_lock = 0 /* C: ept/shadow.c: the write's fault drops mmu_lock */
}

init {
	atomic {
		/* Any set of level-1 pages unsync to start with. */
		if :: mark(3) :: skip fi;
		if :: mark(4) :: skip fi;
		if :: mark(5) :: skip fi;
		if :: mark(6) :: skip fi;
		run vcpu(); run guest()
	}
}
