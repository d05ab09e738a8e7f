/* The guest's page walk for the shadow MMU (ept/shadow_walk.c). Inside ept/ only. */
#ifndef MINIHV_SHADOW_WALK_H
#define MINIHV_SHADOW_WALK_H

#include "ept/shadow.h"

struct vm;

struct gwalk {
	int level;                          /* the guest leaf's level: 1, 2 or 3 */
	uint64_t gpte[PT_LEVELS + 1];       /* the entry read at each level */
	uint64_t table_gfn[PT_LEVELS + 1];  /* the guest table read at each level */
	uint64_t gfn;                       /* the 4 KiB guest frame @gva is in */
	bool w, u, nx;                      /* the rights the levels combine to */
	uint64_t missing_hva;               /* -EAGAIN: the host page to fault in */
	uint64_t bad_gpa;                   /* -EFAULT/-EAGAIN: the entry's GPA */
	/*
	 * The guest's paging is off: no table was read, @gfn is the linear
	 * address's own, and gpte[PT_LEVELS] (@level) a made-up entry that
	 * allows everything, as if one huge guest page mapped all of memory.
	 */
	bool nonpaging;
};

/*
 * Walk the guest's tables for an access of @access (X86_PF_* bits). 0: it
 * is allowed (with @set_ad, accessed/dirty bits are set as the CPU would);
 * 1: the guest takes a #PF with *@pfec; -EAGAIN: a table's host page is not
 * mapped now (fault in w->missing_hva and walk again); -EFAULT: a table
 * outside the guest's RAM. mmu_lock held (memslots stay).
 */
int shadow_walk(struct vm *vm, const struct shadow_mode *m, uint64_t gva, uint32_t access,
		struct gwalk *w, uint32_t *pfec, bool set_ad);
/* Both walks found the same translation (accessed/dirty bits aside). */
bool shadow_walk_same(const struct gwalk *a, const struct gwalk *b);
/* Host pointer to the 8-byte word at @gpa if mapped now; NULL (with *@missing_hva if not mapped). */
uint64_t *shadow_gpa_word(struct vm *vm, uint64_t gpa, bool *writable, uint64_t *missing_hva);

#endif
