/*
 * A virtual machine: its memslots, its EPT (the secondary MMU), the MMU lock
 * and invalidation state, and its statistics. ept/ owns all of it except the
 * vCPU (vmx/vcpu.h).
 */
#ifndef MINIHV_VM_H
#define MINIHV_VM_H

#include "inval.h"
#include "memslot.h"
#include "pt.h"
#include "spinlock.h"
#include "vmcs_defs.h"

struct vm_stats {
	uint64_t exits_total;
	uint64_t exits[EXIT_REASON_MAX];
	uint64_t ept_violations;
	uint64_t ept_installed[PT_LEVELS];  /* leaves installed, by level (1 = 4K) */
	uint64_t ept_spurious;              /* violation on an already-mapped gfn */
	uint64_t ept_retries;               /* faults thrown away by retry checks */
	uint64_t invept;
	uint64_t hypercalls;
	uint64_t io_exits;
};

struct vm {
	int id;
	const char *name;
	struct memslots slots;
	struct pt ept;
	int ept_max_level;      /* largest EPT leaf the CPU supports */
	bool ept_ad;
	bool invept_single;
	uint64_t eptp;
	uint64_t hva_next;      /* bump allocator for backing addresses */
	struct spinlock mmu_lock;
	struct mmu_inval inval;
	bool bugged;            /* VM_BUG_ON fired: never run it again */
	char bug_reason[160];
	struct vm_stats stats;
};

struct vmx_caps;

/* 0 or -errno with a message in @err. */
int vm_create(struct vm *vm, const char *name, const struct vmx_caps *caps, char *err,
	      size_t errlen);
void vm_destroy(struct vm *vm);

/*
 * Give the VM [gpa, gpa + size) of RAM backed by freshly allocated host pages
 * of @backing_level (1 = 4K, 2 = 2M, 3 = 1G), mapped at a new host-virtual
 * range. @hva_skew starts the slot that many 4 KiB pages into its first host
 * page, so gfn and hva are not congruent (tests). Returns 0 or -errno.
 */
int vm_add_ram(struct vm *vm, uint64_t gpa, uint64_t size, int backing_level, unsigned flags,
	       uint64_t hva_skew, char *err, size_t errlen);

/* Host pointer for guest-physical [gpa, gpa + len) if one memslot covers it. */
void *vm_gpa_to_host(struct vm *vm, uint64_t gpa, uint64_t len);

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

/* EPT violation at @gpa with exit qualification @qual: 0 to resume the
 * guest, -EFAULT (no slot), -EACCES (write to read-only), -errno otherwise;
 * @why says what happened. */
int ept_handle_violation(struct vm *vm, uint64_t gpa, uint64_t qual, char *why, size_t len);

#endif
