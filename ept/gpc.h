/*
 * gfn-to-pfn cache (seed ../shared/seeds/001_2f6288b8cba2f4fe.txt, Linux's
 * virt/kvm/pfncache.c): a guest page the
 * hypervisor itself reads or writes, mapped once and kept honest by the same
 * invalidations that keep EPT coherent. Pure: host-tested.
 *
 * Locks: @lock (reader/writer) protects the mapping: users hold it for read
 * while they touch the page, invalidations and refresh take it for write.
 * @refresh_lock serialises refreshes. The VM's active caches are on a list
 * and in an index by uhva (an AVL tree, vm->gpc_index), both under the VM's
 * mmu_lock: invalidate_range_start finds the caches its range covers in
 * O(log caches + hits), not by visiting every cache (issue 22).
 *
 * Typical use, with the check/refresh loop hidden (seed 001's proposal):
 *	void *p;
 *	if (gpc_lock(gpc, len, &p) == 0) {
 *		... read/write p[0 .. len) ...
 *		gpc_unlock(gpc);
 *	}
 */
#ifndef MINIHV_GPC_H
#define MINIHV_GPC_H

#include "lib/lib.h"
#include "arch/x86/arch.h"

struct vm;

/* Points in gpc_refresh() where a test can run an invalidation (race harness). */
enum gpc_step {
	GPC_STEP_UNLOCKED, /* lock dropped, before the host walk */
	GPC_STEP_WALKED,   /* after the host walk, before re-taking the lock */
};

struct gpc {
	struct vm *vm;
	struct rwlock lock;
	struct spinlock refresh_lock;
	uint64_t gpa;
	uint64_t len;
	uint64_t uhva;        /* host-virtual address of the page (memslot backing) */
	uint64_t pa;          /* host-physical address of the page, or INVALID_GPA */
	void *khva;           /* pointer to gpa's byte through the direct map, or NULL */
	uint64_t generation;  /* memslot generation uhva was computed for */
	bool active;
	bool valid;
	bool invalidated;     /* an invalidation hit the page while refresh had it unlocked */
	struct gpc *next;     /* on vm->gpc_list */
	/* In vm->gpc_index, keyed by (uhva, address): under mmu_lock, as uhva's changes. */
	struct gpc *idx_left, *idx_right;
	int idx_height;
	/* Statistics and test hooks. */
	uint64_t refreshes, refresh_loops;
	void (*hook)(struct gpc *gpc, enum gpc_step step, void *ctx);
	void *hook_ctx;
};

void gpc_init(struct gpc *gpc, struct vm *vm);
/*
 * Start caching [gpa, gpa + len). -EINVAL (nothing changed) when gpa is
 * INVALID_GPA, len is 0 or the range crosses a page; -EFAULT when no memslot
 * backs it. On success the cache is active and valid.
 */
int gpc_activate(struct gpc *gpc, uint64_t gpa, uint64_t len);
/* Stop caching: nothing stays mapped, the cache leaves the VM's list. */
void gpc_deactivate(struct gpc *gpc);
/* @lock held for read: true if the mapping may be used for @len bytes. */
bool gpc_check(struct gpc *gpc, uint64_t len);
/* Re-establish the mapping; 0 or -EINVAL/-EFAULT (page not mapped by the host). */
int gpc_refresh(struct gpc *gpc, uint64_t len);
/*
 * Check, refreshing as needed; on 0 the lock is held for read and *p points
 * to the guest bytes. On error the lock is not held.
 */
int gpc_lock(struct gpc *gpc, uint64_t len, void **p);
void gpc_unlock(struct gpc *gpc);

/* Called by the VM's invalidate_range_start (ept/mmu.c), mmu_lock held. */
void gpc_invalidate_start(struct vm *vm, uint64_t start, uint64_t end);

#endif
