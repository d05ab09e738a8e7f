/*
 * A virtual machine: its memslots, its EPT (the secondary MMU), the MMU lock
 * and invalidation state, and its statistics. ept/ owns all of it except the
 * vCPU (virt/vcpu.h).
 */
#ifndef MINIHV_VM_H
#define MINIHV_VM_H

#include "ept/inval.h"
#include "ept/memslot.h"
#include "ept/shadow.h"
#include "mm/mm.h"
#include "lib/lib.h"

/*
 * Counters bumped by every CPU without a lock (faults run in parallel): one
 * atomic add each, relaxed (statistics order nothing).
 */
#define vm_stat_add(vm, field, n) \
	((void)__atomic_fetch_add(&(vm)->stats.field, (uint64_t)(n), __ATOMIC_RELAXED))
#define vm_stat_inc(vm, field) vm_stat_add(vm, field, 1)

struct vm_stats {
	uint64_t ept_violations;
	uint64_t ept_installed[PT_LEVELS];  /* leaves installed, by level (1 = 4K) */
	uint64_t ept_spurious;              /* violation on an already-mapped gfn */
	uint64_t ept_retries;               /* faults thrown away by retry checks */
	uint64_t ept_retries_unlocked;      /* ... of which by the lockless pre-check */
	uint64_t ept_zaps;                  /* EPT leaves zapped by invalidations */
	uint64_t invalidations;             /* begin/end batches that touched a memslot */
	uint64_t host_faultins;             /* backing pages the fault path mapped in */
	uint64_t numa_faults;               /* NUMA hint faults taken for the guest */
	uint64_t invept;
	uint64_t remote_kicks;              /* IPIs sent to vCPUs in guest mode by flushes */
	/* Shadow paging (ept/shadow*.c); all 0 with EPT/NPT. */
	uint64_t shadow_faults;        /* guest #PFs minihv intercepted */
	uint64_t shadow_reflected;     /* ... of which the guest's own, given back to it */
	uint64_t shadow_pages_created; /* shadow pages allocated */
	uint64_t shadow_pages_zapped;  /* shadow pages dropped (guest writes, teardown) */
	uint64_t shadow_reclaimed;     /* ... of which to stay under the bound (oldest first) */
	uint64_t shadow_unprotected;   /* guest tables unshadowed for a write not emulated */
	uint64_t shadow_wp_faults;     /* writes to a write-protected guest table */
	uint64_t shadow_unsynced;      /* ... that left a level-1 table unsync instead */
	uint64_t shadow_emulated;      /* ... that minihv emulated (upper levels, unsync off) */
	uint64_t shadow_sync_walks;    /* unsync walks (CR3 loads, INVLPGs) */
	uint64_t shadow_synced;        /* unsync pages those walks synced */
	uint64_t shadow_sync_changed;  /* guest entries a sync found changed: each one a
					* write-protect fault that unsync avoided */
	uint64_t shadow_root_loads;    /* CR3 loads (a root looked up or built) */
};

/* Points in the fault path where a test can run an invalidation (race harness). */
enum fault_step {
	FAULT_STEP_SNAPSHOT, /* after the seq snapshot */
	FAULT_STEP_WALKED,   /* after the host page-table walk */
	FAULT_STEP_LOCK,     /* just before taking mmu_lock to install */
	FAULT_STEPS,
};

#define VM_MAX_VCPUS 8
/* vm_add_ram() calls per VM (memslots added directly may be up to MEMSLOT_MAX). */
#define VM_RAM_MAX 8

struct vm {
	int id;
	const char *name;
	struct memslots slots;
	struct pt ept;
	int ept_max_level;      /* largest EPT leaf the CPU supports */
	bool ept_ad;
	uint64_t hva_next;      /* bump allocator for backing addresses */
	struct {
		uint64_t hva, size;
		bool lazy;      /* VM_RAM_LAZY: pages mapped on first access */
	} ram[VM_RAM_MAX];      /* host ranges vm_add_ram() mapped: freed by vm_destroy() */
	unsigned nram;
	struct spinlock mmu_lock;
	struct mmu_inval inval;
	/*
	 * Invalidations between start() and end(), whether or not they touch a
	 * memslot (inval counts only those that do); memslot changes are kept
	 * out while it is non-zero. Under mmu_lock.
	 */
	long mn_active;
	/*
	 * Of those, the ones each CPU is inside (between its start() and
	 * end()), by cpu_id(): what may wait for invalidations to end (a
	 * memslot change, gpc_refresh()) must not wait for its own CPU's.
	 * Under mmu_lock; a CPU reads its own count without it.
	 */
	uint16_t mn_active_cpu[LOCKDEP_MAX_CPUS];
	bool bugged;            /* VM_BUG_ON fired: never run it again */
	char bug_reason[160];
	struct vm_stats stats;
	struct mm *mm;          /* the primary MMU holding this VM's backing */
	struct mmu_notifier mn;
	void (*flush)(struct vm *vm); /* INVEPT in the kernel, a counter in host tests */
	void (*fault_hook)(struct vm *vm, enum fault_step step, void *ctx);
	void *fault_hook_ctx;
	struct gpc *gpc_list;   /* active gfn-to-pfn caches (ept/gpc.c), under mmu_lock */
	struct gpc *gpc_index;  /* the same caches by uhva (ept/gpc.c), under mmu_lock */
	/*
	 * Its vCPUs (struct vcpu, virt/), each on its own CPU; registered
	 * before they run. The array, @nr_vcpus (how many are in it) and
	 * @vcpu (the first one ever registered, kept for the debug helpers
	 * until the VM goes) change only under @vcpus_lock, which the remote
	 * flush holds while it looks at the vCPUs: a vCPU's memory may be
	 * reused once vcpu_unregister() returned (virt/remote.c).
	 */
	struct spinlock vcpus_lock;
	void *vcpu;
	void *vcpus[VM_MAX_VCPUS];
	unsigned nr_vcpus;
	unsigned max_vcpus_seen;  /* the most it had at once: its console tags lines by vCPU then */
	/* Remote flush requests (virt/remote.c): a vCPU flushes when it sees a new one. */
	uint64_t tlb_gen;
	/* Shadow paging instead of EPT/NPT (ept/shadow.h); @ept stays empty then. */
	bool shadow;
	struct shadow_mmu smmu;
};

/* Live VMs, for the debug helpers (gdb's hv-* commands, dump=). */
#define VM_REGISTRY_MAX 16
extern struct vm *vm_registry[VM_REGISTRY_MAX];
/* Called by vm_destroy() first when set (the dump= option). */
extern void (*vm_destroy_hook)(struct vm *vm);

/*
 * What a vCPU backend offers the secondary MMU (vmx/ept_caps.c for VMX):
 * the sizes a leaf may have, accessed/dirty bits, and the flush. The MMU
 * never looks at the vendor's capabilities itself.
 */
struct mmu_caps {
	const struct pt_fmt *fmt;     /* the tables' format: &ept_fmt (NULL too) or &npt_fmt */
	unsigned leaf_levels;         /* bit L: leaves of level L (4 KiB always) */
	bool ad;                      /* leaves have accessed/dirty bits */
	void (*flush)(struct vm *vm); /* make every CPU forget the VM's translations */
	bool shadow;                  /* no EPT/NPT (or mmu=shadow): shadow paging */
};

/* 0 or -errno with a message in @err. */
int vm_create(struct vm *vm, const char *name, const struct mmu_caps *caps, char *err,
	      size_t errlen);
void vm_destroy(struct vm *vm);
/* One line of seed 004's figures, what shadowing the VM cost: "@prefix shadow: N faults ...". */
void vm_print_shadow_stats(const struct vm *vm, const char *prefix);

/*
 * Give the VM [gpa, gpa + size) of RAM backed by freshly allocated host pages
 * of @backing_level (1 = 4K, 2 = 2M, 3 = 1G), mapped at a new host-virtual
 * range. @hva_skew starts the slot that many 4 KiB pages into its first host
 * page, so gfn and hva are not congruent (tests). Returns 0 or -errno.
 *
 * With VM_RAM_LAZY in @flags (4 KiB backing, no skew) nothing is allocated
 * now: each page is mapped, zeroed, by mm_fault_in() on its first access
 * (the EPT/NPT fault path, vm_read_guest()/vm_write_guest(),
 * vm_gpa_to_host()), as Linux backs a guest with anonymous memory. Setup
 * then costs nothing per page and teardown what the guest touched (issue
 * 22). A page the host unmaps later is faulted in again, zeroed.
 */
#define VM_RAM_LAZY (1u << 31)
int vm_add_ram(struct vm *vm, uint64_t gpa, uint64_t size, int backing_level, unsigned flags,
	       uint64_t hva_skew, char *err, size_t errlen);

/*
 * Host pointer for guest-physical [gpa, gpa + len) if one memslot covers it
 * and the host maps every page of it now (writable, in a slot that is not
 * read-only, when @write), pages of lazy RAM faulted in; NULL otherwise. Valid
 * until the next host-mapping change (long-lived access goes through a gpc).
 */
void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len, bool write);

/* Kill the guest, keep the host (KVM_BUG_ON). */
#define VM_BUG_ON(cond, vm)                                                    \
	({                                                                     \
		bool __b = !!(cond);                                           \
		if (unlikely(__b))                                             \
			vm_mark_bugged(vm, __FILE__, __LINE__, #cond);         \
		__b;                                                           \
	})
void vm_mark_bugged(struct vm *vm, const char *file, int line, const char *why);

/* Flush the VM's EPT translations (single-context INVEPT when supported). */
void vm_flush_ept(struct vm *vm);

/* ept/mmu.c (pure, host-tested): the secondary MMU against vm->mm. */

/*
 * Subscribe @vm to @mm's notifiers; vm->ept, vm->flush must be set up. Waits
 * while a change of @mm is between its start() and end(): never call it from
 * a notifier or an mm step hook.
 */
void vm_mmu_attach(struct vm *vm, struct mm *mm);
void vm_mmu_detach(struct vm *vm);
/*
 * The vCPU backends' way in (an EPT violation, later an NPT fault): a guest
 * access of @access (PT_PROT_R, _W or _X; the backend decodes its exit
 * information) at @gpa missed the secondary MMU. Returns 0 to resume
 * the guest (mapped, or retry), -EFAULT (no memslot), -EACCES (write to a
 * read-only slot), -EPERM (write to a page the host write-protected: the
 * vCPU exits to its caller, who may restore access and resume), -errno
 * otherwise; @why says what happened.
 */
int mmu_fault(struct vm *vm, uint64_t gpa, unsigned access, char *why, size_t len);
/*
 * One vCPU's copy of the memslot its last fault found (KVM's
 * last_used_slot), kept while the VM's memslot generation stays the same:
 * a fault in the same slot finds it without mmu_lock (ept/fault.c says why
 * that is safe). Zeroed: empty.
 */
struct memslot_cache {
	uint64_t generation;
	struct memslot *slot;
	struct memslot copy;
};
/* mmu_fault() for a vCPU, with its memslot cache (@mc: NULL for none). */
int mmu_fault_cached(struct vm *vm, struct memslot_cache *mc, uint64_t gpa, unsigned access,
		     char *why, size_t len);
/* This CPU is between an invalidation's start() and end() on @vm. */
bool vm_in_invalidation_here(struct vm *vm);
/*
 * Memslot changes wait until no invalidation is active (mn_active), then
 * change the slots under mmu_lock. -EDEADLK (nothing changed) when this
 * CPU is itself inside an invalidation (a notifier or step hook): it would
 * wait for itself.
 */
int vm_memslot_add(struct vm *vm, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		   char *err, size_t errlen);
int vm_memslot_remove(struct vm *vm, uint64_t gpa);
/*
 * Invariant: every present EPT leaf maps the frame the host page tables map
 * for its gfn. Returns the number of leaves that do not (first one in @why).
 */
long ept_check_coherent(struct vm *vm, char *why, size_t len);
/* The level of the secondary MMU's leaf for @gpa, 0 if none (tests). */
int mmu_mapping_level(struct vm *vm, uint64_t gpa);

/*
 * The rest of ept/'s public interface: other areas include ept/vm.h only
 * (scripts/check-layers.sh).
 */
#include "ept/ept_fmt.h"
#include "ept/npt_fmt.h"
#include "ept/gpc.h"
#include "ept/guest_mem.h"

#endif
