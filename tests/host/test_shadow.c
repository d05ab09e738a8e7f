/*
 * Host unit tests for the shadow MMU (ept/shadow*.c), on the harness of
 * tests/host/shadow_harness.h: the fault path (translations, rights, A/D
 * bits, reflected #PF error codes), write protection of guest tables,
 * unsync pages and their sync (seed ../shared/seeds/004_a8b0bafe251e54eb.txt),
 * emulated table writes, the invalidation protocol on shadow leaves
 * (../shared/DESIGN.md), and the identity map of a guest with paging off. Races, roots and the regression tests are in
 * test_shadow_rules.c.
 */
#include "tests/host/shadow_harness.h"

/*
 * 1. A fault builds the translation the guest's tables give: the host frame
 * of the data gfn, W only where the guest allows it and its D bit is set
 * (or the access is the write that sets it), U as the guest says; the
 * guest's entries get A (and D on a write) as its CPU would set them.
 */
static void test_fault_builds_translation(void)
{
	unsigned long w0 = warn_count;
	bool w;

	svm_fresh(false);
	T(vm.stats.shadow_root_loads == 1 && vm.smmu.nr_pages == 1);
	/* A user read of a page the guest maps RW, D clear: read-only for now. */
	T(pf(GVA(0), X86_PF_USER) == SHADOW_RESUME);
	pte_t e = cpu_leaf(GVA(0));
	T(cpu_maps(GVA(0), DATA(0)) && !(e & G_W) && (e & G_U) && !(e & G_NX));
	T(shadow_leaf_of(&vm, gfn_of(DATA(0))) && *shadow_leaf_of(&vm, gfn_of(DATA(0))) == e);
	T((*gpte(PT, 0) & (G_A | G_D)) == G_A);
	T((*gpte(PML4, 0) & G_A) && (*gpte(PDPT, 0) & G_A) && (*gpte(PD, 2) & G_A));
	T(!(*gpte(PML4B, 0) & G_A) && !(*gpte(PD, 3) & G_A)); /* only the path walked */
	T(vm.smmu.nr_pages == 4 && vm.stats.shadow_pages_created == 4);
	/* The write (P|W|U from the CPU): D set in the guest, the leaf becomes writable. */
	T(pf(GVA(0), X86_PF_PROT | X86_PF_WRITE | X86_PF_USER) == SHADOW_RESUME);
	e = cpu_leaf(GVA(0));
	T(cpu_maps(GVA(0), DATA(0)) && (e & G_W) && (e & G_U));
	T((*gpte(PT, 0) & (G_A | G_D)) == (G_A | G_D));
	T(mappings(DATA(0), &w) == 1 && w);
	/* D already set by the guest: a read installs a writable leaf at once. */
	*gpte(PT, 1) |= G_A | G_D;
	T(pf(GVA(1), 0) == SHADOW_RESUME && cpu_maps(GVA(1), DATA(1)) && (cpu_leaf(GVA(1)) & G_W));
	/* A supervisor write to a supervisor page: W, no U. */
	T(pf(GVA(12), X86_PF_WRITE) == SHADOW_RESUME && cpu_maps(GVA(12), DATA(12)));
	T((cpu_leaf(GVA(12)) & (G_W | G_U)) == G_W && (*gpte(PT, 12) & G_D));
	/* A read-only guest page stays read-only, even with D set. */
	*gpte(PT, 11) |= G_D;
	T(pf(GVA(11), X86_PF_USER) == SHADOW_RESUME && cpu_maps(GVA(11), DATA(11)));
	T((cpu_leaf(GVA(11)) & (G_W | G_U)) == G_U);
	/* With EFER.NXE an NX page gets NX in the leaf (a fetch of it is the guest's #PF). */
	smode.nxe = true;
	T(pf(GVA(13), 0) == SHADOW_RESUME && cpu_maps(GVA(13), DATA(13)));
	T(cpu_leaf(GVA(13)) & G_NX);
	T(pf(GVA(13), X86_PF_PROT | X86_PF_FETCH) == SHADOW_REFLECT);
	T(last_pfec == (X86_PF_PROT | X86_PF_FETCH));
	smode.nxe = false;
	/* A guest 2M page: 4 KiB pieces of it, each on its own host frame. */
	T(pf(HUGE(20), 0) == SHADOW_RESUME && cpu_maps(HUGE(20), GPA0 + 20 * PAGE_SIZE));
	T(cpu_leaf(HUGE(20)) & G_W); /* its PDE has D */
	T(pf(HUGE(21), 0) == SHADOW_RESUME && cpu_maps(HUGE(21), GPA0 + 21 * PAGE_SIZE));
	T(host_pa(GPA0 + 21 * PAGE_SIZE) != host_pa(GPA0 + 20 * PAGE_SIZE) + PAGE_SIZE);
	/* ... but the piece that is a guest table (PT) is read-only. */
	T(pf(HUGE(3), 0) == SHADOW_RESUME && cpu_maps(HUGE(3), PT) && !(cpu_leaf(HUGE(3)) & G_W));
	/* Each NXE change reloads the root on the next fault, counted twice. */
	T(vm.stats.shadow_faults == 12 && vm.stats.shadow_reflected == 1);
	T(vm.stats.ept_installed[PT_LEVEL_4K] == 9 && vm.stats.ept_retries == 0);
	T(shadow_coherent() && coherent()); /* ept_check_coherent() asks the shadow MMU */
	/* shadow_translate() agrees with the tables. */
	uint64_t gpa;
	uint32_t fpfec;
	T(shadow_translate(&vm, &smode, GVA(1) + 0x123, X86_PF_WRITE, &gpa, &fpfec) == 0);
	T(gpa == DATA(1) + 0x123);
	T(shadow_translate(&vm, &smode, GVA(11), X86_PF_WRITE, &gpa, &fpfec) == 1);
	T(fpfec == (X86_PF_PROT | X86_PF_WRITE));
	T(!vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 2. The guest's own faults are given back to it with the error code its
 * CPU would have pushed, and nothing is installed for them.
 */
static void test_reflect_error_codes(void)
{
	unsigned long w0 = warn_count;

	svm_fresh(false);
	/* Not present: the access bits alone. */
	T(pf(GVA(10), 0) == SHADOW_REFLECT && last_pfec == 0);
	T(pf(GVA(10), X86_PF_WRITE) == SHADOW_REFLECT && last_pfec == X86_PF_WRITE);
	T(pf(GVA(10), X86_PF_USER | X86_PF_WRITE) == SHADOW_REFLECT);
	T(last_pfec == (X86_PF_USER | X86_PF_WRITE));
	/* I/D is reported only with EFER.NXE. */
	T(pf(GVA(10), X86_PF_FETCH) == SHADOW_REFLECT && last_pfec == 0);
	smode.nxe = true;
	T(pf(GVA(10), X86_PF_FETCH) == SHADOW_REFLECT && last_pfec == X86_PF_FETCH);
	smode.nxe = false;
	/* A write to a read-only page with CR0.WP: P|W (supervisor), P|W|U (user). */
	T(pf(GVA(11), X86_PF_WRITE) == SHADOW_REFLECT && last_pfec == 3);
	T(pf(GVA(11), X86_PF_WRITE | X86_PF_USER) == SHADOW_REFLECT && last_pfec == 7);
	/* A user access to a supervisor page: P|U. */
	T(pf(GVA(12), X86_PF_USER) == SHADOW_REFLECT && last_pfec == 5);
	/* A reserved bit: PS in a PML4E, and NX without EFER.NXE: P|RSVD. */
	T(pf(RSVD_GVA, 0) == SHADOW_REFLECT && last_pfec == 9);
	T(pf(RSVD_GVA, X86_PF_WRITE) == SHADOW_REFLECT && last_pfec == 11);
	T(pf(GVA(13), 0) == SHADOW_REFLECT && last_pfec == 9);
	T(vm.stats.shadow_reflected == 11 && vm.stats.ept_installed[PT_LEVEL_4K] == 0);
	T(!cpu_leaf(GVA(10)) && !cpu_leaf(GVA(11)) && !cpu_leaf(GVA(12)) && !cpu_leaf(GVA(13)));
	T(!(*gpte(PT, 11) & G_A)); /* a faulting walk sets no accessed bit */
	/*
	 * CR0.WP clear (another root): a supervisor write to a read-only page
	 * is allowed; its leaf is writable, but then not user-accessible, or
	 * user mode could write it too.
	 */
	struct shadow_page *wp_root = sroot;
	uint64_t wp_hpa = sroot_hpa;
	smode.wp = false;
	T(load(&smode) == 0 && sroot != wp_root && sroot_hpa != wp_hpa && !sroot->role.wp);
	T(wp_root->root_count == 0 && !wp_root->role.invalid); /* cached for the next load */
	T(pf(GVA(11), X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME);
	pte_t e = cpu_leaf(GVA(11));
	T(cpu_maps(GVA(11), DATA(11)) && (e & G_W) && !(e & G_U));
	T((*gpte(PT, 11) & (G_A | G_D)) == (G_A | G_D));
	/* A user write there is still the guest's fault, WP or not. */
	T(pf(GVA(11), X86_PF_PROT | X86_PF_WRITE | X86_PF_USER) == SHADOW_REFLECT);
	T(last_pfec == 7);
	/* A user read: the leaf gives up W for U (fewer rights cached: flushed). */
	unsigned long f0 = vm_flushes;
	T(pf(GVA(11), X86_PF_PROT | X86_PF_USER) == SHADOW_RESUME);
	e = cpu_leaf(GVA(11));
	T(cpu_maps(GVA(11), DATA(11)) && !(e & G_W) && (e & G_U) && vm_flushes == f0 + 1);
	T(mappings(DATA(11), NULL) == 1); /* replaced, not added */
	/* The WP root's leaf is another one: not built by this root's faults. */
	T(!spte_at(wp_hpa, GVA(11)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 3. Guest page-table pages are write-protected: every shadow leaf of a gfn
 * the shadow MMU builds from is read-only. A write to one is either left
 * unsync (level-1 tables) or emulated (upper levels, or unsync off).
 */
static void test_tables_write_protected(void)
{
	unsigned long w0 = warn_count;
	bool w;

	svm_fresh(false);
	/* PT2 is plain data first: mapped writable. */
	T(pf(GVA_OF_TABLE(4), X86_PF_WRITE) == SHADOW_RESUME && cpu_maps(GVA_OF_TABLE(4), PT2));
	T(mappings(PT2, &w) == 1 && w && (cpu_leaf(GVA_OF_TABLE(4)) & G_W));
	/* The guest then walks through it: PT2 is shadowed, its leaf loses W, with a flush. */
	unsigned long f0 = vm_flushes;
	T(pf(GVA2(0), 0) == SHADOW_RESUME && cpu_maps(GVA2(0), DATA(32)));
	T(mappings(PT2, &w) == 1 && !w && !(cpu_leaf(GVA_OF_TABLE(4)) & G_W));
	T(vm_flushes == f0 + 1);
	/* Every table on the way is read-only wherever it is mapped, D set or not. */
	for (unsigned k = 0; k < 4; k++) {
		T(pf(GVA_OF_TABLE(k), 0) == SHADOW_RESUME);
		T(cpu_maps(GVA_OF_TABLE(k), GPA0 + k * PAGE_SIZE));
		T(!(cpu_leaf(GVA_OF_TABLE(k)) & G_W));
	}
	T(pf(HUGE(3), 0) == SHADOW_RESUME && !(cpu_leaf(HUGE(3)) & G_W));
	T(mappings(PT, &w) == 2 && !w);
	/* A page that is no table stays writable (the guest 2M page's PDE has D). */
	T(pf(HUGE(17), 0) == SHADOW_RESUME && (cpu_leaf(HUGE(17)) & G_W));
	T(pf(GVA(0), 0) == SHADOW_RESUME);
	/* A write to the level-1 table PT: left unsync, writable where written. */
	struct vm_stats s0 = vm.stats;
	T(!sp_of(PT)->unsync && sp_of(PT)->role.level == PT_LEVEL_4K);
	T(pf(GVA_OF_TABLE(3) + 8, X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME);
	T(vm.stats.shadow_wp_faults == s0.shadow_wp_faults + 1);
	T(vm.stats.shadow_unsynced == s0.shadow_unsynced + 1);
	T(vm.stats.shadow_emulated == s0.shadow_emulated);
	T(sp_of(PT)->unsync && sroot->unsync_children == 1);
	T(cpu_maps(GVA_OF_TABLE(3), PT) && (cpu_leaf(GVA_OF_TABLE(3)) & G_W));
	T(mappings(PT, &w) == 2 && w);
	/* A write to the PD (level 2): emulated, with the GPA written; nothing installed. */
	T(pf(GVA_OF_TABLE(2) + 0x18, X86_PF_PROT | X86_PF_WRITE) == SHADOW_EMULATE);
	T(last_gpa == PD + 0x18 && !(cpu_leaf(GVA_OF_TABLE(2)) & G_W));
	T(vm.stats.shadow_emulated == s0.shadow_emulated + 1);
	T(vm.stats.shadow_wp_faults == s0.shadow_wp_faults + 2);
	/* The same for the PML4 and PDPT: the root's and level 3's gfns. */
	T(pf(GVA_OF_TABLE(0) + 8, X86_PF_PROT | X86_PF_WRITE) == SHADOW_EMULATE);
	T(last_gpa == PML4 + 8);
	T(pf(GVA_OF_TABLE(1), X86_PF_PROT | X86_PF_WRITE) == SHADOW_EMULATE && last_gpa == PDPT);
	T(mappings(PD, &w) == 1 && !w && mappings(PML4, &w) == 1 && !w);
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();

	/* With unsync off, a write to a level-1 table is emulated too. */
	svm_fresh(true);
	T(pf(GVA(0), 0) == SHADOW_RESUME);
	s0 = vm.stats;
	T(pf(GVA_OF_TABLE(3) + 16, X86_PF_WRITE) == SHADOW_EMULATE && last_gpa == PT + 16);
	T(vm.stats.shadow_unsynced == 0 && vm.stats.shadow_emulated == s0.shadow_emulated + 1);
	T(!sp_of(PT)->unsync && sroot->unsync_children == 0);
	T(mappings(PT, &w) == 0); /* nothing installed for the emulated write */
	T(pf(GVA_OF_TABLE(3), 0) == SHADOW_RESUME && mappings(PT, &w) == 1 && !w);
	T(pf(GVA_OF_TABLE(3), X86_PF_PROT | X86_PF_WRITE) == SHADOW_EMULATE);
	T(mappings(PT, &w) == 1 && !w);
	/* The emulated write lands and drops the entry it changed. */
	char why[160];
	T(shadow_emulated_write(&vm, PT + 0, DATA(7) | G_P | G_W | G_U, 8, why, 160) == 0);
	T(*gpte(PT, 0) == (DATA(7) | G_P | G_W | G_U) && !cpu_leaf(GVA(0)));
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(7)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 4. An unsync page: the guest changes its entries freely; until its next
 * INVLPG or CR3 load the CPU may use the old translation or the new (as
 * with its own TLB); the sync drops each changed entry, keeps the others
 * and write-protects the page again.
 */
static void test_unsync_then_sync(void)
{
	unsigned long w0 = warn_count;
	bool w;

	svm_fresh(false);
	for (unsigned i = 0; i < 3; i++)
		T(pf(GVA(i), 0) == SHADOW_RESUME && cpu_maps(GVA(i), DATA(i)));
	pte_t keep = cpu_leaf(GVA(2));
	T(pf(GVA_OF_TABLE(3), X86_PF_WRITE) == SHADOW_RESUME && sp_of(PT)->unsync);
	T(mappings(PT, &w) == 1 && w);
	/* The guest remaps GVA(0) through its writable mapping of PT. */
	*gpte(PT, 0) = DATA(5) | G_P | G_W | G_U;
	/* Not synced yet: the old frame (old-or-new), still what the host maps for DATA(0). */
	T(cpu_maps(GVA(0), DATA(0)) && shadow_coherent());
	struct vm_stats s0 = vm.stats;
	unsigned long f0 = vm_flushes;
	shadow_invlpg(&vm, sroot, GVA(0));
	T(vm.stats.shadow_sync_walks == s0.shadow_sync_walks + 1);
	T(vm.stats.shadow_synced == s0.shadow_synced + 1);
	T(vm.stats.shadow_sync_changed == s0.shadow_sync_changed + 1);
	T(!cpu_leaf(GVA(0)) && mappings(DATA(0), NULL) == 0);
	T(cpu_leaf(GVA(1)) && cpu_maps(GVA(1), DATA(1)) && cpu_leaf(GVA(2)) == keep);
	/* Write-protected again, and the CPU told (the dropped leaf, the lost W). */
	T(!sp_of(PT)->unsync && sroot->unsync_children == 0);
	T(mappings(PT, &w) == 1 && !w && !(cpu_leaf(GVA_OF_TABLE(3)) & G_W));
	/* Two: the write-protection before the compare, the dropped leaf after it. */
	T(vm_flushes == f0 + 2);
	/* The next fault maps the new frame. */
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(5)) && shadow_coherent());
	/* A second INVLPG has nothing to sync. */
	s0 = vm.stats;
	shadow_invlpg(&vm, sroot, GVA(0));
	T(vm.stats.shadow_sync_walks == s0.shadow_sync_walks && cpu_maps(GVA(0), DATA(5)));

	/* Unsync again; this time a CR3 load (same CR3) syncs. */
	T(pf(GVA_OF_TABLE(3), X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME);
	T(sp_of(PT)->unsync && vm.stats.shadow_unsynced == s0.shadow_unsynced + 1);
	*gpte(PT, 1) = DATA(6) | G_P | G_W | G_U;
	*gpte(PT, 3) = DATA(4) | G_P | G_W | G_U; /* never shadowed: nothing to drop */
	T(cpu_maps(GVA(1), DATA(1)));
	struct shadow_page *before = sroot;
	uint64_t hpa_before = sroot_hpa;
	T(load(&smode) == 0 && sroot == before && sroot_hpa == hpa_before && sroot->root_count == 1);
	T(vm.stats.shadow_sync_changed == s0.shadow_sync_changed + 1);
	T(!cpu_leaf(GVA(1)) && cpu_leaf(GVA(2)) == keep && cpu_maps(GVA(0), DATA(5)));
	T(!sp_of(PT)->unsync && mappings(PT, &w) == 1 && !w);
	T(pf(GVA(1), 0) == SHADOW_RESUME && cpu_maps(GVA(1), DATA(6)));
	T(pf(GVA(3), 0) == SHADOW_RESUME && cpu_maps(GVA(3), DATA(4)));
	/* An entry cleared while unsync: dropped too, and then the guest's own #PF. */
	T(pf(GVA_OF_TABLE(3), X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME);
	*gpte(PT, 2) = 0;
	shadow_invlpg(&vm, sroot, GVA(2));
	T(!cpu_leaf(GVA(2)) && pf(GVA(2), 0) == SHADOW_REFLECT && last_pfec == 0);
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 5. An emulated write to an upper-level entry drops the shadow entry built
 * from it: the next fault walks the guest's tables again and follows the
 * new target.
 */
static void test_emulated_write_pd(void)
{
	unsigned long w0 = warn_count;
	char why[160];

	svm_fresh(false);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)));
	T(pf(GVA(1), 0) == SHADOW_RESUME && sp_of(PT) != NULL);
	/* The guest points PD[2] at PT2 (a write that faulted and is emulated). */
	unsigned long f0 = vm_flushes;
	T(shadow_emulated_write(&vm, PD + 2 * 8, PT2 | TABLE, 8, why, sizeof(why)) == 0);
	T(*gpte(PD, 2) == (PT2 | TABLE));
	T(!cpu_leaf(GVA(0)) && !cpu_leaf(GVA(1)) && vm_flushes == f0 + 1);
	/* PT's shadow page was reachable only from there: gone, and PT no longer protected. */
	T(sp_of(PT) == NULL && mappings(DATA(0), NULL) == 0 && mappings(DATA(1), NULL) == 0);
	T(pf(GVA_OF_TABLE(3), X86_PF_WRITE) == SHADOW_REFLECT && last_pfec == X86_PF_WRITE);
	/* PT is plain data now: mapped (through PT2) writable, no unsync, no emulation. */
	struct vm_stats s0 = vm.stats;
	*gpte(PT2, 5) = PT | G_P | G_W | G_U | G_A | G_D; /* PT2 not shadowed yet */
	T(pf(GVA(5), X86_PF_WRITE) == SHADOW_RESUME && cpu_maps(GVA(5), PT));
	T((cpu_leaf(GVA(5)) & G_W) && vm.stats.shadow_wp_faults == s0.shadow_wp_faults);
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(32)));
	T(pf(GVA(1), 0) == SHADOW_RESUME && cpu_maps(GVA(1), DATA(33)));
	/* Half an entry (its low 4 bytes) in a level-1 table: the leaf goes all the same. */
	T(pf(GVA(0), X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME && (cpu_leaf(GVA(0)) & G_W));
	uint32_t lo = (uint32_t)(DATA(9) | G_P | G_U);
	T(shadow_emulated_write(&vm, PT2, lo, 4, why, sizeof(why)) == 0);
	T(*gpte(PT2, 0) == (DATA(9) | G_P | G_U) && !cpu_leaf(GVA(0)));
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(9)) && !(cpu_leaf(GVA(0)) & G_W));
	T(cpu_maps(GVA(1), DATA(33))); /* the next entry is untouched */
	/* Refused: across a page, and outside every memslot. */
	T(shadow_emulated_write(&vm, PT2 + PAGE_SIZE - 4, 0, 8, why, sizeof(why)) == -EINVAL);
	T(shadow_emulated_write(&vm, 8 * GiB, 0, 8, why, sizeof(why)) == -EFAULT);
	T(cpu_maps(GVA(0), DATA(9)) && shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * 6. Host changes reach shadow leaves through the rmap, in the same
 * begin/end batches as EPT: precise (nothing mapped, nothing zapped or
 * flushed), at most one flush per batch, coherent after each.
 */
static void test_invalidation_protocol(void)
{
	unsigned long w0 = warn_count;
	bool w;

	svm_fresh(false);
	for (unsigned i = 0; i < 9; i++)
		T(pf(GVA(i), i == 3 ? X86_PF_WRITE : 0) == SHADOW_RESUME && cpu_maps(GVA(i), DATA(i)));
	/* DATA(6) mapped at a second gva too. */
	char why[160];
	T(shadow_emulated_write(&vm, PT + 14 * 8, DATA(6) | G_P | G_W | G_U, 8, why, 160) == 0);
	T(pf(GVA(14), 0) == SHADOW_RESUME && mappings(DATA(6), NULL) == 2);
	T(shadow_coherent() && (cpu_leaf(GVA(3)) & G_W) && !(cpu_leaf(GVA(4)) & G_W));
	unsigned long f = vm_flushes;
	uint64_t z = vm.stats.ept_zaps, inv = vm.stats.invalidations;

	/* Unmap one mapped page: its leaf goes, one flush. */
	T(mm_unmap(&mm, gpa_hva(DATA(0)), PAGE_SIZE) == 1);
	T(mappings(DATA(0), NULL) == 0 && !cpu_leaf(GVA(0)) && vm_flushes == f + 1);
	T(vm.stats.ept_zaps == z + 1 && vm.stats.invalidations == inv + 1 && shadow_coherent());
	/* Two mapped pages in one batch: one flush for both. */
	T(mm_unmap(&mm, gpa_hva(DATA(1)), 2 * PAGE_SIZE) == 2);
	T(mappings(DATA(1), NULL) == 0 && mappings(DATA(2), NULL) == 0 && vm_flushes == f + 2);
	T(vm.stats.ept_zaps == z + 3 && cpu_maps(GVA(3), DATA(3)) && shadow_coherent());
	/* A gfn mapped twice: both leaves, one flush. */
	T(mm_unmap(&mm, gpa_hva(DATA(6)), PAGE_SIZE) == 1);
	T(mappings(DATA(6), NULL) == 0 && !cpu_leaf(GVA(6)) && !cpu_leaf(GVA(14)));
	T(vm_flushes == f + 3 && vm.stats.ept_zaps == z + 5);
	/* Precise: a page no leaf maps is a batch, but zaps and flushes nothing. */
	T(mm_unmap(&mm, gpa_hva(DATA(10)), PAGE_SIZE) == 1);
	T(vm_flushes == f + 3 && vm.stats.ept_zaps == z + 5 && vm.stats.invalidations == inv + 4);

	/* Write-protect: a writable leaf loses W, stays mapped; one flush. */
	T(mm_protect(&mm, gpa_hva(DATA(3)), PAGE_SIZE, PT_PROT_R, false) == 1);
	T(mappings(DATA(3), &w) == 1 && !w && cpu_maps(GVA(3), DATA(3)) && vm_flushes == f + 4);
	T(shadow_coherent());
	/* ... a read-only one has nothing to lose: no flush. */
	T(mm_protect(&mm, gpa_hva(DATA(4)), PAGE_SIZE, PT_PROT_R, false) == 1);
	T(mappings(DATA(4), &w) == 1 && !w && vm_flushes == f + 4);
	/* A protect that keeps W takes nothing: no flush; the write fault upgrades. */
	T(mm_protect(&mm, gpa_hva(DATA(3)), PAGE_SIZE, PT_PROT_RW, false) == 1);
	T(vm_flushes == f + 4 && mappings(DATA(3), &w) == 1 && !w);
	T(pf(GVA(3), X86_PF_PROT | X86_PF_WRITE) == SHADOW_RESUME && (cpu_leaf(GVA(3)) & G_W));
	/* While the host keeps it read-only, the guest's write is the host's business. */
	T(pf(GVA(4), X86_PF_PROT | X86_PF_WRITE) == -EPERM && !(cpu_leaf(GVA(4)) & G_W));
	/* Protect to nothing: zapped. */
	T(mm_protect(&mm, gpa_hva(DATA(4)), PAGE_SIZE, 0, false) == 1);
	T(mappings(DATA(4), NULL) == 0 && vm_flushes == f + 5 && shadow_coherent());

	/* Migrate: the leaf goes (one flush), the refault maps the new frame. */
	uint64_t new_pa, old_pa, old5 = host_pa(DATA(5));
	T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
	T(mm_migrate(&mm, gpa_hva(DATA(5)), new_pa, &old_pa) == 0 && old_pa == old5);
	T(mappings(DATA(5), NULL) == 0 && vm_flushes == f + 6 && shadow_coherent());
	T(pf(GVA(5), 0) == SHADOW_RESUME && cpu_maps(GVA(5), DATA(5)) && host_pa(DATA(5)) == new_pa);
	/* NUMA hint: the leaf of a page the hint changes goes; one flush. */
	T(mm_protect(&mm, gpa_hva(DATA(8)), PAGE_SIZE, PT_PROT_RW, true) == 1);
	T(mappings(DATA(8), NULL) == 0 && vm_flushes == f + 7 && shadow_coherent());
	T(pf(GVA(8), 0) == SHADOW_RESUME && cpu_maps(GVA(8), DATA(8)) && vm.stats.numa_faults == 1);
	/* A refault after an unmap maps the zero page the host faulted in. */
	T(pf(GVA(0), 0) == SHADOW_RESUME && cpu_maps(GVA(0), DATA(0)) && page_is(gpa_hva(DATA(0)), 0));
	T(vm.stats.ept_zaps == z + 9 && shadow_coherent());

	/* Aging: A in the shadow leaf; clearing it flushes once; the leaf stays. */
	pte_t *leaf = shadow_leaf_of(&vm, gfn_of(DATA(7)));
	T(leaf && (*leaf & G_A) && leaf == shadow_leaf_of(&vm, gfn_of(DATA(7))));
	f = vm_flushes;
	T(mm_test_young(&mm, gpa_hva(DATA(7)), PAGE_SIZE) && vm_flushes == f && (*leaf & G_A));
	T(mm_clear_young(&mm, gpa_hva(DATA(7)), PAGE_SIZE) && vm_flushes == f + 1);
	T(!(*leaf & G_A) && cpu_maps(GVA(7), DATA(7)));
	T(!mm_test_young(&mm, gpa_hva(DATA(7)), PAGE_SIZE));
	T(!mm_clear_young(&mm, gpa_hva(DATA(7)), PAGE_SIZE) && vm_flushes == f + 1);
	*leaf |= G_A; /* the CPU used it */
	T(mm_test_young(&mm, gpa_hva(DATA(7)), PAGE_SIZE));
	T(!mm_test_young(&mm, gpa_hva(DATA(9)), PAGE_SIZE)); /* never mapped */
	T(vm.inval.in_progress == 0 && shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

/*
 * What a CPU in legacy PAE mode (EFER.LME clear) sees at @gva from the
 * paging-off root at @hpa: PDPTE @gva[31:30], then a PDE and a PTE, or 0.
 * Each PDPTE holds P and the address only (its other bits are reserved).
 */
static pte_t pae_leaf(uint64_t hpa, uint64_t gva)
{
	pte_t e = ((pte_t *)phys_to_virt(hpa))[(gva >> 30) & 3], rights = G_W | G_U;

	if (!(e & G_P))
		return 0;
	if (!T((e & ~G_ADDR) == G_P))
		return 0;
	for (int level = PT_LEVEL_2M; level >= PT_LEVEL_4K; level--) {
		e = ((pte_t *)phys_to_virt(e & G_ADDR))[pt_index(gva, level)];
		if (!(e & G_P) || !T(!(e & G_PS)))
			return 0;
		rights &= e;
		if (level == PT_LEVEL_4K)
			return (e & ~(G_W | G_U)) | rights;
	}
	return 0;
}

/*
 * 7. Paging off (real mode, or protected mode before CR0.PG): the root is a
 * PAE PDPT below 4 GiB, and a fault maps linear = physical with every
 * right, except that guest tables shadowed for another root stay
 * write-protected (a write to a level-1 one leaves it unsync, to an upper
 * one is emulated). No #PF is ever the guest's; an address outside RAM is
 * an emulated device's, named by its GPA. Going back to paging needs a root
 * of its own: a fault on the wrong kind asks for a reload.
 */
static void test_nonpaging(void)
{
	unsigned long w0 = warn_count;
	bool w;

	svm_fresh(false);
	T(pf(GVA(0), 0) == SHADOW_RESUME); /* PML4, PDPT, PD and PT shadowed, write-protected */
	struct shadow_page *paging_root = sroot;

	smode = (struct shadow_mode){ .nonpaging = true, .cr3 = 0xdead000, .wp = true, .nxe = true };
	T(load(&smode) == 0 && sroot != paging_root && !paging_root->root_count);
	T(sroot->role.level == PT_LEVEL_1G && sroot->role.direct && sroot->role.nonpaging);
	T(!sroot->role.wp && !sroot->role.nxe && sroot_hpa == sroot->spt_pa && !(sroot_hpa >> 32));
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		T(!sroot->spt[i]);
	/* A read of plain data: mapped at its own address, writable and user. */
	T(pf(DATA(0), 0) == SHADOW_RESUME);
	pte_t e = pae_leaf(sroot_hpa, DATA(0));
	T((e & G_P) && (e & G_ADDR) == host_pa(DATA(0)) && (e & G_W) && (e & G_U) && !(e & G_NX));
	T(sroot->spt[1] && !sroot->spt[0]); /* GPA0 is 1 GiB: PDPTE 1 */
	T(pf(DATA(1) + 0x10, X86_PF_WRITE | X86_PF_USER) == SHADOW_RESUME);
	T((pae_leaf(sroot_hpa, DATA(1)) & G_ADDR) == host_pa(DATA(1)));
	/* A guest table of the paging root: read-only here too. */
	T(pf(PD, 0) == SHADOW_RESUME && mappings(PD, &w) == 1 && !w);
	T(!(pae_leaf(sroot_hpa, PD) & G_W) && (pae_leaf(sroot_hpa, PD) & G_ADDR) == host_pa(PD));
	/* A write to it is emulated (level 2); to the level-1 PT, it goes unsync. */
	T(pf(PD + 0x20, X86_PF_PROT | X86_PF_WRITE) == SHADOW_EMULATE && last_gpa == PD + 0x20);
	T(pf(PT + 8, X86_PF_WRITE) == SHADOW_RESUME && sp_of(PT)->unsync);
	T(pae_leaf(sroot_hpa, PT) & G_W);
	/* Outside RAM: -EFAULT with the GPA (a device's page, the local APIC's). */
	pf_quiet = true;
	T(pf(0xfee00030, X86_PF_WRITE) == -EFAULT && last_gpa == 0xfee00030);
	pf_quiet = false;
	/* shadow_translate() is the identity. */
	uint64_t gpa;
	uint32_t fpfec;
	T(shadow_translate(&vm, &smode, DATA(2) + 0x345, X86_PF_WRITE | X86_PF_FETCH, &gpa,
			   &fpfec) == 0 && gpa == DATA(2) + 0x345);
	T(vm.stats.shadow_reflected == 0 && shadow_coherent());
	/* The host takes a page away: its identity leaf goes, through the rmap. */
	T(mm_unmap(&mm, gpa_hva(DATA(0)), PAGE_SIZE) == 1);
	T(!pae_leaf(sroot_hpa, DATA(0)) && shadow_coherent());
	/* Paging on again: a fault on this root asks for the paging root first. */
	struct shadow_page *np_root = sroot;
	smode = (struct shadow_mode){ .cr3 = PML4, .wp = true };
	T(shadow_page_fault(&vm, &smode, sroot, GVA(1), 0, &last_pfec, &last_gpa, (char[8]){ 0 },
			    8) == SHADOW_RELOAD);
	T(load(&smode) == 0 && sroot == paging_root && !np_root->root_count);
	T(pf(GVA(1), 0) == SHADOW_RESUME && cpu_maps(GVA(1), DATA(1)));
	/* ... and back: the same PAE root, its leaves kept. */
	smode = (struct shadow_mode){ .nonpaging = true };
	T(shadow_page_fault(&vm, &smode, sroot, DATA(3), 0, &last_pfec, &last_gpa, (char[8]){ 0 },
			    8) == SHADOW_RELOAD);
	T(load(&smode) == 0 && sroot == np_root && pae_leaf(sroot_hpa, DATA(1)));
	/* A memslot change zaps the whole identity map, the held root marked invalid. */
	spin_lock(&vm.mmu_lock);
	T(shadow_zap_slot(&vm, gfn_of(GPA0), gfn_of(GPA0) + 1) > 0);
	shadow_flush(&vm);
	spin_unlock(&vm.mmu_lock);
	T(sroot->role.invalid && pf(DATA(3), 0) == SHADOW_RELOAD);
	T(load(&smode) == 0 && !sroot->role.invalid && pf(DATA(3), 0) == SHADOW_RESUME);
	T((pae_leaf(sroot_hpa, DATA(3)) & G_ADDR) == host_pa(DATA(3)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

int main(void)
{
	RUN(test_fault_builds_translation);
	RUN(test_reflect_error_codes);
	RUN(test_tables_write_protected);
	RUN(test_unsync_then_sync);
	RUN(test_emulated_write_pd);
	RUN(test_invalidation_protocol);
	RUN(test_nonpaging);
	return tap_finish();
}
