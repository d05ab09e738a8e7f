/*
 * Remote flushes (virt/remote.c, virt/vcpu.h; ../shared/DESIGN.md "Freeing
 * order"): the flusher bumps vm->tlb_gen, then under vcpus_lock kicks every
 * vCPU it sees in guest mode and waits for it to leave; a vCPU sets its mode
 * to IN_GUEST, then reads tlb_gen and flushes its own TLB if it moved
 * (Dekker's pattern). Two vCPUs register themselves concurrently, then each
 * enters and leaves the guest twice; one flush runs beside them.
 *
 * Memory model: x86-TSO (SDM Vol. 3A 9.2.2; Owens, Sarkar, Sewell, "A
 * better x86 memory model: x86-TSO"). Each vCPU's CPU has a store buffer
 * of two entries: a plain store (gcc's mov for a RELEASE store) waits there
 * until its drain process commits it to memory, in order; a load sees its
 * own CPU's newest buffered store first. A locked instruction (xchg for a
 * SEQ_CST store, lock xadd for __atomic_add_fetch, the spinlocks' cmpxchg)
 * waits for its CPU's buffer to drain and acts on memory at once. The
 * flusher's only stores are locked (the tlb_gen increment, vcpus_lock), so
 * it has no buffer.
 *
 * Property: when vcpu_flush_vm() returns, no vCPU is in guest mode with a
 * TLB generation older than the flush, and none enters later with one.
 *
 * Where the C code departs from the model, and why that is safe:
 * - minihv's vcpu->mode has no EXITING state (KVM's): a kicked vCPU goes
 *   straight to OUTSIDE_GUEST, and the flusher waits for mode to leave
 *   IN_GUEST or for v->entries to move (it left and came back, and so read
 *   tlb_gen after the bump). The model keeps exactly these two states.
 * - The kick (smp_kick's IPI) is not modelled as a message: a vCPU in guest
 *   mode may leave at any step, which covers the exit the IPI forces.
 *   Whether it does leave is a liveness question left to the host tests
 *   (tests/host/test_remote.c) and the kernel's smp_remote_flush_kicks.
 * - The wait loop reads mode and entries in one step; C reads mode, then
 *   entries. A vCPU that re-enters between the two loads had already bumped
 *   entries (a locked add) before its new SEQ_CST mode store, so the second
 *   load sees it moved: the same exit.
 * - The vCPU on the flusher's own CPU is skipped in C (it flushes before
 *   entering); the model's flusher runs on a CPU of its own.
 * - A plain (unlocked) tlb_gen store would still be safe on x86, as the
 *   spin_lock(vcpus_lock) after it is a locked instruction that drains it;
 *   so no mutant for that: it is equivalent here.
 */
#define NV 2          /* vCPUs 0 and 1 */
#define SB 2          /* store buffer entries per CPU */
#define OUTSIDE 0     /* VCPU_OUTSIDE_GUEST */
#define IN_GUEST 1    /* VCPU_IN_GUEST */
#define ENTRIES 2     /* guest entries per vCPU */

byte tlb_gen;             /* vm->tlb_gen */
byte mode[NV];            /* v->mode, in memory */
byte entries[NV];         /* v->entries, in memory */
byte vcpus[NV];           /* vm->vcpus[]: vCPU id + 1, 0 = free */
bit vcpus_lock;           /* vm->vcpus_lock */
byte my_gen[NV];          /* v->tlb_gen: the generation its TLB holds (private) */
bool in_guest[NV];        /* ghost: running guest code */
byte flushed;             /* ghost: the generation vcpu_flush_vm() returned for */

/* Each vCPU's store buffer: the mode stores (the only plain stores it makes). */
byte sb_n[NV];
byte sb_val[NV * SB];

#define no_stale(v) (!in_guest[v] || my_gen[v] >= flushed)

inline lock_vcpus() { atomic { vcpus_lock == 0 -> vcpus_lock = 1 } } /* C: lib/spinlock.h: spin_lock(vcpus_lock) (a locked cmpxchg) */

/* A plain store of mode (mov): into the buffer. */
inline store_mode_buffered(v, val) {
	atomic { sb_n[v] < SB -> sb_val[v * SB + sb_n[v]] = val; sb_n[v]++ } /* C: (x86-TSO: the plain store of v->mode waits in the store buffer) */
}
/* A locked store (xchg): the buffer drains first. */
inline store_mode_locked(v, val) {
	atomic { sb_n[v] == 0 -> mode[v] = val } /* C: (x86-TSO: xchg drains the store buffer, then stores v->mode) */
}

proctype drain(byte v) {
end:	do
	:: atomic { sb_n[v] > 0 -> mode[v] = sb_val[v * SB]; sb_val[v * SB] = sb_val[v * SB + 1]; sb_val[v * SB + 1] = 0; sb_n[v]-- } /* C: (x86-TSO: the CPU's store buffer commits its oldest store to memory) */
	od
}

proctype vcpu(byte v) {
	byte i, n, gen;
	/* vcpu_register(): the first free slot */
#ifndef MUTANT_register_without_lock
	lock_vcpus(); /* C: virt/remote.c: vcpu_register: spin_lock(vcpus_lock) */
#endif
	i = 0;
	do
	:: i < NV && vcpus[i] != 0 -> i++ /* C: virt/remote.c: register_locked: slot taken */
	:: i < NV && vcpus[i] == 0 -> vcpus[i] = v + 1; break /* C: virt/remote.c: register_locked: vm->vcpus[i] = v */
	:: i == NV -> assert(false) /* C: virt/remote.c: register_locked: -ENOSPC */
	od;
#ifndef MUTANT_register_without_lock
	vcpus_lock = 0; /* C: virt/remote.c: vcpu_register: spin_unlock(vcpus_lock) */
#endif
	n = 0;
	do
	:: n == ENTRIES -> break
	:: n < ENTRIES ->
#ifdef MUTANT_in_guest_without_fence
		store_mode_buffered(v, IN_GUEST); /* C: virt/vcpu.h: vcpu_enter_guest_mode: mode = IN_GUEST (mutant: plain mov, no fence) */
#else
		store_mode_locked(v, IN_GUEST); /* C: virt/vcpu.h: vcpu_enter_guest_mode: mode = IN_GUEST (SEQ_CST: xchg) */
#endif
		gen = tlb_gen; /* C: virt/vcpu.h: vcpu_enter_guest_mode: load vm->tlb_gen */
		if
#ifndef MUTANT_entry_ignores_flush_request
		:: gen != my_gen[v] -> my_gen[v] = gen /* C: virt/vcpu.h: vcpu_enter_guest_mode: gen moved, flush_local */
#endif
		:: else -> skip /* C: virt/vcpu.h: vcpu_enter_guest_mode: gen unchanged */
		fi;
		atomic {
			in_guest[v] = 1; /* C: vmx/vcpu.c, svm/vcpu.c: VM entry (the guest runs) */
			assert(no_stale(v)) /* C: virt/vcpu.h: vcpu_enter_guest_mode done, the guest runs (property: no guest on an old TLB after a flush) */
		};
		in_guest[v] = 0; /* C: vmx/vcpu.c, svm/vcpu.c: VM exit (kicked or not) */
		atomic { sb_n[v] == 0 -> entries[v]++ }; /* C: virt/vcpu.h: vcpu_exit_guest_mode: entries++ (lock add) */
		store_mode_buffered(v, OUTSIDE); /* C: virt/vcpu.h: vcpu_exit_guest_mode: mode = OUTSIDE (RELEASE: mov) */
		n++
	od
}

proctype flusher() {
	byte i, v, e, G;
#ifndef MUTANT_gen_bumped_after_kick
	atomic { tlb_gen++; G = tlb_gen }; /* C: virt/remote.c: vcpu_flush_vm: tlb_gen++ (lock xadd) */
#endif
	lock_vcpus(); /* C: virt/remote.c: vcpu_flush_vm: spin_lock(vcpus_lock) */
	i = 0;
	do
	:: i == NV -> break
	:: i < NV && vcpus[i] == 0 -> i++ /* C: virt/remote.c: kick_vcpus_locked: empty slot */
	:: i < NV && vcpus[i] != 0 ->
		v = vcpus[i] - 1;
		e = entries[v]; /* C: virt/remote.c: kick_vcpus_locked: load v->entries */
		if
		:: mode[v] != IN_GUEST -> skip /* C: virt/remote.c: kick_vcpus_locked: mode != IN_GUEST, skip */
		:: else -> /* C: virt/remote.c: kick_vcpus_locked: mode == IN_GUEST */
#ifndef MUTANT_no_kick
			skip; /* C: virt/remote.c: kick_vcpus_locked: smp_kick */
			(mode[v] != IN_GUEST || entries[v] != e) /* C: virt/remote.c: kick_vcpus_locked: wait until it left */
#else
			skip /* C: virt/remote.c: kick_vcpus_locked (mutant: no kick, no wait) */
#endif
		fi;
		i++
	od;
#ifdef MUTANT_gen_bumped_after_kick
	atomic { tlb_gen++; G = tlb_gen }; /* C: virt/remote.c: vcpu_flush_vm: tlb_gen++ (mutant: after the kicks) */
#endif
	vcpus_lock = 0; /* C: virt/remote.c: vcpu_flush_vm: spin_unlock(vcpus_lock) */
	atomic {
		flushed = G; /* C: virt/remote.c: vcpu_flush_vm returns */
		assert(no_stale(0) && no_stale(1)) /* C: virt/remote.c: vcpu_flush_vm returned (property) */
	}
}

init {
	atomic {
		run drain(0); run drain(1);
		run vcpu(0); run vcpu(1);
		run flusher()
	}
}
