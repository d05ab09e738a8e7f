/*
 * Host unit tests for the shadow MMU (ept/shadow*.c), on the harness of
 * tests/host/shadow_harness.h: races of host changes with a fault (the data
 * page and the guest's own tables), roots and frame accounting, and four
 * regression tests for bugs of the first version (rights leaking through a
 * shared table, a lost dirty bit on 2 MiB aliases, and two windows between
 * write-protecting a table and the flush).
 */
#include "tests/host/shadow_harness.h"

/* 7. Races: a host change in the middle of shadow_page_fault(). */
struct srace {
	enum mmu_event ev;
	uint64_t gpa;      /* the page the change is made to */
	bool fired;
	uint64_t new_pa;
	uint64_t *guest_write; /* or: the guest changes this entry of its tables */
	uint64_t guest_val;
};

static void race_change(struct srace *rc)
{
	uint64_t hva, old_pa;

	if (rc->guest_write) {
		*rc->guest_write = rc->guest_val;
		return;
	}
	hva = gpa_hva(rc->gpa);
	switch (rc->ev) {
	case MMU_EV_UNMAP:
		T(mm_unmap(&mm, hva, PAGE_SIZE) == 1);
		break;
	case MMU_EV_PROTECT:
		T(mm_protect(&mm, hva, PAGE_SIZE, PT_PROT_R, false) == 1);
		break;
	case MMU_EV_MIGRATE:
		T(frame_alloc(&fa, FRAME_ORDER_4K, &rc->new_pa) == 0);
		T(mm_migrate(&mm, hva, rc->new_pa, &old_pa) == 0);
		break;
	default:
		T(0);
	}
}

static void walked_hook(struct vm *v, enum fault_step step, void *ctx)
{
	struct srace *rc = ctx;

	(void)v;
	if (step == FAULT_STEP_WALKED && !rc->fired) {
		rc->fired = true;
		race_change(rc); /* a whole start ... end inside the fault */
	}
}

/* The data page changes between the fault's host walk and its install. */
static bool one_data_race(enum mmu_event ev)
{
	struct srace rc = { ev, DATA(0), false, 0, NULL, 0 };
	bool ok = true;

	svm_fresh(false);
	ok &= T(pf(GVA(1), 0) == SHADOW_RESUME); /* a neighbour, mapped before */
	vm.fault_hook = walked_hook;
	vm.fault_hook_ctx = &rc;
	struct vm_stats s0 = vm.stats;
	ok &= T(pf(GVA(0), X86_PF_WRITE) == SHADOW_RESUME && rc.fired);
	vm.fault_hook = NULL;
	ok &= T(!cpu_leaf(GVA(0)) && mappings(DATA(0), NULL) == 0);
	ok &= T(vm.stats.ept_retries == s0.ept_retries + 1 && shadow_coherent());
	ok &= T(cpu_maps(GVA(1), DATA(1))); /* precise */
	/* The next fault sees the host as it is now. */
	if (ev == MMU_EV_PROTECT) {
		ok &= T(pf(GVA(0), X86_PF_WRITE) == -EPERM && !cpu_leaf(GVA(0)));
		ok &= T(pf(GVA(0), 0) == SHADOW_RESUME && !(cpu_leaf(GVA(0)) & G_W));
	} else {
		ok &= T(pf(GVA(0), X86_PF_WRITE) == SHADOW_RESUME && (cpu_leaf(GVA(0)) & G_W));
	}
	ok &= T(cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	if (ev == MMU_EV_MIGRATE)
		ok &= T(host_pa(DATA(0)) == rc.new_pa);
	if (ev == MMU_EV_UNMAP)
		ok &= T(page_is(gpa_hva(DATA(0)), 0));
	ok &= T(!vm.bugged);
	if (!ok)
		printf("# ^ data page, event %s\n", mmu_event_name(ev));
	svm_done();
	return ok;
}

/* A fault run by the mm's step hook: inside a host change's window. */
struct step_pf {
	enum mm_step at;
	uint64_t gva;
	uint32_t pfec;
	int calls, result;
};

static void pf_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct step_pf *sp = ctx;

	(void)m, (void)r;
	if (at == sp->at && !sp->calls++)
		sp->result = pf(sp->gva, sp->pfec);
}

/*
 * The guest's level-1 table PT changes backing while a fault walks through
 * it: the translation read from the old page must not be installed. At
 * MM_STEP_STARTED the page is still mapped and the data page is not in the
 * range: only the locked check over the tables' gfns (walk_retry()) sees it.
 */
static bool one_table_race(enum mmu_event ev, enum mm_step at, bool built)
{
	struct step_pf sp = { at, GVA(0), 0, 0, -1 };
	uint64_t hva = gpa_hva(PT), new_pa = 0, old_pa;
	bool ok = true;

	svm_fresh(false);
	if (built) /* PT already shadowed (through GVA(1)), or not yet */
		ok &= T(pf(GVA(1), 0) == SHADOW_RESUME && sp_of(PT));
	struct vm_stats s0 = vm.stats;
	mm.step_hook = pf_at_step;
	mm.step_hook_ctx = &sp;
	if (ev == MMU_EV_MIGRATE) {
		ok &= T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
		ok &= T(mm_migrate(&mm, hva, new_pa, &old_pa) == 0);
	} else {
		ok &= T(mm_unmap(&mm, hva, PAGE_SIZE) == 1);
	}
	mm.step_hook = NULL;
	ok &= T(sp.calls == 1 && sp.result == SHADOW_RESUME);
	ok &= T(!cpu_leaf(GVA(0)) && mappings(DATA(0), NULL) == 0);
	if (at == MM_STEP_STARTED)
		ok &= T(vm.stats.ept_retries == s0.ept_retries + 1);
	ok &= T(vm.inval.in_progress == 0 && shadow_coherent());
	if (ev == MMU_EV_MIGRATE) {
		/* The table moved with its contents: the fault now goes through. */
		ok &= T(host_pa(PT) == new_pa);
		ok &= T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)));
	} else if (!built) {
		/* The guest's table is gone (a zero page faults in): its own #PF. */
		int r = pf(GVA(0), 0);
		if (r == SHADOW_RESUME) /* the walk faulted the table in first */
			r = pf(GVA(0), 0);
		ok &= T(r == SHADOW_REFLECT && last_pfec == 0 && !cpu_leaf(GVA(0)));
	}
	ok &= T(shadow_coherent() && !vm.bugged);
	if (!ok)
		printf("# ^ table page, event %s, step %d, %s\n", mmu_event_name(ev), at,
		       built ? "shadowed before" : "not shadowed");
	svm_done();
	return ok;
}

static void test_fault_races(void)
{
	static const enum mmu_event data_events[] = { MMU_EV_UNMAP, MMU_EV_PROTECT, MMU_EV_MIGRATE };
	static const enum mm_step steps[] = { MM_STEP_STARTED, MM_STEP_UNMAPPED, MM_STEP_CHANGED };
	unsigned long w0 = warn_count;
	int n = 0, want = 0;

	for (unsigned e = 0; e < ARRAY_SIZE(data_events); e++, want++)
		n += one_data_race(data_events[e]);
	for (int built = 0; built < 2; built++) {
		for (unsigned s = 0; s < ARRAY_SIZE(steps); s++) {
			n += one_table_race(MMU_EV_MIGRATE, steps[s], built);
			want++;
			if (steps[s] != MM_STEP_UNMAPPED) { /* unmap has no such step */
				n += one_table_race(MMU_EV_UNMAP, steps[s], built);
				want++;
			}
		}
	}
	T(n == want);

	/* The table's backing migrates (a whole start ... end) after the fault's walk. */
	struct srace rc = { MMU_EV_MIGRATE, PT, false, 0, NULL, 0 };
	svm_fresh(false);
	vm.fault_hook = walked_hook;
	vm.fault_hook_ctx = &rc;
	T(pf(GVA(0), 0) == SHADOW_RESUME && rc.fired && !cpu_leaf(GVA(0)));
	T(vm.stats.ept_retries == 1 && host_pa(PT) == rc.new_pa);
	vm.fault_hook = NULL;
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	svm_done();

	/* The guest remaps the page meanwhile: its walk changed, the fault is retried. */
	svm_fresh(false);
	struct srace g = { MMU_EV_UNMAP, 0, false, 0, gpte(PT, 0), DATA(5) | G_P | G_W | G_U };
	vm.fault_hook = walked_hook;
	vm.fault_hook_ctx = &g;
	T(pf(GVA(0), 0) == SHADOW_RESUME && g.fired && !cpu_leaf(GVA(0)));
	T(vm.stats.ept_retries == 1 && mappings(DATA(0), NULL) == 0);
	vm.fault_hook = NULL;
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(5)) && shadow_coherent());
	svm_done();

	/* An invalidation of the table in progress (start() only) holds the fault off. */
	svm_fresh(false);
	struct mmu_range r = { gpa_hva(PT), gpa_hva(PT) + PAGE_SIZE, MMU_EV_MIGRATE, 0 };
	vm.mn.ops->invalidate_range_start(&vm.mn, &r);
	T(pf(GVA(0), 0) == SHADOW_RESUME && !cpu_leaf(GVA(0)) && vm.stats.ept_retries == 1);
	T(pf(GVA2(0), 0) == SHADOW_RESUME && cpu_maps(GVA2(0), DATA(32))); /* not through PT */
	vm.mn.ops->invalidate_range_end(&vm.mn, &r);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	T(!vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 8. Roots: one per (CR3, CR0.WP), kept while no vCPU holds them, shared
 * lower pages; emulated writes to a root's table; a zapped root a vCPU
 * still holds (SHADOW_RELOAD); and every frame back after destroy.
 */
static void test_roots_and_frames(void)
{
	unsigned long w0 = warn_count;
	char why[160];

	dvm(PT_LEVEL_4K);
	guest_tables();
	vm.shadow = true;
	uint64_t free0 = fa.nfree;
	T(shadow_mmu_init(&vm) == 0 && fa.nfree == free0);
	smode = (struct shadow_mode){ .cr3 = PML4, .wp = true, .nxe = false };
	sroot = NULL;
	T(load(&smode) == 0);
	struct shadow_page *root_a = sroot;
	uint64_t hpa_a = sroot_hpa;
	T(!frame_is_free(&fa, hpa_a) && root_a->root_count == 1);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)));
	T(vm.smmu.nr_pages == 4);
	/* A second CR3: another root; PDPT (shared by both) keeps its one shadow page. */
	struct shadow_mode mb = { .cr3 = PML4B, .wp = true, .nxe = false };
	smode = mb;
	T(load(&smode) == 0 && sroot != root_a && sroot_hpa != hpa_a);
	struct shadow_page *root_b = sroot;
	uint64_t hpa_b = sroot_hpa;
	T(root_a->root_count == 0 && root_b->root_count == 1 && !frame_is_free(&fa, hpa_a));
	T(!spte_at(hpa_b, GVA(0)));
	T(pf(GVA(0), 0) == SHADOW_RESUME && spte_at(hpa_b, GVA(0)) == spte_at(hpa_a, GVA(0)));
	T(vm.smmu.nr_pages == 5 && mappings(DATA(0), NULL) == 1);
	/* Back to the first CR3: the same root, as it was. */
	smode.cr3 = PML4;
	T(load(&smode) == 0 && sroot == root_a && sroot_hpa == hpa_a && root_b->root_count == 0);
	T(cpu_maps(GVA(0), DATA(0)) && vm.stats.shadow_root_loads == 3);
	/* Put: nobody holds it, it stays (a later load finds it). */
	shadow_put_root(&vm, &sroot);
	T(sroot == NULL && root_a->root_count == 0 && vm.smmu.nr_pages == 5);
	T(load(&smode) == 0 && sroot == root_a);

	/* The guest writes PML4[0] (emulated): root A's entry goes; B's path stays. */
	uint64_t free1 = fa.nfree;
	T(shadow_emulated_write(&vm, PML4, PDPT | TABLE, 8, why, sizeof(why)) == 0);
	T(!spte_at(hpa_a, GVA(0)) && spte_at(hpa_b, GVA(0)) && vm.smmu.nr_pages == 5);
	T(fa.nfree == free1);
	/* ... and PML4B[0]: nothing links PDPT any more: PDPT, PD, PT go, after the flush. */
	unsigned long f0 = vm_flushes;
	T(shadow_emulated_write(&vm, PML4B, PDPT | TABLE, 8, why, sizeof(why)) == 0);
	T(!spte_at(hpa_b, GVA(0)) && vm.smmu.nr_pages == 2 && vm_flushes == f0 + 1);
	T(fa.nfree == free1 + 3 * 3 && vm.smmu.zapped == NULL); /* 3 frames per shadow page */
	T(mappings(DATA(0), NULL) == 0 && sp_of(PT) == NULL && sp_of(PDPT) == NULL);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)) && vm.smmu.nr_pages == 5);

	/* A root zapped while this vCPU holds it: invalid, emptied, but not freed until put. */
	spin_lock(&vm.mmu_lock);
	sp_zap(&vm, root_a);
	shadow_flush(&vm);
	spin_unlock(&vm.mmu_lock);
	T(root_a->role.invalid && !frame_is_free(&fa, hpa_a) && !spte_at(hpa_a, GVA(0)));
	T(pf(GVA(0), 0) == SHADOW_RELOAD);
	shadow_invlpg(&vm, sroot, GVA(0)); /* harmless on an invalid root */
	T(load(&smode) == 0 && sroot != root_a && !sroot->role.invalid);
	T(frame_is_free(&fa, hpa_a)); /* dropped by the load: freed at its flush */
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)));
	/* The same when the holder drops it by shadow_put_root(). */
	struct shadow_page *root_c = sroot;
	uint64_t hpa_c = sroot_hpa;
	spin_lock(&vm.mmu_lock);
	sp_zap(&vm, root_c);
	shadow_flush(&vm);
	spin_unlock(&vm.mmu_lock);
	T(!frame_is_free(&fa, hpa_c));
	shadow_put_root(&vm, &sroot);
	T(sroot == NULL && !frame_is_free(&fa, hpa_c));
	spin_lock(&vm.mmu_lock);
	shadow_flush(&vm); /* the next flush */
	spin_unlock(&vm.mmu_lock);
	T(frame_is_free(&fa, hpa_c));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	/* Destroy: every frame the shadow MMU took is back. */
	T(fa.nfree < free0);
	shadow_mmu_destroy(&vm);
	T(fa.nfree == free0 && vm.smmu.nr_pages == 0);
	T(frame_is_free(&fa, hpa_b) && frame_is_free(&fa, hpa_a));
}

/* Checks of the regression tests 9-12, naming the rule each one holds. */
#define RULE(cond, where) tap_check(!!(cond), __FILE__, __LINE__, #cond " (" where ")")

#define ALIAS_RO(i) (0xC00000ULL + (uint64_t)(i) * PAGE_SIZE)    /* PD[6] -> PT, no W, no U */
#define ALIAS_CLEAN(i) (0xA00000ULL + (uint64_t)(i) * PAGE_SIZE) /* PD[5]: the 2M page, no D */

/*
 * 9. KNOWN BUG: one guest table reached through entries with different
 * rights. PD[2] and PD[6] both point at PT; PD[6] gives neither W nor U.
 * Shadow pages are keyed by (gfn, level, wp) only (child_role() in
 * ept/shadow.c sets no access for a guest table), non-leaf shadow entries
 * allow everything (sp_link()), and each leaf holds the rights of the path
 * it was built through: the leaf a fault through PD[2] built (W|U) serves
 * PD[6] too. A user-mode write through PD[6] then succeeds where the guest
 * must take a #PF. KVM keys shadow pages by the upper levels' combined
 * access too (kvm_mmu_page_role.access, FNAME(fetch)'s pt_access).
 */
static void test_shared_table_rights(void)
{
	uint64_t gpa;
	uint32_t fpfec;

	svm_fresh(false);
	*gpte(PD, 6) = PT | G_P; /* PD not shadowed yet: a plain store */
	*gpte(PT, 0) |= G_A | G_D;
	T(shadow_translate(&vm, &smode, ALIAS_RO(0), X86_PF_WRITE, &gpa, &fpfec) == 1);
	T(fpfec == (X86_PF_PROT | X86_PF_WRITE));
	T(shadow_translate(&vm, &smode, ALIAS_RO(0), X86_PF_USER, &gpa, &fpfec) == 1);
	T(fpfec == (X86_PF_PROT | X86_PF_USER));
	T(pf(GVA(0), X86_PF_WRITE | X86_PF_USER) == SHADOW_RESUME);
	T((cpu_leaf(GVA(0)) & (G_W | G_U)) == (G_W | G_U));
	/* A supervisor read through PD[6] (another entry of PT) links PT's shadow page there. */
	T(pf(ALIAS_RO(1), 0) == SHADOW_RESUME && cpu_maps(ALIAS_RO(1), DATA(1)));
	T((cpu_leaf(ALIAS_RO(1)) & (G_W | G_U)) == 0);
	RULE(!(cpu_leaf(ALIAS_RO(0)) & G_W), "child_role(): the role carries the path's access");
	RULE(!(cpu_leaf(ALIAS_RO(0)) & G_U), "child_role(): the role carries the path's access");
	svm_done();
}

/*
 * 10. KNOWN BUG: two guest 2M mappings of the same memory with the same
 * rights, PD[4] dirty and PD[5] clean, share one direct shadow page
 * (child_role() puts W in role.access whatever the huge entry's D bit).
 * A read through PD[4] installs a writable leaf; a write through PD[5]
 * then never faults, and PD[5]'s D bit is never set (the guest loses
 * dirty tracking of that mapping). KVM drops W from a direct page's access
 * while the huge gpte is clean (FNAME(protect_clean_gpte)).
 */
static void test_direct_dirty_alias(void)
{
	svm_fresh(false);
	*gpte(PD, 5) = GPA0 | TABLE | G_PS | G_A; /* PD not shadowed yet: a plain store */
	T(pf(ALIAS_CLEAN(21), 0) == SHADOW_RESUME && cpu_maps(ALIAS_CLEAN(21), DATA(5)));
	T(!(cpu_leaf(ALIAS_CLEAN(21)) & G_W)); /* clean: read-only until the write sets D */
	T(pf(HUGE(20), 0) == SHADOW_RESUME && (cpu_leaf(HUGE(20)) & G_W));
	T(!(*gpte(PD, 5) & G_D));
	RULE(!(cpu_leaf(ALIAS_CLEAN(20)) & G_W),
		  "child_role(): no W in a direct role while the huge entry is clean");
	svm_done();
}

/*
 * Another vCPU's write through a translation its TLB still holds: made in
 * the first (or @n-th) flush, before it has completed, i.e. after the
 * shadow MMU cleared W in the shadow leaf but before every CPU forgot it.
 */
static struct {
	int n;
	uint64_t *where, val;
} tlb_write;

static void flush_after_cached_write(struct vm *v)
{
	(void)v;
	vm_flushes++;
	if (tlb_write.n && !--tlb_write.n)
		*tlb_write.where = tlb_write.val;
}

/*
 * 11. KNOWN BUG (SMP): a guest table becomes shadowed while another vCPU
 * can still write it through a cached writable translation. get_sp()
 * write-protects the new table, but the flush comes only at the end of
 * shadow_page_fault(), after install() built the leaf from the entry read
 * before: a write in between is lost for good (the table is "in sync" and
 * write-protected, so no INVLPG or CR3 load looks at it again). KVM flushes
 * at once when it write-protects a new shadow page (account_shadowed())
 * and then re-reads the guest entries (FNAME(gpte_changed)).
 */
static void test_new_table_flush_window(void)
{
	svm_fresh(false);
	/* vCPU 1 has PT2 (still plain data) mapped writable. */
	T(pf(GVA_OF_TABLE(4), X86_PF_WRITE) == SHADOW_RESUME && (cpu_leaf(GVA_OF_TABLE(4)) & G_W));
	/* vCPU 0 walks through PT2; vCPU 1 remaps PT2[0] before the flush reaches it. */
	vm.flush = flush_after_cached_write;
	tlb_write.n = 1;
	tlb_write.where = gpte(PT2, 0);
	tlb_write.val = DATA(40) | G_P | G_W | G_U | G_A | G_D;
	T(pf(GVA2(0), 0) == SHADOW_RESUME && tlb_write.n == 0);
	vm.flush = count_vm_flush;
	T(!(cpu_leaf(GVA_OF_TABLE(4)) & G_W) && *gpte(PT2, 0) == tlb_write.val);
	/* vCPU 1's shootdown: INVLPG on vCPU 0; then even a CR3 load. */
	shadow_invlpg(&vm, sroot, GVA2(0));
	T(load(&smode) == 0);
	RULE(!cpu_maps(GVA2(0), DATA(32)),
		  "install(): flush a new table's write-protection, then walk again");
	svm_done();
}

/*
 * 12. KNOWN BUG (SMP): the same window in sync_page(): it compares the
 * guest's entries, then write-protects the page, and the flush comes after
 * (shadow_load_cr3()/shadow_invlpg()). A write by another vCPU through its
 * cached writable translation in between is never synced: the page is in
 * sync and write-protected now, so the INVLPG of that vCPU's shootdown
 * finds nothing unsync. KVM's mmu_sync_children() write-protects every
 * page and flushes first, and only then syncs (compares).
 */
static void test_sync_flush_window(void)
{
	svm_fresh(false);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)));
	T(pf(GVA_OF_TABLE(3), X86_PF_WRITE) == SHADOW_RESUME && sp_of(PT)->unsync);
	/* vCPU 0 syncs (an INVLPG of its own); vCPU 1 remaps PT[0] meanwhile. */
	vm.flush = flush_after_cached_write;
	tlb_write.n = 1;
	tlb_write.where = gpte(PT, 0);
	tlb_write.val = DATA(5) | G_P | G_W | G_U;
	shadow_invlpg(&vm, sroot, GVA(7));
	vm.flush = count_vm_flush;
	T(tlb_write.n == 0 && !sp_of(PT)->unsync && !(cpu_leaf(GVA_OF_TABLE(3)) & G_W));
	/* vCPU 1's shootdown for its change: INVLPG GVA(0) on vCPU 0; then a CR3 load. */
	shadow_invlpg(&vm, sroot, GVA(0));
	T(load(&smode) == 0);
	RULE(!cpu_maps(GVA(0), DATA(0)),
		  "sync_root(): write-protect and flush before the compare");
	svm_done();
}

int main(void)
{
	RUN(test_fault_races);
	RUN(test_roots_and_frames);
	RUN(test_shared_table_rights);
	RUN(test_direct_dirty_alias);
	RUN(test_new_table_flush_window);
	RUN(test_sync_flush_window);
	return tap_finish();
}
