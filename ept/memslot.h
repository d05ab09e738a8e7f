/*
 * Memslots: a VM's guest-physical memory as a set of slots, each mapping a
 * guest frame range onto a range of host-virtual addresses in the host page
 * tables (the primary MMU). Pure: host-tested.
 */
#ifndef MINIHV_MEMSLOT_H
#define MINIHV_MEMSLOT_H

#include "arch/x86/arch.h"

#define MEMSLOT_MAX 8
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
	struct memslot slot[MEMSLOT_MAX];
	unsigned n;
	uint64_t generation;   /* bumped on every change */
};

/*
 * Add a slot for [gpa, gpa + size) backed at @hva. Refused with -EINVAL and a
 * message when unaligned or empty, -EEXIST when it overlaps a slot, -ENOSPC
 * when all slots are used.
 */
int memslot_add(struct memslots *ms, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		char *err, size_t errlen);
/* Remove the slot starting at @gpa; -ENOENT if none. */
int memslot_remove(struct memslots *ms, uint64_t gpa);
struct memslot *memslot_find(struct memslots *ms, uint64_t gfn);

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
