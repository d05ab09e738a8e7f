#include "ept/memslot.h"
#include "mm/mm.h"
#include "lib/lib.h"

#define PAGE_MASK_4K 0xfffULL
/* 2^3 frames (32 KiB) hold MEMSLOTS_STORAGE (21 KiB at 512 slots). */
#define MEMSLOTS_ORDER 3

_Static_assert(MEMSLOTS_STORAGE <= (PAGE_SIZE << MEMSLOTS_ORDER), "memslot storage order");
_Static_assert(MEMSLOT_MAX <= 65536, "sorted[] holds 16-bit indices");

void memslots_setup(struct memslots *ms, void *storage)
{
	memset(ms, 0, sizeof(*ms));
	ms->slot = storage;
	ms->sorted = (uint16_t *)(ms->slot + MEMSLOT_MAX);
}

int memslots_alloc(struct memslots *ms, struct frame_alloc *fa)
{
	uint64_t pa;

	if (ms->slot)
		return 0;
	int r = frame_alloc(fa, MEMSLOTS_ORDER, &pa);
	if (r)
		return r;
	/* Keep what the VM already counted (vm_destroy() bumps generation too). */
	uint64_t gen = ms->generation;
	memslots_setup(ms, phys_to_virt(pa));
	ms->generation = gen;
	ms->storage_pa = pa;
	return 0;
}

void memslots_free(struct memslots *ms, struct frame_alloc *fa)
{
	if (ms->slot && ms->storage_pa)
		frame_free(fa, ms->storage_pa, MEMSLOTS_ORDER);
	uint64_t gen = ms->generation;
	memset(ms, 0, sizeof(*ms));
	ms->generation = gen;
}

static bool slot_has(const struct memslot *s, uint64_t gfn)
{
	return gfn >= s->base_gfn && gfn - s->base_gfn < s->npages;
}

/* The number of slots whose base_gfn is <= @gfn: sorted[pos - 1] is the last such one. */
static unsigned upper_pos(const struct memslots *ms, uint64_t gfn)
{
	unsigned lo = 0, hi = ms->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (ms->slot[ms->sorted[mid]].base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int memslot_add(struct memslots *ms, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		char *err, size_t errlen)
{
	if (!size || (gpa | size | hva) & PAGE_MASK_4K || gpa + size < gpa) {
		ksnprintf(err, errlen,
			  "memslot [%#llx, +%#llx) at hva %#llx: empty or not 4 KiB aligned",
			  (unsigned long long)gpa, (unsigned long long)size,
			  (unsigned long long)hva);
		return -EINVAL;
	}
	uint64_t gfn = gpa >> 12, npages = size >> 12;
	/*
	 * Slots do not overlap, so only two can overlap the new one: the last
	 * that starts at or below it and the first that starts above it.
	 */
	unsigned pos = upper_pos(ms, gfn);
	for (unsigned i = pos ? pos - 1 : 0; i < pos + 1 && i < ms->n; i++) {
		const struct memslot *s = &ms->slot[ms->sorted[i]];

		if (gfn < s->base_gfn + s->npages && s->base_gfn < gfn + npages) {
			ksnprintf(err, errlen,
				  "memslot [%#llx, %#llx) overlaps slot [%#llx, %#llx)",
				  (unsigned long long)gpa, (unsigned long long)(gpa + size),
				  (unsigned long long)(s->base_gfn << 12),
				  (unsigned long long)((s->base_gfn + s->npages) << 12));
			return -EEXIST;
		}
	}
	if (ms->n == MEMSLOT_MAX || !ms->slot) {
		ksnprintf(err, errlen, "memslot [%#llx, %#llx): all %d slots in use",
			  (unsigned long long)gpa, (unsigned long long)(gpa + size),
			  ms->slot ? MEMSLOT_MAX : 0);
		return -ENOSPC;
	}
	struct memslot *s = &ms->slot[ms->n];
	memset(s, 0, sizeof(*s));
	s->base_gfn = gfn;
	s->npages = npages;
	s->hva = hva;
	s->flags = flags;
	memmove(&ms->sorted[pos + 1], &ms->sorted[pos], (ms->n - pos) * sizeof(ms->sorted[0]));
	ms->sorted[pos] = (uint16_t)ms->n++;
	/* Read without mmu_lock by gpc_check(): one untorn store. */
	WRITE_ONCE(ms->generation, ms->generation + 1);
	return 0;
}

int memslot_remove(struct memslots *ms, uint64_t gpa)
{
	unsigned pos = upper_pos(ms, gpa >> 12);

	if (!pos || ms->slot[ms->sorted[pos - 1]].base_gfn != gpa >> 12)
		return -ENOENT;
	unsigned i = ms->sorted[--pos], last = --ms->n;
	memmove(&ms->sorted[pos], &ms->sorted[pos + 1], (ms->n - pos) * sizeof(ms->sorted[0]));
	if (i != last) {
		/* The last slot moves into the hole: its entry in sorted[] follows it. */
		ms->slot[i] = ms->slot[last];
		ms->sorted[upper_pos(ms, ms->slot[i].base_gfn) - 1] = (uint16_t)i;
	}
	WRITE_ONCE(ms->generation, ms->generation + 1);
	return 0;
}

struct memslot *memslot_find_hint(struct memslots *ms, uint64_t gfn, unsigned *hint)
{
	unsigned h = READ_ONCE(*hint);

	if (h < ms->n && slot_has(&ms->slot[h], gfn))
		return &ms->slot[h];
	unsigned pos = upper_pos(ms, gfn);
	if (!pos || !slot_has(&ms->slot[ms->sorted[pos - 1]], gfn))
		return NULL;
	WRITE_ONCE(*hint, ms->sorted[pos - 1]);
	return &ms->slot[ms->sorted[pos - 1]];
}

struct memslot *memslot_find(struct memslots *ms, uint64_t gfn)
{
	return memslot_find_hint(ms, gfn, &ms->last_used);
}

int memslot_max_level(const struct memslot *s, uint64_t gfn, int max_level)
{
	int level = max_level;

	for (; level > 1; level--) {
		uint64_t pages = 1ULL << (9 * (level - 1));
		uint64_t start = gfn & ~(pages - 1);

		if (start >= s->base_gfn && start + pages <= s->base_gfn + s->npages &&
		    (((s->hva >> 12) - s->base_gfn) & (pages - 1)) == 0)
			break;
	}
	return level;
}
