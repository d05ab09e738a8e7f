/*
 * The shadow MMU's guest-facing paths: #PF, CR3 load, INVLPG, emulated
 * writes to guest tables, and syncing unsync pages. A fault follows the EPT
 * fault path's protocol (../shared/DESIGN.md, "Fault path"): snapshot seq,
 * walk and resolve without mmu_lock, then under it discard the fault if an
 * invalidation covered its data gfn or any guest table it read (those were
 * read through host mappings too), or the guest's walk changed, and only
 * then install. How KVM does it: arch/x86/kvm/mmu/paging_tmpl.h
 * (FNAME(page_fault), FNAME(sync_spte)) and mmu.c (mmu_sync_children).
 * Pure: host-tested.
 */
#include "ept/fault.h"
#include "ept/shadow_int.h"
#include "ept/shadow_walk.h"
#include "ept/vm.h"
#include "lib/lib.h"

/*
 * Sync an unsync level-1 page (KVM's FNAME(sync_spte)), write-protected
 * again and flushed already (sync_root()): every entry built from a guest
 * entry that has changed since is dropped, and the guest's next access
 * builds it anew.
 */
static void sync_page(struct vm *vm, struct shadow_page *sp)
{
	bool hw;
	uint64_t missing;
	uint64_t *g = shadow_gpa_word(vm, sp->gfn << PAGE_SHIFT, &hw, &missing);

	vm_stat_inc(vm, shadow_synced);
	sp->unsync = false;
	if (!g) {
		/* Its host page is gone now: nothing to compare with, so nothing stays. */
		sp_zap(vm, sp);
		return;
	}
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		if (!spte_present(pte_read(&sp->spt[i])))
			continue;
		if (__atomic_load_n(&g[i], __ATOMIC_RELAXED) != sp->gptes[i]) {
			sp_drop_entry(vm, sp, i);
			vm->smmu.need_flush = true;
			vm_stat_inc(vm, shadow_sync_changed);
		}
	}
}

/*
 * Seed 004's caller side: walk, sync or zap every page handed over (even
 * when the walk said -ENOSPC), and walk again until it did not.
 */
static void sync_root(struct vm *vm, struct shadow_page *root)
{
	struct sp_vec vec;
	int r;

	if (!root->unsync_children)
		return;
	vm_stat_inc(vm, shadow_sync_walks);
	do {
		vec.n = 0;
		vec.cap = 0;
		r = sp_unsync_walk(root, &vec);
		/*
		 * Write-protect and flush first, compare after (KVM's
		 * mmu_sync_children()): a vCPU writing the table through a
		 * writable translation until the flush is seen by the compare.
		 */
		for (unsigned k = 0; k < vec.n; k++)
			if (vec.page[k].sp->unsync)
				shadow_write_protect_gfn(vm, vec.page[k].sp->gfn);
		shadow_flush(vm);
		for (unsigned k = 0; k < vec.n; k++)
			if (vec.page[k].sp->unsync)
				sync_page(vm, vec.page[k].sp);
	} while (r == -ENOSPC);
}

/* Level-1 pages of @gfn left unsync must not stay so once @gfn is an upper-level table. */
static void zap_unsync_of_gfn(struct vm *vm, uint64_t gfn)
{
	struct shadow_page *sp = sp_first_of_gfn(vm, gfn), *next;

	for (; sp; sp = next) {
		next = sp_next_of_gfn(vm, sp->hash_next, gfn);
		if (sp->unsync)
			sp_zap(vm, sp);
	}
}

/* The shadow page of guest table @gfn at @role, made and write-protected if new. */
static struct shadow_page *get_sp(struct vm *vm, uint64_t gfn, union shadow_role role)
{
	struct shadow_page *sp = sp_find(vm, gfn, role);

	if (sp)
		return sp;
	if (!role.direct && role.level > PT_LEVEL_4K)
		zap_unsync_of_gfn(vm, gfn);
	sp = sp_alloc(vm, gfn, role);
	if (sp && !role.direct)
		shadow_write_protect_gfn(vm, gfn);
	return sp;
}

/*
 * The root for guest paging off (KVM's mmu_alloc_direct_roots() with a PAE
 * root): a level-3 page of the identity map whose entries 0-3, PDPTEs, the
 * faults fill in as they do any entry. Its table must lie below 4 GiB: CR3
 * holds 32 bits in legacy PAE mode. mmu_lock held.
 */
static struct shadow_page *get_pae_root(struct vm *vm, char *why, size_t len)
{
	union shadow_role role = { .word = 0 };

	role.level = PT_LEVEL_1G;
	role.direct = 1;
	role.nonpaging = 1;
	role.access = SHADOW_ACC_W | SHADOW_ACC_U | SHADOW_ACC_X;
	if (!sp_find(vm, 0, role))
		sp_reclaim(vm, 1);
	struct shadow_page *sp = get_sp(vm, 0, role);
	if (!sp) {
		ksnprintf(why, len, "no memory for the paging-off shadow root");
		return NULL;
	}
	if (sp->spt_pa >> 32) {
		ksnprintf(why, len, "the paging-off shadow root's table is at %#llx, above 4 GiB, "
			  "where legacy PAE paging's CR3 cannot reach it",
			  (unsigned long long)sp->spt_pa);
		if (!sp->root_count)
			sp_zap(vm, sp);
		return NULL;
	}
	return sp;
}

int shadow_load_cr3(struct vm *vm, const struct shadow_mode *m, struct shadow_page **root,
		    uint64_t *hpa, char *why, size_t len)
{
	union shadow_role role = { .word = 0 };
	uint64_t gfn = (m->cr3 & X86_PTE_ADDR_MASK) >> PAGE_SHIFT;
	struct shadow_page *sp, *old = *root;

	role.level = PT_LEVELS;
	role.wp = m->wp;
	role.nxe = m->nxe;
	role.access = SHADOW_ACC_W | SHADOW_ACC_U | SHADOW_ACC_X;
	spin_lock(&vm->mmu_lock);
	if (m->nonpaging) {
		sp = get_pae_root(vm, why, len);
		if (!sp) {
			shadow_flush(vm);
			spin_unlock(&vm->mmu_lock);
			return -ENOMEM;
		}
	} else {
		if (!memslot_find(&vm->slots, gfn)) {
			spin_unlock(&vm->mmu_lock);
			ksnprintf(why, len, "guest CR3 %#llx points outside its RAM",
				  (unsigned long long)m->cr3);
			return -EFAULT;
		}
		if (!sp_find(vm, gfn, role))
			sp_reclaim(vm, 1);
		sp = get_sp(vm, gfn, role);
		if (!sp) {
			spin_unlock(&vm->mmu_lock);
			ksnprintf(why, len, "no memory for a shadow page table root");
			return -ENOMEM;
		}
	}
	sp->root_count++;
	if (old)
		sp_put_root_locked(vm, old);
	vm_stat_inc(vm, shadow_root_loads);
	sync_root(vm, sp);
	shadow_flush(vm);
	spin_unlock(&vm->mmu_lock);
	*root = sp;
	*hpa = sp->spt_pa;
	return 0;
}

void shadow_invlpg(struct vm *vm, struct shadow_page *root, uint64_t gva)
{
	/*
	 * The whole root is synced rather than @gva's leaf alone: simpler, and
	 * what a CR3 load does anyway. @gva's own entry, if its guest entry
	 * changed in a write-protected table, was dropped when the write was
	 * emulated.
	 */
	(void)gva;
	spin_lock(&vm->mmu_lock);
	if (!root->role.invalid)
		sync_root(vm, root);
	shadow_flush(vm);
	spin_unlock(&vm->mmu_lock);
}

/*
 * A guest write to a table of its own: leave every level-1 page of @gfn
 * unsync, if that is all @gfn is shadowed as (KVM's mmu_try_to_unsync_pages).
 */
static bool try_unsync(struct vm *vm, uint64_t gfn)
{
	struct shadow_page *sp;

	if (vm->smmu.unsync_off)
		return false;
	for (sp = sp_first_of_gfn(vm, gfn); sp; sp = sp_next_of_gfn(vm, sp->hash_next, gfn))
		if (sp->role.level != PT_LEVEL_4K)
			return false;
	for (sp = sp_first_of_gfn(vm, gfn); sp; sp = sp_next_of_gfn(vm, sp->hash_next, gfn))
		if (!sp->unsync)
			sp_mark_unsync(sp);
	return true;
}

/* SHADOW_ACC_* of the guest entries from the PML4E down to level @lowest. */
static unsigned path_access(const struct gwalk *w, int lowest)
{
	unsigned acc = SHADOW_ACC_W | SHADOW_ACC_U | SHADOW_ACC_X;

	for (int level = PT_LEVELS; level >= lowest; level--) {
		uint64_t e = w->gpte[level];

		if (!(e & X86_PTE_W))
			acc &= ~SHADOW_ACC_W;
		if (!(e & X86_PTE_U))
			acc &= ~SHADOW_ACC_U;
		if (e & X86_PTE_NX)
			acc &= ~SHADOW_ACC_X;
	}
	return acc;
}

/* The child a fault needs below entry @i of a level-@level page: guest table or direct. */
static union shadow_role child_role(const struct gwalk *w, const struct shadow_mode *m, int level,
				    uint64_t *gfn)
{
	union shadow_role role = { .word = 0 };

	role.level = (uint32_t)(level - 1);
	/* Paging off: one identity map, whatever CR0.WP and EFER.NXE say (they do nothing). */
	role.nonpaging = m->nonpaging;
	role.wp = m->wp && !m->nonpaging;
	role.nxe = m->nxe && !m->nonpaging;
	role.access = path_access(w, level);
	if (level > w->level) {
		*gfn = w->table_gfn[level - 1];
		return role;
	}
	/*
	 * Below a guest huge page: pages of our own that map its 4 KiB pieces.
	 * While the huge entry is clean they are not writable, so a write
	 * through it faults and sets its dirty bit (KVM's protect_clean_gpte()).
	 */
	role.direct = 1;
	role.access = path_access(w, w->level);
	if (!(w->gpte[w->level] & X86_PTE_D))
		role.access &= ~SHADOW_ACC_W;
	*gfn = ALIGN_DOWN(w->gfn, 1ULL << (9 * (level - 1)));
	return role;
}

/* Steps 4-5, mmu_lock held: the path of shadow pages, then the leaf. */
static int install(struct vm *vm, const struct shadow_mode *m, struct shadow_page *sp,
		   uint64_t gva, const struct gwalk *w, const struct fault *f, uint32_t access,
		   uint64_t *gpa)
{
	struct shadow_page *path[PT_LEVELS + 1];
	bool fresh = false;
	int top = sp->role.level; /* 4; 3 for paging off's PAE root */

	/*
	 * First the shadow pages the path needs, a new guest table's
	 * write-protected. Then, if any is new, flush before trusting the
	 * entries read: another vCPU may have written the table through a
	 * writable translation until now. The walk is read again after the
	 * flush; a change since means the guest faults again (KVM flushes in
	 * account_shadowed() and checks gpte_changed()).
	 */
	for (int level = top; level > PT_LEVEL_4K; level--) {
		uint64_t gfn;
		union shadow_role role = child_role(w, m, level, &gfn);

		path[level - 1] = sp_find(vm, gfn, role);
		if (!path[level - 1]) {
			path[level - 1] = get_sp(vm, gfn, role);
			fresh = true;
		}
		if (!path[level - 1])
			return -ENOMEM;
	}
	if (fresh && vm->smmu.need_flush) {
		struct gwalk again;
		uint32_t pfec;

		shadow_flush(vm);
		if (shadow_walk(vm, m, gva, access, &again, &pfec, false) ||
		    !shadow_walk_same(w, &again))
			return SHADOW_RESUME;
	}
	for (int level = top; level > PT_LEVEL_4K; level--) {
		unsigned i = pt_index(gva, level);
		struct shadow_page *child = path[level - 1];

		if (spte_present(pte_read(&sp->spt[i])) && sp->child[i] == child) {
			sp = child;
			continue;
		}
		/*
		 * The guest pointed this entry elsewhere behind our back (a
		 * write that bypassed write protection). Dropping the old child
		 * may zap, as orphans, pages that path[] holds below: never link
		 * those back (the flush frees them). Drop, and let the guest
		 * fault again on a fresh path (KVM never relinks a present
		 * non-leaf entry: kvm_mmu_get_child_sp() gives -EEXIST).
		 */
		if (spte_present(pte_read(&sp->spt[i]))) {
			sp_drop_entry(vm, sp, i);
			vm->smmu.need_flush = true;
			return SHADOW_RESUME;
		}
		/*
		 * A child that is unsync, or has unsync pages below, about to be
		 * linked here: the guest's last flush synced only what its root
		 * reached then, so entries the guest rewrote since would show
		 * through this new link after that flush. An unsync page is
		 * zapped (a fresh one is built from the guest's entries now),
		 * the pages below one are synced, and the guest faults again
		 * (KVM syncs an unsync page kvm_mmu_find_shadow_page() finds).
		 * Found by the shadow fuzzer (tests/host/test_shadow_fuzz.c).
		 */
		if (child->unsync || child->unsync_children) {
			if (child->unsync)
				sp_zap(vm, child);
			else
				sync_root(vm, child);
			return SHADOW_RESUME;
		}
		if (sp_link(vm, sp, i, child))
			return -ENOMEM;
		sp->gptes[i] = level > w->level ? w->gpte[level] : 0;
		sp = child;
	}
	bool write = access & X86_PF_WRITE, user = access & X86_PF_USER;
	/* With CR0.WP clear a supervisor write ignores W: allow it, but not to user mode (KVM). */
	bool spte_w = w->w || (!m->wp && !user && write);
	bool spte_u = w->u && (w->w || !spte_w);
	uint64_t leaf = w->gpte[w->level];

	/* Dirty not yet set in the guest's entry: its first write must come here to set it. */
	if (!(leaf & X86_PTE_D) && !write)
		spte_w = false;
	if (!(f->prot & PT_PROT_W))
		spte_w = false;
	if (spte_w && gfn_write_protected(vm, w->gfn)) {
		if (!write) {
			spte_w = false;
		} else {
			vm_stat_inc(vm, shadow_wp_faults);
			if (!try_unsync(vm, w->gfn)) {
				vm_stat_inc(vm, shadow_emulated);
				*gpa = (w->gfn << PAGE_SHIFT) | (gva & (PAGE_SIZE - 1));
				return SHADOW_EMULATE;
			}
			vm_stat_inc(vm, shadow_unsynced);
		}
	}
	unsigned i = pt_index(gva, PT_LEVEL_4K);
	pte_t spte = f->page_pa | X86_PTE_P | X86_PTE_A | (spte_w ? X86_PTE_W : 0) |
		     (spte_u ? X86_PTE_U : 0) | (w->nx && m->nxe ? X86_PTE_NX : 0);
	pte_t old = pte_read(&sp->spt[i]);

	if (spte_present(old)) {
		/* Another frame, or fewer rights, may be cached: flush. */
		if ((old & X86_PTE_ADDR_MASK) != f->page_pa || (old & ~spte & (X86_PTE_W | X86_PTE_U)))
			vm->smmu.need_flush = true;
		sp_drop_entry(vm, sp, i);
	}
	if (!sp->role.direct)
		sp->gptes[i] = leaf;
	if (rmap_add(vm, w->gfn, &sp->spt[i]))
		return -ENOMEM;
	pte_write(&sp->spt[i], spte);
	vm_stat_inc(vm, ept_installed[PT_LEVEL_4K]);
	return SHADOW_RESUME;
}

/*
 * The locked check (DESIGN.md's retry_gfn), over every gfn the fault read:
 * the data page and each guest table on the way, since all were read
 * through host mappings an invalidation may be changing. One running
 * elsewhere does not discard the fault (the stress test's lost-race bound).
 */
static bool walk_retry(struct vm *vm, const struct gwalk *w, uint64_t seq)
{
	if (mmu_invalidate_retry_gfn(&vm->inval, seq, w->gfn))
		return true;
	if (w->nonpaging)
		return false; /* no guest table was read */
	for (int level = PT_LEVELS; level >= w->level; level--)
		if (mmu_invalidate_retry_gfn(&vm->inval, seq, w->table_gfn[level]))
			return true;
	return false;
}

/* Walk the guest's tables, faulting their host pages in where needed (mmu_lock not held). */
/*
 * Walk the guest's tables (mmu_lock taken for the walk only). A table whose
 * host page is gone is faulted in and the walk ends with WALK_AGAIN: the
 * guest retries rather than this CPU spinning here with interrupts off,
 * while the host change that took the page may wait for this CPU (a TLB
 * shootdown's IPI).
 */
#define WALK_RELOAD 100
#define WALK_AGAIN 101
static int walk_unlocked(struct vm *vm, const struct shadow_mode *m, struct shadow_page *root,
			 uint64_t gva, uint32_t access, struct gwalk *w, uint32_t *pfec)
{
	spin_lock(&vm->mmu_lock);
	/*
	 * A root built for another NXE holds entries whose NX bit would be
	 * reserved now; one built for paging on or off is the wrong map.
	 */
	bool stale = root && (root->role.invalid || root->role.nonpaging != m->nonpaging ||
			      (!m->nonpaging && root->role.nxe != m->nxe));
	int r = stale ? WALK_RELOAD : shadow_walk(vm, m, gva, access, w, pfec, false);
	spin_unlock(&vm->mmu_lock);
	if (r != -EAGAIN)
		return r;
	r = mm_fault_in(vm->mm, w->missing_hva);
	return r && r != -EAGAIN ? r : WALK_AGAIN;
}

int shadow_page_fault(struct vm *vm, const struct shadow_mode *m, struct shadow_page *root,
		      uint64_t gva, uint32_t pfec, uint32_t *guest_pfec, uint64_t *gpa, char *why,
		      size_t len)
{
	uint32_t access = pfec & (X86_PF_WRITE | X86_PF_USER | X86_PF_FETCH);
	struct gwalk w, w2;
	uint64_t seq = mmu_invalidate_seq_snapshot(&vm->inval);

	*gpa = ~0ULL;
	vm_stat_inc(vm, shadow_faults);
	int r = walk_unlocked(vm, m, root, gva, access, &w, guest_pfec);
	if (r == WALK_RELOAD)
		return SHADOW_RELOAD;
	if (r == WALK_AGAIN)
		return SHADOW_RESUME;
	if (r == 1) {
		vm_stat_inc(vm, shadow_reflected);
		return SHADOW_REFLECT;
	}
	if (!r && (pfec & X86_PF_RSVD)) {
		/*
		 * The guest's own entries have no reserved bit set, so one of
		 * ours has: minihv wrote a malformed entry (an EPT misconfig's
		 * counterpart). The VM stops; the host goes on.
		 */
		VM_BUG_ON(pfec & X86_PF_RSVD, vm);
		return SHADOW_RESUME;
	}
	if (r) {
		ksnprintf(why, len, "guest page table entry at GPA %#llx (for %#llx) is outside "
			  "its RAM", (unsigned long long)w.bad_gpa, (unsigned long long)gva);
		return r;
	}
	struct fault f = { .gpa = (w.gfn << PAGE_SHIFT) | (gva & (PAGE_SIZE - 1)), .gfn = w.gfn,
			   .write = access & X86_PF_WRITE, .seq = seq };
	vm_stat_inc(vm, ept_violations);
	r = mmu_resolve(vm, &f, why, len);
	if (r == -EFAULT)
		*gpa = f.gpa; /* outside RAM: the caller may emulate a device there */
	if (r)
		return r == 1 ? SHADOW_RESUME : r;
	if (mmu_invalidate_retry_gfn_unsafe(&vm->inval, seq, w.gfn)) {
		vm_stat_inc(vm, ept_retries);
		return SHADOW_RESUME;
	}
	spin_lock(&vm->mmu_lock);
	uint32_t pfec2;
	/* Room first, before install() holds any page of its path (hole 1's lesson). */
	sp_reclaim(vm, SHADOW_FAULT_PAGES);
	if (root->role.invalid) {
		r = SHADOW_RELOAD;
	} else if (walk_retry(vm, &w, seq) ||
		   shadow_walk(vm, m, gva, access, &w2, &pfec2, true) ||
		   !shadow_walk_same(&w, &w2)) {
		/* The host or the guest changed something meanwhile: the guest faults again. */
		vm_stat_inc(vm, ept_retries);
		r = SHADOW_RESUME;
	} else if ((access & X86_PF_WRITE) && !(w2.gpte[w2.level] & X86_PTE_D)) {
		/*
		 * The walk could not set the dirty bit of a write: the host keeps
		 * that guest table read-only. A writable leaf would lose the bit;
		 * the write is refused as one to read-only memory. Found by the
		 * shadow fuzzer (tests/host/test_shadow_fuzz.c).
		 */
		ksnprintf(why, len, "the guest page table at GPA %#llx is read-only in the host: "
			  "no dirty bit can be set for the write to %#llx",
			  (unsigned long long)(w2.table_gfn[w2.level] << PAGE_SHIFT),
			  (unsigned long long)gva);
		r = -EPERM;
	} else {
		r = install(vm, m, root, gva, &w2, &f, access, gpa);
	}
	shadow_flush(vm);
	spin_unlock(&vm->mmu_lock);
	if (r == -ENOMEM)
		ksnprintf(why, len, "no memory for shadow page tables (%lu pages)",
			  vm->smmu.nr_pages);
	return r;
}

int shadow_translate(struct vm *vm, const struct shadow_mode *m, uint64_t gva, uint32_t pfec,
		     uint64_t *gpa, uint32_t *fault_pfec)
{
	struct gwalk w;
	int r, tries = 0;

	/* Bounded: the host may keep taking the page away; the caller says so then. */
	do
		r = walk_unlocked(vm, m, NULL, gva, pfec, &w, fault_pfec);
	while (r == WALK_AGAIN && ++tries < 16);
	if (r == WALK_AGAIN)
		return -EAGAIN;
	if (!r)
		*gpa = (w.gfn << PAGE_SHIFT) | (gva & (PAGE_SIZE - 1));
	return r;
}
