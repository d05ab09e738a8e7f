/*
 * Physical frame allocator: one bit per 4 KiB frame (1 = in use). Hands out
 * single frames and naturally aligned runs of 2^order frames (order 9 = 2 MiB,
 * order 18 = 1 GiB). Pure bookkeeping, no memory is touched: host-tested.
 * Everything starts in use; the boot code releases the available regions of
 * the memory map and then reserves what is already taken.
 */
#ifndef MINIHV_FRAME_H
#define MINIHV_FRAME_H

#include "lib/lib.h"
#include "arch/x86/arch.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define FRAME_ORDER_4K 0
#define FRAME_ORDER_2M 9
#define FRAME_ORDER_1G 18

struct frame_alloc {
	uint64_t *bitmap;
	uint64_t nframes; /* frames [0, nframes) are tracked; a multiple of 64 */
	uint64_t nfree;
	uint64_t hint;    /* first bitmap word that may have a free 4 KiB frame */
	struct spinlock lock; /* every CPU allocates: the bitmap, nfree and hint */
};

/* @bitmap must hold @nframes bits (rounded up to 64). */
void frame_init(struct frame_alloc *fa, uint64_t *bitmap, uint64_t nframes);
/* Mark the whole frames inside [start, end) free. */
void frame_release_range(struct frame_alloc *fa, uint64_t start, uint64_t end);
/* Mark every frame touching [start, end) in use. */
void frame_reserve_range(struct frame_alloc *fa, uint64_t start, uint64_t end);
/* Lowest free naturally aligned run of 2^order frames; -ENOMEM if none. */
int frame_alloc(struct frame_alloc *fa, unsigned order, uint64_t *pa);
/* -EINVAL (and a warning) for a misaligned, untracked or already free run. */
int frame_free(struct frame_alloc *fa, uint64_t pa, unsigned order);
bool frame_is_free(const struct frame_alloc *fa, uint64_t pa);

#endif
