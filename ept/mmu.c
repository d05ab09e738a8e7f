/*
 * The secondary MMU kept coherent with the primary one (DESIGN.md, seeds
 * 000, 002, 003): the EPT-violation path and the notifier callbacks that
 * zap EPT when the host changes a mapping. Pure: runs in the kernel against
 * host_mm and in the host unit tests against an arena-backed mm.
 */
#include "bug.h"
#include "ept.h"
#include "gpc.h"
#include "hal.h"
#include "kerrno.h"
#include "kstring.h"
#include "printk.h"
#include "vm.h"
#include "vmcs_defs.h"

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
}

static void fault_step(struct vm *vm, enum fault_step step)
{
	if (vm->fault_hook)
		vm->fault_hook(vm, step, vm->fault_hook_ctx);
}

/*
 * Map a fresh zeroed 4 KiB page at @hva: the primary MMU faulting in backing
 * that was unmapped (as a host page fault would). Racing invalidations are
 * caught by the seq check like any other change.
 */
static int fault_in_backing(struct vm *vm, uint64_t hva)
{
	uint64_t pa;
	int r = frame_alloc(vm->mm->pt.fa, FRAME_ORDER_4K, &pa);

	if (r)
		return r;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	r = mm_map(vm->mm, hva, pa, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K);
	if (r) {
		frame_free(vm->mm->pt.fa, pa, FRAME_ORDER_4K);
		return r;
	}
	vm->stats.host_faultins++;
	return 0;
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

int ept_handle_violation(struct vm *vm, uint64_t gpa, uint64_t qual, char *why, size_t len)
{
	/* 1. Snapshot the sequence before looking at the host page tables. */
	uint64_t seq = mmu_invalidate_seq_snapshot(&vm->inval);
	uint64_t gfn = gpa >> PAGE_SHIFT;
	bool write = qual & EPT_QUAL_WRITE;

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
		int r = fault_in_backing(vm, hva);
		if (r || pt_lookup(&vm->mm->pt, hva, &w)) {
			ksnprintf(why, len, "GPA %#llx: cannot map backing at hva %#llx: %s",
				  (unsigned long long)gpa, (unsigned long long)hva,
				  errno_name(r ? r : -ENOENT));
			return r ? r : -ENOENT;
		}
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
		 * Zapped leaves leave their tables behind. Free the empty ones so a
		 * larger leaf can take their place (after a collapse), and flush:
		 * the CPU may cache the old table pointers.
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
	/* A failed map rolls back, possibly freeing tables the CPU may have cached. */
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

static void vm_invalidate_start(struct mmu_notifier *mn, const struct mmu_range *r)
{
	struct vm *vm = vm_of(mn);
	bool begun = false;
	long zapped = 0;
	unsigned keep = keep_prot(r);

	for (unsigned i = 0; i < vm->slots.n; i++) {
		uint64_t gs, ge;

		if (!slot_gfns(&vm->slots.slot[i], r->start, r->end, &gs, &ge))
			continue;
		if (!begun) {
			spin_lock(&vm->mmu_lock);
			mmu_invalidate_begin(&vm->inval);
			begun = true;
		}
		mmu_invalidate_range_add(&vm->inval, gs, ge);
		/* Precise: a change that takes nothing from the guest zaps nothing. */
		if (r->event != MMU_EV_PROTECT || keep != PT_PROT_RWX)
			zapped += pt_zap(&vm->ept, gs << PAGE_SHIFT, (ge - gs) << PAGE_SHIFT, keep);
	}
	if (!begun)
		return; /* touches no memslot: nothing at all to do */
	gpc_invalidate_start(vm, r->start, r->end);
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
	uint64_t gs, ge;
	bool any = false;

	/* Memslots cannot change while an invalidation runs: same slots as start(). */
	for (unsigned i = 0; i < vm->slots.n && !any; i++)
		any = slot_gfns(&vm->slots.slot[i], r->start, r->end, &gs, &ge);
	if (!any)
		return;
	spin_lock(&vm->mmu_lock);
	if (!mmu_invalidate_end(&vm->inval))
		VM_BUG_ON(true, vm); /* more end()s than begin()s */
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
	if (vm->inval.in_progress) {
		/* A begin/end pair must see the same slots: no change in between. */
		ksnprintf(err, errlen, "memslot change refused: %ld invalidation(s) in progress",
			  vm->inval.in_progress);
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
	if (vm->inval.in_progress) {
		r = -EBUSY;
	} else if (s && s->base_gfn == gpa >> PAGE_SHIFT) {
		/*
		 * Removing a slot is an invalidation of its gfns: a fault that looked
		 * the slot up before must see seq move and retry, not install.
		 */
		mmu_invalidate_begin(&vm->inval);
		mmu_invalidate_range_add(&vm->inval, s->base_gfn, s->base_gfn + s->npages);
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

static bool check_leaf(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct coherent_ctx *c = ctx;
	struct vm *vm = c->vm;
	pte_t e = READ_ONCE(*entry);
	uint64_t size = pt_level_size(level), epa = ept_fmt.addr(e, level);

	/* First, middle and last page of the leaf: enough to catch a stale or shifted pfn. */
	uint64_t offs[3] = { 0, ALIGN_DOWN(size / 2, PAGE_SIZE), size - PAGE_SIZE };
	for (int i = 0; i < 3; i++) {
		uint64_t g = (gpa + offs[i]) >> PAGE_SHIFT;
		struct memslot *s = memslot_find(&vm->slots, g);
		struct pt_walk w;
		/* Same frame, and never writable where the host is not. */
		bool ok = s && pt_lookup(&vm->mm->pt, memslot_gfn_to_hva(s, g), &w) == 0 &&
			  ALIGN_DOWN(w.pa, PAGE_SIZE) == epa + offs[i] &&
			  (!(e & EPT_W) || (w.prot & PT_PROT_W));

		if (!ok) {
			if (!c->bad++)
				ksnprintf(c->why, c->len, "EPT %s leaf at GPA %#llx maps %#llx%s, host "
					  "has %s", pt_level_name(level),
					  (unsigned long long)(gpa + offs[i]),
					  (unsigned long long)(epa + offs[i]),
					  (e & EPT_W) ? " writable" : "",
					  s ? "another frame, none, or no write access" : "no memslot");
			break;
		}
	}
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
