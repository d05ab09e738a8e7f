#include "mm/mm.h"
#include "mm/frame.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

static const char *const event_names[] = {
	[MMU_EV_UNMAP] = "unmap", [MMU_EV_PROTECT] = "protect",
	[MMU_EV_PROTECT_NUMA] = "protect-numa", [MMU_EV_MIGRATE] = "migrate",
	[MMU_EV_COLLAPSE] = "collapse", [MMU_EV_SPLIT] = "split",
};

const char *mmu_event_name(enum mmu_event ev)
{
	return (unsigned)ev < ARRAY_SIZE(event_names) ? event_names[ev] : "?";
}

/*
 * The rule: a notifier joins the list only at an instant when no change is
 * between its start() and end() calls (mm->notifying == 0), or it would get
 * an end() whose start() it never saw, and fault in the window as if nothing
 * were changing. notify_start() calls start() and counts the change in one
 * read-side section of notifier_lock, notify_end() calls end() and uncounts
 * it in another; the write lock here excludes both. So every change either
 * has not entered its start section yet (it calls the newcomer's start(),
 * then its end()) or has left its end section (it calls neither). Refused,
 * not waited for: the change may be this CPU's own (a notifier or a step
 * hook registering), and the caller knows whether it can wait (Linux gets
 * the same guarantee from mm_take_all_locks()).
 */
int mmu_notifier_register(struct mm *mm, struct mmu_notifier *mn)
{
	int r = 0;

	write_lock(&mm->notifier_lock);
	if (mm->notifying) {
		__atomic_fetch_add(&mm->register_busy, 1, __ATOMIC_RELAXED);
		r = -EBUSY;
	} else {
		mn->next = mm->notifiers;
		mm->notifiers = mn;
	}
	write_unlock(&mm->notifier_lock);
	return r;
}

void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *mn)
{
	bool found = false;

	/* The write lock waits for callbacks running on other CPUs to return. */
	write_lock(&mm->notifier_lock);
	for (struct mmu_notifier **p = &mm->notifiers; *p; p = &(*p)->next) {
		if (*p == mn) {
			*p = mn->next;
			found = true;
			break;
		}
	}
	write_unlock(&mm->notifier_lock);
	WARN_ON_ONCE(!found); /* not registered */
}

int mm_lookup(const struct mm *mm, uint64_t va, struct pt_walk *w)
{
	unsigned long flags = hal_irq_save();
	int r = pt_lookup(&mm->pt, va, w);

	hal_irq_restore(flags);
	return r;
}

/*
 * The shootdown after a change, then the table pages the change (or any
 * before it) freed: only those deferred before the shootdown began, since
 * a walker may have entered a page deferred later after the shootdown
 * looked at its CPU.
 */
static void shootdown(struct mm *mm, uint64_t va, uint64_t size)
{
	spin_lock(&mm->lock);
	uint64_t dead = pt_deferred_take(&mm->pt);
	spin_unlock(&mm->lock);
	if (mm->flush_tlb)
		mm->flush_tlb(va, size);
	if (dead) {
		spin_lock(&mm->lock);
		pt_deferred_free(&mm->pt, dead);
		spin_unlock(&mm->lock);
	}
}

static void step(struct mm *mm, enum mm_step at, const struct mmu_range *r)
{
	if (mm->step_hook)
		mm->step_hook(mm, at, r, mm->step_hook_ctx);
}

/* Does a change in flight claim part of [start, end)? Under mm->lock. */
static bool claimed(const struct mm *mm, uint64_t start, uint64_t end)
{
	return mm->changing && start < mm->change_end && end > mm->change_start;
}

/*
 * Unmapping or protecting part of a huge leaf splits it (mm/pt.c), so the
 * whole leaf changes and the whole leaf is notified, as Linux notifies the
 * whole huge pmd it splits. A notification of just [va, va + size) would let
 * a fault on a neighbouring page, outside the range but under the same old
 * huge leaf, install a huge secondary leaf over the part being removed.
 * Read under mm->lock in the step that claims the range: until the claim
 * ends, no collapse and no mm_map() can make a huge leaf inside it, so the
 * levels read are those the change splits. Read before the claim, a collapse
 * or huge map finishing in between made the change notify 4 KiB while it
 * split a 2 MiB page.
 */
static void widen_to_leaves(const struct pt *pt, struct mmu_range *r)
{
	struct pt_walk w;

	if (!pt_lookup(pt, r->start, &w))
		r->start = ALIGN_DOWN(r->start, pt_level_size(w.level));
	if (!pt_lookup(pt, r->end - 1, &w))
		r->end = ALIGN_DOWN(r->end - 1, pt_level_size(w.level)) + pt_level_size(w.level);
}

/*
 * Claim [r->start, r->end) for a change (first widened to the host leaves it
 * touches, with @widen): until change_done(), no other change, no mm_map()
 * and no fault-in may touch it (they get -EBUSY / -EAGAIN). The claim is
 * taken under mm->lock; the checks a change makes after it are therefore
 * made against page tables nobody else changes (a check and its change under
 * the same claim). Then the notifiers' start(), before the change.
 */
static int change_begin(struct mm *mm, struct mmu_range *r, bool widen)
{
	step(mm, MM_STEP_CLAIMING, r);
	spin_lock(&mm->lock);
	if (widen)
		widen_to_leaves(&mm->pt, r);
	if (claimed(mm, r->start, r->end)) {
		spin_unlock(&mm->lock);
		return -EBUSY;
	}
	if (!mm->changing++) {
		mm->change_start = r->start;
		mm->change_end = r->end;
	} else {
		mm->change_start = MIN(mm->change_start, r->start);
		mm->change_end = MAX(mm->change_end, r->end);
	}
	spin_unlock(&mm->lock);
	return 0;
}

/* Give up a claim before anything was notified or changed. */
static void change_cancel(struct mm *mm)
{
	spin_lock(&mm->lock);
	if (!--mm->changing)
		mm->change_start = mm->change_end = 0;
	spin_unlock(&mm->lock);
}

/*
 * Claim @r, then check that a leaf of @level maps @r->start (-ENOENT: none,
 * -EINVAL: another level); the claim is given back on a refusal.
 */
static int claim_leaf(struct mm *mm, struct mmu_range *r, int level, struct pt_walk *w)
{
	int err = change_begin(mm, r, false);

	if (err)
		return err;
	err = mm_lookup(mm, r->start, w) ? -ENOENT : w->level != level ? -EINVAL : 0;
	if (err)
		change_cancel(mm);
	return err;
}

static void notify_start(struct mm *mm, const struct mmu_range *r)
{
	read_lock(&mm->notifier_lock);
	/* In the section that calls start(): see mmu_notifier_register(). */
	__atomic_fetch_add(&mm->notifying, 1, __ATOMIC_RELAXED);
	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next)
		if (mn->ops->invalidate_range_start)
			mn->ops->invalidate_range_start(mn, r);
	read_unlock(&mm->notifier_lock);
	step(mm, MM_STEP_STARTED, r);
}

/* After the page tables changed: flush the TLB, end(), release the claim. */
static void notify_end(struct mm *mm, const struct mmu_range *r)
{
	step(mm, MM_STEP_CHANGED, r);
	shootdown(mm, r->start, r->end - r->start);
	read_lock(&mm->notifier_lock);
	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next)
		if (mn->ops->invalidate_range_end)
			mn->ops->invalidate_range_end(mn, r);
	__atomic_fetch_sub(&mm->notifying, 1, __ATOMIC_RELAXED);
	read_unlock(&mm->notifier_lock);
	change_cancel(mm);
}

static bool dyn_range(const struct mm *mm, uint64_t va, uint64_t size)
{
	return va >= mm->dyn_base && va + size > va && va + size <= (1ULL << PT_VA_BITS);
}

int mm_map(struct mm *mm, uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level)
{
	if (!dyn_range(mm, va, size))
		return -EINVAL;
	/*
	 * A claimed range is the change's until its end(): a page mapped into
	 * a migrate's or collapse's window would make its re-map fail (the
	 * data lost, or a BUG), and a huge one under an unmap would be split
	 * outside what the claim notified.
	 */
	spin_lock(&mm->lock);
	int r = claimed(mm, va, va + size) ? -EBUSY : pt_map(&mm->pt, va, pa, size, prot, level);
	spin_unlock(&mm->lock);
	return r;
}

long mm_unmap(struct mm *mm, uint64_t va, uint64_t size)
{
	struct mmu_range r = { va, va + size, MMU_EV_UNMAP, 0 };

	if (!dyn_range(mm, va, size) || !IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	int busy = change_begin(mm, &r, true);
	if (busy)
		return busy;
	notify_start(mm, &r);
	spin_lock(&mm->lock);
	long n = pt_unmap(&mm->pt, va, size);
	spin_unlock(&mm->lock);
	notify_end(mm, &r);
	return n;
}

/* Would NUMA hinting change this leaf? Only 4 KiB pages migrate (mm_migrate). */
static bool numa_leaf_changes(const struct pt *pt, pte_t e, int level)
{
	return level == PT_LEVEL_4K && !(pt->fmt->prot(e) & PT_PROT_NUMA);
}

bool mm_numa_would_change(const struct mm *mm, uint64_t va)
{
	int level;
	unsigned long flags = hal_irq_save(); /* a lockless walk, as mm_lookup() */
	const pte_t *e = pt_find_leaf(&mm->pt, va, &level);
	bool changes = e && numa_leaf_changes(&mm->pt, pte_read(e), level);

	hal_irq_restore(flags);
	return changes;
}

/* The same leaf with protection @prot (a NUMA mark added or cleared). */
static void set_leaf_prot(const struct pt *pt, pte_t *entry, pte_t e, int level, unsigned prot)
{
	pte_write(entry, pt->fmt->mk_leaf(pt_addr(pt->fmt, e, level), level, prot));
}

struct numa_scan {
	const struct pt *pt;
	uint64_t first, last; /* the pages that change: [first, last] */
	long n;
	bool apply;
};

static bool numa_one(void *ctx, uint64_t va, int level, pte_t *entry)
{
	struct numa_scan *ns = ctx;
	pte_t e = pte_read(entry);

	if (!numa_leaf_changes(ns->pt, e, level))
		return true;
	if (ns->apply)
		set_leaf_prot(ns->pt, entry, e, level, ns->pt->fmt->prot(e) | PT_PROT_NUMA);
	ns->first = MIN(ns->first, va);
	ns->last = MAX(ns->last, va);
	ns->n++;
	return true;
}

/*
 * NUMA hinting, precise (seed ../shared/seeds/002_e1e06e68a47d5deb.txt): a
 * page already hinted, or one that cannot
 * migrate (a huge page), does not change and is not invalidated; the pages
 * that do change are notified in one start/end batch that begins at the
 * first of them and ends after the last.
 */
static long protect_numa(struct mm *mm, uint64_t va, uint64_t size)
{
	struct numa_scan ns = { &mm->pt, ~0ULL, 0, 0, false };
	struct mmu_range claim = { va, va + size, MMU_EV_PROTECT_NUMA, 0 };
	int busy = change_begin(mm, &claim, false);

	if (busy)
		return busy;
	spin_lock(&mm->lock);
	pt_for_each_leaf(&mm->pt, va, size, numa_one, &ns);
	spin_unlock(&mm->lock);
	if (!ns.n) {
		change_cancel(mm);
		return 0;
	}
	struct mmu_range r = { ns.first, ns.last + PAGE_SIZE, MMU_EV_PROTECT_NUMA, 0 };
	notify_start(mm, &r);
	ns = (struct numa_scan){ &mm->pt, ~0ULL, 0, 0, true };
	spin_lock(&mm->lock);
	pt_for_each_leaf(&mm->pt, r.start, r.end - r.start, numa_one, &ns);
	spin_unlock(&mm->lock);
	notify_end(mm, &r);
	return ns.n;
}

int mm_numa_fault(struct mm *mm, uint64_t va)
{
	int level;
	/*
	 * Under mm->lock: a read-modify-write of the leaf, which a change
	 * running on another CPU (a migrate unmapping this page) must not
	 * interleave with, or the old leaf would be written back.
	 */
	spin_lock(&mm->lock);
	pte_t *entry = pt_find_leaf(&mm->pt, va, &level);
	/* Read once (seed ../shared/seeds/003_c1c4202c3c43e2ca.txt). */
	pte_t e = entry ? pte_read(entry) : 0;
	int r = -ENOENT;

	if (entry && (mm->pt.fmt->prot(e) & PT_PROT_NUMA)) {
		/* Gives nothing new to anyone (secondary MMUs zapped the page): no notification. */
		set_leaf_prot(&mm->pt, entry, e, level, mm->pt.fmt->prot(e) & ~PT_PROT_NUMA);
		mm->numa_faults++;
		r = 0;
	}
	spin_unlock(&mm->lock);
	return r;
}

long mm_protect(struct mm *mm, uint64_t va, uint64_t size, unsigned prot, bool numa)
{
	struct mmu_range r = { va, va + size, MMU_EV_PROTECT, prot };

	if (!dyn_range(mm, va, size) || !IS_ALIGNED(va | size, PAGE_SIZE))
		return -EINVAL;
	if (numa)
		return protect_numa(mm, va, size);
	int busy = change_begin(mm, &r, true);
	if (busy)
		return busy;
	notify_start(mm, &r);
	spin_lock(&mm->lock);
	long n = pt_protect(&mm->pt, va, size, prot);
	spin_unlock(&mm->lock);
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
	int err = claim_leaf(mm, &r, level, &w);
	if (err)
		return err;
	notify_start(mm, &r);
	spin_lock(&mm->lock);
	int ret = pt_split(&mm->pt, va, level);
	spin_unlock(&mm->lock);
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
	struct mmu_range r = { va, va + sz, MMU_EV_COLLAPSE, 0 };
	int ret = change_begin(mm, &r, false);
	if (ret)
		return ret;
	/* Only a block fully mapped by 4 KiB pages collapses. */
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (mm_lookup(mm, va + i * PAGE_SIZE, &w) || w.level != PT_LEVEL_4K) {
			change_cancel(mm);
			return -EINVAL;
		}
		old[i] = w.pa;
		prot = i ? prot & w.prot : w.prot;
	}
	ret = frame_alloc(mm->pt.fa, FRAME_ORDER_2M, &huge);
	if (ret) {
		change_cancel(mm);
		return ret;
	}
	notify_start(mm, &r);
	spin_lock(&mm->lock);
	pt_unmap(&mm->pt, va, sz);
	spin_unlock(&mm->lock);
	shootdown(mm, va, sz); /* no stale small translation may write the old frames */
	step(mm, MM_STEP_UNMAPPED, &r);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		memcpy((uint8_t *)phys_to_virt(huge) + i * PAGE_SIZE, phys_to_virt(old[i]),
		       PAGE_SIZE);
	spin_lock(&mm->lock);
	ret = pt_map(&mm->pt, va, huge, sz, prot, PT_LEVEL_2M);
	spin_unlock(&mm->lock);
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
	struct mmu_range r = { va, va + PAGE_SIZE, MMU_EV_MIGRATE, 0 };
	/* Split first: only 4 KiB pages migrate. */
	int err = claim_leaf(mm, &r, PT_LEVEL_4K, &w);
	if (err)
		return err;
	notify_start(mm, &r);
	spin_lock(&mm->lock);
	pt_unmap(&mm->pt, va, PAGE_SIZE);
	spin_unlock(&mm->lock);
	shootdown(mm, va, PAGE_SIZE);
	step(mm, MM_STEP_UNMAPPED, &r);
	memcpy(phys_to_virt(new_pa), phys_to_virt(w.pa), PAGE_SIZE);
	spin_lock(&mm->lock);
	int ret = pt_map(&mm->pt, va, new_pa, PAGE_SIZE, w.prot, PT_LEVEL_4K);
	spin_unlock(&mm->lock);
	notify_end(mm, &r);
	if (ret)
		return ret; /* tables ran out: the page is now unmapped, the caller has both */
	*old_pa = w.pa;
	return 0;
}

int mm_fault_in(struct mm *mm, uint64_t va)
{
	struct pt_walk w;
	uint64_t pa;
	int r;

	if (!dyn_range(mm, va, PAGE_SIZE))
		return -EINVAL;
	va = ALIGN_DOWN(va, PAGE_SIZE);
	spin_lock(&mm->lock);
	if (claimed(mm, va, va + PAGE_SIZE)) {
		/* A change owns this page (a migrate or collapse between its steps): wait. */
		r = -EAGAIN;
	} else if (!pt_lookup(&mm->pt, va, &w)) {
		r = 0; /* mapped meanwhile */
	} else if (!(r = frame_alloc(mm->pt.fa, FRAME_ORDER_4K, &pa))) {
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		r = pt_map(&mm->pt, va, pa, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K);
		if (r)
			frame_free(mm->pt.fa, pa, FRAME_ORDER_4K);
		else
			mm->faultins++;
	}
	spin_unlock(&mm->lock);
	return r;
}

struct leaves_ctx {
	struct mm_leaf *out;
	long n, max;
	const struct pt *pt;
};

static bool collect_leaf(void *ctx, uint64_t va, int level, pte_t *e)
{
	struct leaves_ctx *c = ctx;

	c->out[c->n++] = (struct mm_leaf){ va, pt_addr(c->pt->fmt, pte_read(e), level), level };
	return c->n < c->max;
}

long mm_leaves(struct mm *mm, uint64_t va, uint64_t size, struct mm_leaf *out, long max)
{
	struct leaves_ctx c = { out, 0, max, &mm->pt };

	if (max <= 0)
		return 0;
	spin_lock(&mm->lock);
	pt_for_each_leaf(&mm->pt, va, size, collect_leaf, &c);
	spin_unlock(&mm->lock);
	return c.n;
}

/* Ask every secondary MMU; all of them, even once one has said young. */
static bool mm_young(struct mm *mm, uint64_t va, uint64_t size, bool clear)
{
	bool young = false;

	read_lock(&mm->notifier_lock);
	for (struct mmu_notifier *mn = mm->notifiers; mn; mn = mn->next) {
		bool (*fn)(struct mmu_notifier *, uint64_t, uint64_t) =
			clear ? mn->ops->clear_young : mn->ops->test_young;

		if (fn)
			young |= fn(mn, va, va + size);
	}
	read_unlock(&mm->notifier_lock);
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
