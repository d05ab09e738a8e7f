#include "mm.h"
#include "bug.h"
#include "hal.h"
#include "kerrno.h"
#include "kstring.h"

static const char *const event_names[] = {
	[MMU_EV_UNMAP] = "unmap", [MMU_EV_PROTECT] = "protect",
	[MMU_EV_PROTECT_NUMA] = "protect-numa", [MMU_EV_MIGRATE] = "migrate",
	[MMU_EV_COLLAPSE] = "collapse", [MMU_EV_SPLIT] = "split",
};

const char *mmu_event_name(enum mmu_event ev)
{
	return (unsigned)ev < ARRAY_SIZE(event_names) ? event_names[ev] : "?";
}

void mmu_notifier_register(struct mm *mm, struct mmu_notifier *mn)
{
	mn->next = mm->notifiers;
	mm->notifiers = mn;
}

void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *mn)
{
	for (struct mmu_notifier **p = &mm->notifiers; *p; p = &(*p)->next) {
		if (*p == mn) {
			*p = mn->next;
			return;
		}
	}
	WARN_ON_ONCE(1); /* not registered */
}

static void notify_start(struct mm *mm, const struct mmu_range *r)
{
	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next)
		if (mn->ops->invalidate_range_start)
			mn->ops->invalidate_range_start(mn, r);
}

/* After the page tables changed and the TLB was flushed. */
static void notify_end(struct mm *mm, const struct mmu_range *r)
{
	if (mm->flush_tlb)
		mm->flush_tlb(r->start, r->end - r->start);
	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next)
		if (mn->ops->invalidate_range_end)
			mn->ops->invalidate_range_end(mn, r);
}

static bool dyn_range(const struct mm *mm, uint64_t va, uint64_t size)
{
	return va >= mm->dyn_base && va + size > va && va + size <= (1ULL << PT_VA_BITS);
}

int mm_map(struct mm *mm, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level)
{
	if (!dyn_range(mm, va, size))
		return -EINVAL;
	return pt_map(&mm->pt, va, pa, size, prot, level);
}

long mm_unmap(struct mm *mm, uint64_t va, uint64_t size)
{
	struct mmu_range r = { va, va + size, MMU_EV_UNMAP, 0 };

	if (!dyn_range(mm, va, size) || !IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	notify_start(mm, &r);
	long n = pt_unmap(&mm->pt, va, size);
	notify_end(mm, &r);
	return n;
}

long mm_protect(struct mm *mm, uint64_t va, uint64_t size, unsigned prot, bool numa)
{
	struct mmu_range r = { va, va + size, numa ? MMU_EV_PROTECT_NUMA : MMU_EV_PROTECT, prot };

	if (!dyn_range(mm, va, size) || !IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	notify_start(mm, &r);
	long n = pt_protect(&mm->pt, va, size, prot);
	notify_end(mm, &r);
	return n;
}

int mm_split(struct mm *mm, uint64_t va, int level)
{
	if (level < PT_LEVEL_2M || level > PT_LEVEL_1G || !dyn_range(mm, va, 1))
		return -EINVAL;
	uint64_t sz = pt_level_size(level);
	struct mmu_range r = { ALIGN_DOWN(va, sz), ALIGN_DOWN(va, sz) + sz, MMU_EV_SPLIT, 0 };
	struct pt_walk w;

	/* Nothing to split: no notification, so no secondary MMU zaps for nothing. */
	if (pt_lookup(&mm->pt, va, &w))
		return -ENOENT;
	if (w.level != level)
		return -EINVAL;
	notify_start(mm, &r);
	int ret = pt_split(&mm->pt, va, level);
	notify_end(mm, &r);
	return ret;
}

int mm_collapse(struct mm *mm, uint64_t va)
{
	const uint64_t sz = pt_level_size(PT_LEVEL_2M);
	uint64_t old[PT_ENTRIES], huge;
	unsigned prot = 0;
	struct pt_walk w;

	if (!IS_ALIGNED(va, sz) || !dyn_range(mm, va, sz) ||
	    !(mm->pt.leaf_levels & (1u << PT_LEVEL_2M)))
		return -EINVAL;
	/* Only a block fully mapped by 4 KiB pages collapses. */
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (pt_lookup(&mm->pt, va + i * PAGE_SIZE, &w) || w.level != PT_LEVEL_4K)
			return -EINVAL;
		old[i] = w.pa;
		prot = i ? prot & w.prot : w.prot;
	}
	int ret = frame_alloc(mm->pt.fa, FRAME_ORDER_2M, &huge);
	if (ret)
		return ret;

	struct mmu_range r = { va, va + sz, MMU_EV_COLLAPSE, 0 };
	notify_start(mm, &r);
	pt_unmap(&mm->pt, va, sz);
	if (mm->flush_tlb)
		mm->flush_tlb(va, sz); /* no stale small translation may write the old frames */
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		memcpy((uint8_t *)phys_to_virt(huge) + i * PAGE_SIZE, phys_to_virt(old[i]),
		       PAGE_SIZE);
	ret = pt_map(&mm->pt, va, huge, sz, prot, PT_LEVEL_2M);
	BUG_ON(ret); /* the range was just emptied and its tables freed */
	notify_end(mm, &r);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		frame_free(mm->pt.fa, old[i], FRAME_ORDER_4K);
	return 0;
}

int mm_migrate(struct mm *mm, uint64_t va, uint64_t new_pa, uint64_t *old_pa)
{
	struct pt_walk w;

	if (!IS_ALIGNED(va | new_pa, PAGE_SIZE) || !dyn_range(mm, va, PAGE_SIZE))
		return -EINVAL;
	if (pt_lookup(&mm->pt, va, &w))
		return -ENOENT;
	if (w.level != PT_LEVEL_4K)
		return -EINVAL; /* split first: only 4 KiB pages migrate */

	struct mmu_range r = { va, va + PAGE_SIZE, MMU_EV_MIGRATE, 0 };
	notify_start(mm, &r);
	pt_unmap(&mm->pt, va, PAGE_SIZE);
	if (mm->flush_tlb)
		mm->flush_tlb(va, PAGE_SIZE);
	memcpy(phys_to_virt(new_pa), phys_to_virt(w.pa), PAGE_SIZE);
	int ret = pt_map(&mm->pt, va, new_pa, PAGE_SIZE, w.prot, PT_LEVEL_4K);
	notify_end(mm, &r);
	if (ret)
		return ret; /* tables ran out: the page is now unmapped, the caller has both */
	*old_pa = w.pa;
	return 0;
}

/* Ask every secondary MMU; all of them, even once one has said young. */
static bool mm_young(struct mm *mm, uint64_t va, uint64_t size, bool clear)
{
	bool young = false;

	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next) {
		bool (*fn)(struct mmu_notifier *, uint64_t, uint64_t) =
			clear ? mn->ops->clear_young : mn->ops->test_young;

		if (fn)
			young |= fn(mn, va, va + size);
	}
	return young;
}

bool mm_clear_young(struct mm *mm, uint64_t va, uint64_t size)
{
	return mm_young(mm, va, size, true);
}

bool mm_test_young(struct mm *mm, uint64_t va, uint64_t size)
{
	return mm_young(mm, va, size, false);
}
