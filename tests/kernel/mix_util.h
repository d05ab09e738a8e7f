/*
 * Pieces of the host-change mixes that run against a live guest's memory
 * (tests/kernel/test_smp_stress.c, test_linux_mix.c): a seeded generator,
 * the migrate that poisons the frame it leaves, and the coherence check
 * each change is followed by.
 */
#ifndef MINIHV_TEST_MIX_UTIL_H
#define MINIHV_TEST_MIX_UTIL_H

#include "ept/vm.h"
#include "mm/mm.h"

/* What a freed guest frame is filled with: a guest that reads it has read a stale mapping. */
#define MIX_POISON 0xdb

/* xorshift64: seeded, so a failing run can be replayed. */
static inline uint64_t mix_rnd(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Fill the frame at @pa with MIX_POISON, then free it: nobody may map it any more. */
static inline void mix_free_poisoned(uint64_t pa)
{
	memset(phys_to_virt(pa), MIX_POISON, PAGE_SIZE);
	frame_free(&phys_frames, pa, FRAME_ORDER_4K);
}

/* Move the 4 KiB page at @hva to a fresh frame; the old one is poisoned, then freed. */
static inline int mix_migrate(uint64_t hva)
{
	uint64_t fresh, old;
	int r = frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh);

	if (r)
		return r;
	r = mm_migrate(&host_mm, hva, fresh, &old);
	if (r) {
		frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
		return r;
	}
	mix_free_poisoned(old);
	return 0;
}

/* Write-protect the 4 KiB page at @hva, then give write access back: an mprotect() round trip. */
static inline long mix_protect_cycle(uint64_t hva)
{
	long r = mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_R, false);

	return r < 0 ? r : mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_RW, false);
}

/* NUMA-hint the block of @pages pages around @hva: the pages hinted, or -errno. */
static inline long mix_numa(uint64_t hva, unsigned pages)
{
	return mm_protect(&host_mm, ALIGN_DOWN(hva, pages * PAGE_SIZE), pages * PAGE_SIZE, 0, true);
}

/*
 * ept_check_coherent() under mmu_lock (with shadow paging, the auditor
 * too): the leaves that map another frame than the host's, the first in @why.
 */
static inline long mix_incoherent(struct vm *vm, char *why, size_t len)
{
	spin_lock(&vm->mmu_lock);
	long bad = ept_check_coherent(vm, why, len);
	spin_unlock(&vm->mmu_lock);
	return bad;
}

#endif
