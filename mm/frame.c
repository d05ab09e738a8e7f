#include "mm/frame.h"
#include "lib/lib.h"

static bool test_bit(const uint64_t *bm, uint64_t n)
{
	return (bm[n / 64] >> (n % 64)) & 1;
}

static void set_bits(struct frame_alloc *fa, uint64_t first, uint64_t count, bool used)
{
	for (uint64_t n = first; n < first + count; n++) {
		uint64_t bit = 1ULL << (n % 64);
		uint64_t *w = &fa->bitmap[n / 64];

		if (used && !(*w & bit)) {
			*w |= bit;
			fa->nfree--;
		} else if (!used && (*w & bit)) {
			*w &= ~bit;
			fa->nfree++;
		}
	}
	if (!used && first / 64 < fa->hint)
		fa->hint = first / 64;
}

void frame_init(struct frame_alloc *fa, uint64_t *bitmap, uint64_t nframes)
{
	fa->bitmap = bitmap;
	fa->nframes = ALIGN_UP(nframes, 64);
	fa->nfree = 0;
	fa->hint = 0;
	spin_lock_init(&fa->lock, LOCK_RANK_FRAME, "frame allocator");
	for (uint64_t i = 0; i < fa->nframes / 64; i++)
		bitmap[i] = ~0ULL;
}

void frame_release_range(struct frame_alloc *fa, uint64_t start, uint64_t end)
{
	uint64_t first = ALIGN_UP(start, PAGE_SIZE) >> PAGE_SHIFT;
	uint64_t last = ALIGN_DOWN(end, PAGE_SIZE) >> PAGE_SHIFT;

	if (last > fa->nframes)
		last = fa->nframes;
	spin_lock(&fa->lock);
	if (first < last)
		set_bits(fa, first, last - first, false);
	spin_unlock(&fa->lock);
}

void frame_reserve_range(struct frame_alloc *fa, uint64_t start, uint64_t end)
{
	uint64_t first = start >> PAGE_SHIFT;
	uint64_t last = ALIGN_UP(end, PAGE_SIZE) >> PAGE_SHIFT;

	if (last > fa->nframes)
		last = fa->nframes;
	spin_lock(&fa->lock);
	if (first < last)
		set_bits(fa, first, last - first, true);
	spin_unlock(&fa->lock);
}

/* True if the 2^order frames from @first (aligned) are all free. */
static bool run_free(const struct frame_alloc *fa, uint64_t first, unsigned order)
{
	uint64_t count = 1ULL << order;

	if (order >= 6) {
		for (uint64_t w = first / 64; w < (first + count) / 64; w++)
			if (fa->bitmap[w])
				return false;
		return true;
	}
	uint64_t mask = ((1ULL << count) - 1) << (first % 64);
	return !(fa->bitmap[first / 64] & mask);
}

static int alloc_locked(struct frame_alloc *fa, unsigned order, uint64_t *pa)
{
	uint64_t count;

	count = 1ULL << order; /* only now: a shift by 64 or more is undefined */
	if (order == 0) {
		for (uint64_t w = fa->hint; w < fa->nframes / 64; w++) {
			if (fa->bitmap[w] == ~0ULL)
				continue;
			fa->hint = w;
			uint64_t n = w * 64 + (uint64_t)__builtin_ctzll(~fa->bitmap[w]);
			set_bits(fa, n, 1, true);
			*pa = n << PAGE_SHIFT;
			return 0;
		}
		fa->hint = fa->nframes / 64;
		return -ENOMEM;
	}
	/* Runs of 64 frames or more are whole bitmap words: step word by word. */
	uint64_t start = order >= 6 ? ALIGN_DOWN(fa->hint * 64, count) : fa->hint * 64;
	for (uint64_t n = start; n + count <= fa->nframes; n += count) {
		if (run_free(fa, n, order)) {
			set_bits(fa, n, count, true);
			*pa = n << PAGE_SHIFT;
			return 0;
		}
	}
	return -ENOMEM;
}

int frame_alloc(struct frame_alloc *fa, unsigned order, uint64_t *pa)
{
	if (order > FRAME_ORDER_1G)
		return -EINVAL;
	spin_lock(&fa->lock);
	int r = alloc_locked(fa, order, pa);
	spin_unlock(&fa->lock);
	return r;
}

int frame_free(struct frame_alloc *fa, uint64_t pa, unsigned order)
{
	/* A bad order is refused below; never shift by it (undefined past 63). */
	uint64_t first = pa >> PAGE_SHIFT, count = order <= FRAME_ORDER_1G ? 1ULL << order : 0;

	if (WARN_ON(order > FRAME_ORDER_1G || !IS_ALIGNED(first, count) ||
		    first + count > fa->nframes || (pa & (PAGE_SIZE - 1))))
		return -EINVAL;
	spin_lock(&fa->lock);
	for (uint64_t n = first; n < first + count; n++) {
		if (WARN_ON_ONCE(!test_bit(fa->bitmap, n))) {
			spin_unlock(&fa->lock);
			return -EINVAL; /* double free: leave the bitmap alone */
		}
	}
	set_bits(fa, first, count, false);
	spin_unlock(&fa->lock);
	return 0;
}

bool frame_is_free(const struct frame_alloc *fa, uint64_t pa)
{
	uint64_t n = pa >> PAGE_SHIFT;

	return n < fa->nframes && !test_bit(fa->bitmap, n);
}
