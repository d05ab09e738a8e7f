/*
 * Memslots: a VM's guest-physical memory as a set of slots, each mapping a
 * guest frame range onto a range of host-virtual addresses in the host page
 * tables (the primary MMU). Pure: host-tested.
 *
 * Up to MEMSLOT_MAX slots. slot[] keeps them in the order they were added
 * (a removal moves the last one into the hole), so tests can name a slot by
 * when it was added (slot[1]: the second); @sorted indexes slot[] by
 * base_gfn, so a lookup is a binary search, O(log n), after a check of the
 * slot the previous lookup found (KVM's last_used_slot: faults come in runs
 * inside one slot). Both arrays live in frames (memslots_alloc()), not in
 * struct vm: a VM sits on a kernel stack in the tests, and 500 slots are
 * 20 KiB.
 *
 * Locking: every change and every lookup of a VM's slots runs under its
 * mmu_lock (ept/vm_memslot.c, ept/fault.c); the hint is a plain index that a
 * lookup validates by the range check, so a stale one costs a search, never
 * a wrong answer.
 */
#ifndef MINIHV_MEMSLOT_H
#define MINIHV_MEMSLOT_H

#include "arch/x86/arch.h"

struct frame_alloc;

#define MEMSLOT_MAX 512
#define MEMSLOT_READONLY 1u

struct memslot {
	uint64_t base_gfn;
	uint64_t npages;
	uint64_t hva;          /* host-virtual address of base_gfn */
	unsigned flags;
	/* Statistics kept per slot so tests can count faults inside one slot. */
	uint64_t ept_violations;
};

struct memslots {
	struct memslot *slot;  /* MEMSLOT_MAX entries; [0, n) in use, in the order added */
	uint16_t *sorted;      /* [0, n): indices into slot[], by ascending base_gfn */
	unsigned n;
	unsigned last_used;    /* index into slot[] of the last slot found: a hint */
	uint64_t generation;   /* bumped on every change */
	uint64_t storage_pa;   /* the frames of slot[] and sorted[] (memslots_alloc()) */
};

/* Bytes of storage memslots_setup() needs: slot[] then sorted[]. */
#define MEMSLOTS_STORAGE (MEMSLOT_MAX * (sizeof(struct memslot) + sizeof(uint16_t)))

/* Use @storage (MEMSLOTS_STORAGE bytes, 8-byte aligned) for @ms's arrays; @ms is empty. */
void memslots_setup(struct memslots *ms, void *storage);
/*
 * The storage from @fa's frames, once (a no-op when @ms has it): 0 or
 * -ENOMEM. memslots_free() gives it back; @ms is then empty.
 */
int memslots_alloc(struct memslots *ms, struct frame_alloc *fa);
void memslots_free(struct memslots *ms, struct frame_alloc *fa);

/*
 * Add a slot for [gpa, gpa + size) backed at @hva. Refused with -EINVAL and a
 * message when unaligned or empty, -EEXIST when it overlaps a slot, -ENOSPC
 * when all slots are used (or @ms has no storage).
 */
int memslot_add(struct memslots *ms, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		char *err, size_t errlen);
/* Remove the slot starting at @gpa; -ENOENT if none. */
int memslot_remove(struct memslots *ms, uint64_t gpa);
/* The slot holding @gfn or NULL: the last one found if it does, else a binary search. */
struct memslot *memslot_find(struct memslots *ms, uint64_t gfn);
/*
 * The same with a hint of the caller's own (a vCPU's, as KVM keeps one per
 * vCPU): *@hint is tried first and set to what was found.
 */
struct memslot *memslot_find_hint(struct memslots *ms, uint64_t gfn, unsigned *hint);

static inline uint64_t memslot_gfn_to_hva(const struct memslot *s, uint64_t gfn)
{
	return s->hva + ((gfn - s->base_gfn) << 12);
}

/* The hva of the page holding @gpa; a slot of @ms must cover it (the caller made it so). */
static inline uint64_t memslots_page_hva(struct memslots *ms, uint64_t gpa)
{
	return memslot_gfn_to_hva(memslot_find(ms, gpa >> 12), gpa >> 12);
}

/*
 * Largest level (1 = 4K, 2 = 2M, 3 = 1G, at most @max_level) at which @gfn
 * can be mapped by one leaf: the aligned block around gfn lies inside the
 * slot and gfn and hva are congruent modulo the block size.
 */
int memslot_max_level(const struct memslot *s, uint64_t gfn, int max_level);

#endif
