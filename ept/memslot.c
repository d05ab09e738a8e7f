#include "ept/memslot.h"
#include "lib/lib.h"

#define PAGE_MASK_4K 0xfffULL

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
	for (unsigned i = 0; i < ms->n; i++) {
		const struct memslot *s = &ms->slot[i];

		if (gfn < s->base_gfn + s->npages && s->base_gfn < gfn + npages) {
			ksnprintf(err, errlen,
				  "memslot [%#llx, %#llx) overlaps slot [%#llx, %#llx)",
				  (unsigned long long)gpa, (unsigned long long)(gpa + size),
				  (unsigned long long)(s->base_gfn << 12),
				  (unsigned long long)((s->base_gfn + s->npages) << 12));
			return -EEXIST;
		}
	}
	if (ms->n == MEMSLOT_MAX) {
		ksnprintf(err, errlen, "memslot [%#llx, %#llx): all %d slots in use",
			  (unsigned long long)gpa, (unsigned long long)(gpa + size), MEMSLOT_MAX);
		return -ENOSPC;
	}
	struct memslot *s = &ms->slot[ms->n++];
	memset(s, 0, sizeof(*s));
	s->base_gfn = gfn;
	s->npages = npages;
	s->hva = hva;
	s->flags = flags;
	/* Read without mmu_lock by gpc_check(): one untorn store. */
	WRITE_ONCE(ms->generation, ms->generation + 1);
	return 0;
}

int memslot_remove(struct memslots *ms, uint64_t gpa)
{
	for (unsigned i = 0; i < ms->n; i++) {
		if (ms->slot[i].base_gfn == gpa >> 12) {
			ms->slot[i] = ms->slot[--ms->n];
			WRITE_ONCE(ms->generation, ms->generation + 1);
			return 0;
		}
	}
	return -ENOENT;
}

struct memslot *memslot_find(struct memslots *ms, uint64_t gfn)
{
	for (unsigned i = 0; i < ms->n; i++) {
		struct memslot *s = &ms->slot[i];

		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
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
