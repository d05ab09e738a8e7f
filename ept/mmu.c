/*
 * The secondary MMU kept coherent with the primary one (../shared/DESIGN.md, seeds
 * 000, 002, 003): the EPT-violation path and the notifier callbacks that
 * zap EPT when the host changes a mapping. Pure: runs in the kernel against
 * host_mm and in the host unit tests against an arena-backed mm.
 */
#include "bug.h"
#include "ept_fmt.h"
#include "gpc.h"
#include "hal.h"
#include "kerrno.h"
#include "kstring.h"
#include "printk.h"
#include "vm.h"

#define vm_of(mn) ((struct vm *)((char *)(mn) - offsetof(struct vm, mn)))

void vm_mark_bugged(struct vm *vm, const char *file, int line, const char *why)
{
	if (vm->bugged)
		return;
	vm->bugged = true;
	ksnprintf(vm->bug_reason, sizeof(vm->bug_reason), "%s at %s:%d", why, file, line);
	printk("VM[%s]: bugged: %s; the VM is stopped, the host carries on\n", vm->name,
	       vm->bug_reason);
}

void vm_flush_ept(struct vm *vm)
{
	vm->flush(vm);
	vm->stats.invept++;
	/* Only now may EPT table pages dropped since the last flush be reused. */
	pt_free_deferred(&vm->ept);
}

static void fault_step(struct vm *vm, enum fault_step step)
{
	if (vm->fault_hook)
		vm->fault_hook(vm, step, vm->fault_hook_ctx);
}

static bool count_one(void *ctx, uint64_t va, int level, pte_t *e)
{
	(void)va, (void)level, (void)e;
	(*(long *)ctx)++;
	return true;
}

static long count_leaves(struct pt *pt, uint64_t va, uint64_t size)
{
	long n = 0;

	pt_for_each_leaf(pt, va, size, count_one, &n);
	return n;
}

int mmu_fault(struct vm *vm, uint64_t gpa, unsigned access, char *why, size_t len)
{
	/* 1. Snapshot the sequence before looking at the host page tables. */
	uint64_t seq = mmu_invalidate_seq_snapshot(&vm->inval);
	uint64_t gfn = gpa >> PAGE_SHIFT;
	bool write = access & PT_PROT_W;

	vm->stats.ept_violations++;
	fault_step(vm, FAULT_STEP_SNAPSHOT);

	/* 2. gfn -> memslot -> hva. */
	struct memslot *slot = memslot_find(&vm->slots, gfn);
	if (!slot) {
		ksnprintf(why, len, "guest access to GPA %#llx outside every memslot",
			  (unsigned long long)gpa);
		return -EFAULT;
	}
	slot->ept_violations++;
	/*
	 * A copy: the slot array may change under the race hooks (a removed
	 * slot's place is reused), and then the seq check discards this fault.
	 */
	const struct memslot sl = *slot;
	if (write && (sl.flags & MEMSLOT_READONLY)) {
		ksnprintf(why, len, "guest write to read-only memory at GPA %#llx",
			  (unsigned long long)gpa);
		return -EACCES;
	}
	uint64_t hva = memslot_gfn_to_hva(&sl, gfn);

	/*
	 * 3. Walk the host page tables, each entry read once (seed 003). The
	 * level and pfn found here are consumed only under mmu_lock after
	 * retry_gfn() (seed 003, first rule).
	 */
	struct pt_walk w;
	if (pt_lookup(&vm->mm->pt, hva, &w)) {
		/*
		 * The host page fault a guest access causes: through the mm, under
		 * its rules. A change that owns the page (a migrate between its
		 * unmap and re-map) makes it wait: retry, as for an invalidation.
		 */
		int r = mm_fault_in(vm->mm, hva);
		if (r == -EAGAIN) {
			vm->stats.ept_retries++;
			return 0;
		}
		if (!r)
			vm->stats.host_faultins++;
		if (r || pt_lookup(&vm->mm->pt, hva, &w)) {
			ksnprintf(why, len, "GPA %#llx: cannot map backing at hva %#llx: %s",
				  (unsigned long long)gpa, (unsigned long long)hva,
				  errno_name(r ? r : -ENOENT));
			return r ? r : -ENOENT;
		}
	}
	if (w.prot & PT_PROT_NUMA) {
		/*
		 * The host's NUMA hint fault (Linux's do_numa_page), taken for the
		 * guest: clear the hint and go on with the page as it is now.
		 */
		mm_numa_fault(vm->mm, hva);
		vm->stats.numa_faults++;
		w.prot &= ~PT_PROT_NUMA;
	}
	if (write && !(w.prot & PT_PROT_W)) {
		ksnprintf(why, len, "guest write to GPA %#llx, whose host page %#llx is "
			  "write-protected", (unsigned long long)gpa, (unsigned long long)hva);
		return -EPERM;
	}
	fault_step(vm, FAULT_STEP_WALKED);

	unsigned prot = PT_PROT_R | PT_PROT_X;
	if (!(sl.flags & MEMSLOT_READONLY) && (w.prot & PT_PROT_W))
		prot |= PT_PROT_W;
	/* Leaf level: min(host level, memslot alignment, EPT capability). */
	int level = memslot_max_level(&sl, gfn, MIN(w.level, vm->ept_max_level));
	uint64_t size = pt_level_size(level);
	uint64_t base_gpa = ALIGN_DOWN(gpa, size);
	uint64_t page_pa = ALIGN_DOWN(w.pa, PAGE_SIZE);
	uint64_t base_pa = page_pa - (ALIGN_DOWN(gpa, PAGE_SIZE) - base_gpa);

	/* 4. Lockless pre-check (seed 002): a fault in a running invalidation retries now. */
	if (mmu_invalidate_retry_gfn_unsafe(&vm->inval, seq, gfn)) {
		vm->stats.ept_retries++;
		vm->stats.ept_retries_unlocked++;
		return 0;
	}
	fault_step(vm, FAULT_STEP_LOCK);

	/* 5. Under mmu_lock, the locked check decides. */
	spin_lock(&vm->mmu_lock);
	if (mmu_invalidate_retry_gfn(&vm->inval, seq, gfn)) {
		spin_unlock(&vm->mmu_lock);
		vm->stats.ept_retries++;
		return 0; /* the guest re-faults and walks the new host state */
	}
	/* gfn and pfn congruent modulo the leaf size. */
	WARN_ON_ONCE(!IS_ALIGNED(base_pa, size));
	int r = pt_map(&vm->ept, base_gpa, base_pa, size, prot, level);
	if (r == -EEXIST && level > PT_LEVEL_4K && !count_leaves(&vm->ept, base_gpa, size)) {
		/*
		 * Zapped leaves leave their tables behind. Drop the empty ones so a
		 * larger leaf can take their place (after a collapse), and flush:
		 * the CPU may cache the old table pointers; the pages wait for that
		 * flush before they are freed (defer_frees).
		 */
		pt_unmap(&vm->ept, base_gpa, size);
		vm_flush_ept(vm);
		r = pt_map(&vm->ept, base_gpa, base_pa, size, prot, level);
	}
	if (r == -EEXIST) {
		struct pt_walk e;

		if (pt_lookup(&vm->ept, gpa, &e) == 0 && (!write || (e.prot & PT_PROT_W))) {
			vm->stats.ept_spurious++; /* mapped meanwhile: nothing to do */
			r = 0;
		} else {
			/*
			 * Smaller leaves already live inside the block, or a read-only
			 * leaf is being upgraded: replace just this page.
			 */
			int old_level = 0;

			pt_find_leaf(&vm->ept, gpa, &old_level);
			/*
			 * A huge leaf goes whole, also over pages not mapped back here:
			 * flush, or a later invalidation of one of them finds no leaf,
			 * skips its flush and leaves the old translation cached.
			 */
			if (pt_zap(&vm->ept, ALIGN_DOWN(gpa, PAGE_SIZE), PAGE_SIZE, 0) &&
			    old_level > PT_LEVEL_4K)
				vm_flush_ept(vm);
			level = PT_LEVEL_4K;
			r = pt_map(&vm->ept, ALIGN_DOWN(gpa, PAGE_SIZE), page_pa, PAGE_SIZE, prot,
				   level);
			if (!r)
				vm->stats.ept_installed[level]++;
		}
	} else if (!r) {
		vm->stats.ept_installed[level]++;
	}
	/* A failed map rolls back, possibly dropping tables the CPU may have cached. */
	if (r)
		vm_flush_ept(vm);
	spin_unlock(&vm->mmu_lock);
	if (r)
		ksnprintf(why, len, "cannot install EPT entry for GPA %#llx: %s",
			  (unsigned long long)gpa, errno_name(r));
	return r;
}

/* The gfn range of @s that host [start, end) covers; partly covered pages count. */
static bool slot_gfns(const struct memslot *s, uint64_t start, uint64_t end, uint64_t *gs,
		      uint64_t *ge)
{
	uint64_t s_end = s->hva + (s->npages << PAGE_SHIFT);
	uint64_t a = MAX(start, s->hva), b = MIN(end, s_end);

	if (a >= b)
		return false;
	*gs = s->base_gfn + ((a - s->hva) >> PAGE_SHIFT);
	*ge = s->base_gfn + ((b + PAGE_SIZE - 1 - s->hva) >> PAGE_SHIFT);
	return true;
}

/* What an event takes away from the guest: the protection EPT may keep (0 = nothing). */
static unsigned keep_prot(const struct mmu_range *r)
{
	if (r->event != MMU_EV_PROTECT || !(r->prot & PT_PROT_R))
		return 0; /* everything goes */
	return (r->prot & PT_PROT_W) ? PT_PROT_RWX : PT_PROT_R | PT_PROT_X;
}

struct numa_zap {
	struct vm *vm;
	const struct memslot *slot;
	long zapped;
};

static bool numa_zap_one(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct numa_zap *z = ctx;
	uint64_t hva = memslot_gfn_to_hva(z->slot, gpa >> PAGE_SHIFT);
	bool changes = false;

	/* A huge leaf sits on huge host pages, which never migrate: ask page by page anyway. */
	for (uint64_t off = 0; off < pt_level_size(level) && !changes; off += PAGE_SIZE)
		changes = mm_numa_would_change(z->vm->mm, hva + off);
	if (changes) {
		WRITE_ONCE(*entry, 0);
		z->zapped++;
	}
	return true;
}

/*
 * NUMA hinting (seed 002): zap only the leaves whose host pages the hint
 * really changes; start() runs before the change, so the mm still tells.
 */
static long zap_numa(struct vm *vm, const struct memslot *slot, uint64_t gs, uint64_t ge)
{
	struct numa_zap z = { vm, slot, 0 };

	pt_for_each_leaf(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, numa_zap_one, &z);
	return z.zapped;
}

/* Does [start, end) of host-virtual space overlap a memslot of @vm? */
static bool overlaps_memslot(const struct vm *vm, uint64_t start, uint64_t end)
{
	uint64_t gs, ge;

	for (unsigned i = 0; i < vm->slots.n; i++)
		if (slot_gfns(&vm->slots.slot[i], start, end, &gs, &ge))
			return true;
	return false;
}

static void vm_invalidate_start(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct vm *vm = vm_of(mn);
	long zapped = 0;
	unsigned keep = keep_prot(r);

	spin_lock(&vm->mmu_lock);
	/*
	 * Every invalidation counts, memslot or not (KVM's
	 * mn_active_invalidate_count): a memslot added in the middle of one
	 * would give its end() a slot whose start() never ran.
	 */
	vm->mn_active++;
	/* Caches first: one may point at a page no memslot covers any more. */
	gpc_invalidate_start(vm, r->start, r->end);
	if (!overlaps_memslot(vm, r->start, r->end)) {
		spin_unlock(&vm->mmu_lock);
		return; /* no gfn can change: no begin(), no zap, no flush */
	}
	mmu_invalidate_begin(&vm->inval);
	for (unsigned i = 0; i < vm->slots.n; i++) {
		uint64_t gs, ge;

		if (!slot_gfns(&vm->slots.slot[i], r->start, r->end, &gs, &ge))
			continue;
		mmu_invalidate_range_add(&vm->inval, gs, ge);
		/* Precise: a change that takes nothing from the guest zaps nothing. */
		if (r->event == MMU_EV_PROTECT_NUMA)
			zapped += zap_numa(vm, &vm->slots.slot[i], gs, ge);
		else if (r->event != MMU_EV_PROTECT || keep != PT_PROT_RWX)
			zapped += pt_zap(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, keep);
	}
	vm->stats.invalidations++;
	vm->stats.ept_zaps += (uint64_t)zapped;
	/* One flush per batch, and none if nothing present was zapped. */
	if (zapped)
		vm_flush_ept(vm);
	spin_unlock(&vm->mmu_lock);
}

static void vm_invalidate_end(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct vm *vm = vm_of(mn);

	spin_lock(&vm->mmu_lock);
	/* No memslot changed since start() (mn_active kept them out): the same test. */
	if (overlaps_memslot(vm, r->start, r->end) && !mmu_invalidate_end(&vm->inval))
		VM_BUG_ON(true, vm); /* more end()s than begin()s */
	if (VM_BUG_ON(vm->mn_active <= 0, vm))
		vm->mn_active = 1; /* an end() without its start(): keep the count sane */
	vm->mn_active--;
	spin_unlock(&vm->mmu_lock);
}

struct young_ctx {
	bool clear, ad, young;
	long zapped;
};

static bool young_one(void *ctx, uint64_t va, int level, pte_t *entry)
{
	struct young_ctx *y = ctx;
	pte_t e = READ_ONCE(*entry);

	(void)va, (void)level;
	if (y->ad) {
		y->young |= (e & EPT_ACCESSED) != 0;
		if (y->clear && (e & EPT_ACCESSED))
			WRITE_ONCE(*entry, e & ~EPT_ACCESSED);
	} else {
		/* No accessed bits: a mapping counts as young; clearing zaps it. */
		y->young = true;
		if (y->clear) {
			WRITE_ONCE(*entry, 0);
			y->zapped++;
		}
	}
	return true;
}

static bool vm_young(struct mmu_notifier *mn, uint64_t start, uint64_t end, bool clear)
{
	struct vm *vm = vm_of(mn);
	struct young_ctx y = { clear, vm->ept_ad, false, 0 };

	spin_lock(&vm->mmu_lock);
	for (unsigned i = 0; i < vm->slots.n; i++) {
		uint64_t gs, ge;

		if (slot_gfns(&vm->slots.slot[i], start, end, &gs, &ge))
			pt_for_each_leaf(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT,
					 young_one, &y);
	}
	/*
	 * Cleared accessed bits only come back if the CPU walks EPT again, and
	 * zapped leaves must not stay cached: flush once either way.
	 */
	if (clear && y.young)
		vm_flush_ept(vm);
	vm->stats.ept_zaps += (uint64_t)y.zapped;
	spin_unlock(&vm->mmu_lock);
	return y.young;
}

static bool vm_clear_young(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	return vm_young(mn, start, end, true);
}

static bool vm_test_young(struct mmu_notifier *mn, uint64_t start, uint64_t end)
{
	return vm_young(mn, start, end, false);
}

static const struct mmu_notifier_ops vm_mmu_ops = {
	.invalidate_range_start = vm_invalidate_start,
	.invalidate_range_end = vm_invalidate_end,
	.clear_young = vm_clear_young,
	.test_young = vm_test_young,
};

void vm_mmu_attach(struct vm *vm, struct mm *mm)
{
	vm->mm = mm;
	vm->mn.ops = &vm_mmu_ops;
	vm->ept.defer_frees = true; /* EPT tables are freed after the INVEPT that forgets them */
	mmu_inval_init(&vm->inval, &vm->mmu_lock);
	mmu_notifier_register(mm, &vm->mn);
}

void vm_mmu_detach(struct vm *vm)
{
	if (vm->mm)
		mmu_notifier_unregister(vm->mm, &vm->mn);
	vm->mm = NULL;
}

int vm_memslot_add(struct vm *vm, uint64_t gpa, uint64_t size, uint64_t hva, unsigned flags,
		   char *err, size_t errlen)
{
	int r;

	spin_lock(&vm->mmu_lock);
	if (vm->mn_active) {
		/* A start/end pair must see the same slots: no change in between. */
		ksnprintf(err, errlen, "memslot change refused: %ld invalidation(s) in progress",
			  vm->mn_active);
		r = -EBUSY;
	} else {
		r = memslot_add(&vm->slots, gpa, size, hva, flags, err, errlen);
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}

int vm_memslot_remove(struct vm *vm, uint64_t gpa)
{
	struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);
	int r = -ENOENT;

	spin_lock(&vm->mmu_lock);
	if (vm->mn_active) {
		r = -EBUSY;
	} else if (s && s->base_gfn == gpa >> PAGE_SHIFT) {
		/*
		 * Removing a slot is an invalidation of its gfns: a fault that looked
		 * the slot up before must see seq move and retry, not install; and
		 * no cache may keep a page the slot no longer gives the guest.
		 */
		mmu_invalidate_begin(&vm->inval);
		mmu_invalidate_range_add(&vm->inval, s->base_gfn, s->base_gfn + s->npages);
		gpc_invalidate_start(vm, s->hva, s->hva + (s->npages << PAGE_SHIFT));
		if (pt_zap(&vm->ept, s->base_gfn << PAGE_SHIFT, s->npages << PAGE_SHIFT, 0))
			vm_flush_ept(vm);
		r = memslot_remove(&vm->slots, gpa);
		mmu_invalidate_end(&vm->inval);
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}

struct coherent_ctx {
	struct vm *vm;
	long bad;
	char *why;
	size_t len;
};

/* One host leaf under an EPT leaf: its part of the EPT leaf must map the same frames. */
struct host_span {
	const struct pt_fmt *fmt; /* the host page tables' format */
	uint64_t hva;    /* where the EPT leaf's pages are in host-virtual space */
	uint64_t epa;    /* the EPT leaf's first frame */
	bool writable;   /* the EPT leaf allows writes */
	uint64_t next;   /* next hva expected: the host must leave no hole */
	uint64_t bad_off; /* offset of the first page that differs, or ~0 */
};

static bool check_host_leaf(void *ctx, uint64_t lva, int level, pte_t *entry)
{
	struct host_span *h = ctx;
	const struct pt_fmt *fmt = h->fmt;
	pte_t e = READ_ONCE(*entry);
	uint64_t from = MAX(lva, h->next), off = from - h->hva;
	uint64_t hpa = fmt->addr(e, level) + (from - lva);

	/* Same frames page for page (one comparison covers the run), never more access. */
	if (from != h->next || hpa != h->epa + off || (h->writable && !(fmt->prot(e) & PT_PROT_W))) {
		h->bad_off = h->next - h->hva;
		return false;
	}
	h->next = lva + pt_level_size(level);
	return true;
}

/*
 * Every 4 KiB page of the leaf is compared with the host page tables: a
 * sample would miss a huge leaf that still covers one changed page (a fault
 * installed over a page being removed). Walking host leaves rather than
 * pages keeps a 1 GiB leaf over a 1 GiB host page at one comparison.
 */
static bool check_leaf(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct coherent_ctx *c = ctx;
	struct vm *vm = c->vm;
	pte_t e = READ_ONCE(*entry);
	uint64_t size = pt_level_size(level), gfn = gpa >> PAGE_SHIFT;
	struct memslot *s = memslot_find(&vm->slots, gfn);
	struct host_span h = { vm->mm->pt.fmt, 0, ept_fmt.addr(e, level), (e & EPT_W) != 0, 0,
			       ~0ULL };
	const char *what = "no memslot";

	if (s && gfn + (size >> PAGE_SHIFT) <= s->base_gfn + s->npages) {
		h.hva = h.next = memslot_gfn_to_hva(s, gfn);
		pt_for_each_leaf(&vm->mm->pt, h.hva, size, check_host_leaf, &h);
		if (h.bad_off == ~0ULL && h.next >= h.hva + size)
			return true;
		if (h.bad_off == ~0ULL)
			h.bad_off = h.next - h.hva; /* the host maps nothing from there */
		what = "another frame, none, or no write access";
	} else if (s) {
		what = "a leaf that runs past the end of its memslot";
		h.bad_off = 0;
	} else {
		h.bad_off = 0;
	}
	if (!c->bad++)
		ksnprintf(c->why, c->len, "EPT %s leaf at GPA %#llx maps %#llx%s, host has %s",
			  pt_level_name(level), (unsigned long long)(gpa + h.bad_off),
			  (unsigned long long)(h.epa + h.bad_off), (e & EPT_W) ? " writable" : "",
			  what);
	return true;
}

long ept_check_coherent(struct vm *vm, char *why, size_t len)
{
	struct coherent_ctx c = { vm, 0, why, len };

	if (len)
		why[0] = '\0';
	pt_for_each_leaf(&vm->ept, 0, 1ULL << PT_VA_BITS, check_leaf, &c);
	return c.bad;
}
