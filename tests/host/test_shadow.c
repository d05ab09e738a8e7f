/*
 * Host unit tests for the shadow MMU (ept/shadow*.c): a VM built by hand
 * (hostvm.h) with vm.shadow set, whose guest page tables live in its RAM
 * and are written through hva_ptr(). Each test checks what the CPU would
 * see by walking the shadow tables from the root's physical address: the
 * fault path (translations, rights, A/D bits, reflected #PF error codes),
 * write protection of guest tables, unsync pages and their sync (seed
 * ../shared/seeds/004_a8b0bafe251e54eb.txt), emulated table writes, the
 * invalidation protocol on shadow leaves (../shared/DESIGN.md), races of
 * host changes with a fault (the data page and the guest's own tables),
 * and roots and frame accounting. Tests 9-12 caught four bugs of the first
 * version (rights leaking through a shared table, a lost dirty bit on 2 MiB
 * aliases, and two windows between write-protecting a table and the flush);
 * they stay as regression tests.
 */
#include "tests/host/hostvm.h"
#include "arch/x86/desc.h"
/* White-box: the shadow pages of a gfn, and zapping a root a vCPU holds. */
#include "ept/shadow_int.h"

/* The guest's tables, in its RAM at GPA0 (gfn 0x40000 ...). */
#define PML4 (GPA0 + 0 * PAGE_SIZE)
#define PDPT (GPA0 + 1 * PAGE_SIZE)
#define PD (GPA0 + 2 * PAGE_SIZE)
#define PT (GPA0 + 3 * PAGE_SIZE)    /* "X": the level-1 table of GVA() */
#define PT2 (GPA0 + 4 * PAGE_SIZE)   /* the level-1 table of GVA2() */
#define PML4B (GPA0 + 5 * PAGE_SIZE) /* a second CR3, sharing PDPT */
#define NTABLES 6
#define DATA(i) (GPA0 + (16 + (uint64_t)(i)) * PAGE_SIZE)

#define GVA(i) (0x400000ULL + (uint64_t)(i) * PAGE_SIZE)  /* PD[2] -> PT */
#define GVA2(i) (0x600000ULL + (uint64_t)(i) * PAGE_SIZE) /* PD[3] -> PT2 */
#define HUGE(i) (0x800000ULL + (uint64_t)(i) * PAGE_SIZE) /* PD[4]: a 2M page = the slot */
#define RSVD_GVA (1ULL << 39)                             /* PML4[1] has PS (reserved) */
/* PT's entries that map the guest's own tables (PT[SELF + k] -> table page k). */
#define SELF 500
#define GVA_OF_TABLE(k) GVA(SELF + (k))

#define G_P X86_PTE_P
#define G_W X86_PTE_W
#define G_U X86_PTE_U
#define G_A X86_PTE_A
#define G_D X86_PTE_D
#define G_PS X86_PTE_PS
#define G_NX X86_PTE_NX
#define G_ADDR X86_PTE_ADDR_MASK
#define TABLE (G_P | G_W | G_U) /* upper entries: no A yet, the walk sets it */

static struct shadow_mode smode;
static struct shadow_page *sroot;
static uint64_t sroot_hpa;
static uint32_t last_pfec;
static uint64_t last_gpa;

static uint64_t gfn_of(uint64_t gpa)
{
	return gpa >> PAGE_SHIFT;
}

/* Entry @i of the guest table at @table, through the host's mapping of it now. */
static uint64_t *gpte(uint64_t table, unsigned i)
{
	return (uint64_t *)hva_ptr(gpa_hva(table)) + i;
}

/* The host frame the mm maps for guest page @gpa now. */
static uint64_t host_pa(uint64_t gpa)
{
	return hva_pa(gpa_hva(gpa));
}

static void guest_tables(void)
{
	for (unsigned k = 0; k < NTABLES; k++)
		memset(hva_ptr(gpa_hva(GPA0 + k * PAGE_SIZE)), 0, PAGE_SIZE);
	*gpte(PML4, 0) = PDPT | TABLE;
	*gpte(PML4, 1) = PDPT | TABLE | G_PS;
	*gpte(PML4B, 0) = PDPT | TABLE;
	*gpte(PDPT, 0) = PD | TABLE;
	*gpte(PD, 2) = PT | TABLE;
	*gpte(PD, 3) = PT2 | TABLE;
	*gpte(PD, 4) = GPA0 | TABLE | G_PS | G_A | G_D;
	for (unsigned i = 0; i < 16; i++)
		*gpte(PT, i) = DATA(i) | G_P | G_W | G_U;
	*gpte(PT, 10) = 0;                              /* not present */
	*gpte(PT, 11) = DATA(11) | G_P | G_U;           /* read-only, user */
	*gpte(PT, 12) = DATA(12) | G_P | G_W;           /* supervisor only */
	*gpte(PT, 13) = DATA(13) | G_P | G_W | G_U | G_NX;
	for (unsigned k = 0; k < NTABLES; k++)
		*gpte(PT, SELF + k) = (GPA0 + k * PAGE_SIZE) | G_P | G_W | G_U | G_A | G_D;
	for (unsigned i = 0; i < 16; i++)
		*gpte(PT2, i) = DATA(32 + i) | G_P | G_W | G_U | G_A | G_D;
}

static int load(const struct shadow_mode *m)
{
	char why[160] = "";
	int r = shadow_load_cr3(&vm, m, &sroot, &sroot_hpa, why, sizeof(why));

	if (r)
		printf("# shadow_load_cr3: %d %s\n", r, why);
	return r;
}

/* A #PF the CPU raised on the shadow tables at @gva with error code @pfec. */
static int pf(uint64_t gva, uint32_t pfec)
{
	char why[160] = "";

	last_pfec = ~0u;
	last_gpa = ~0ULL;
	int r = shadow_page_fault(&vm, &smode, sroot, gva, pfec, &last_pfec, &last_gpa, why,
				  sizeof(why));
	if (r == SHADOW_RELOAD && sroot->role.nxe != smode.nxe) {
		/* The guest changed EFER.NXE: as virt/shadow.c, a root for it, then the fault again. */
		if (!shadow_load_cr3(&vm, &smode, &sroot, &sroot_hpa, why, sizeof(why)))
			r = shadow_page_fault(&vm, &smode, sroot, gva, pfec, &last_pfec, &last_gpa,
					      why, sizeof(why));
	}
	if (r < 0 && r != -EPERM) /* -EPERM: the host write-protected the page (tests expect it) */
		printf("# shadow_page_fault(%#llx, %#x): %d %s\n", (unsigned long long)gva, pfec, r,
		       why);
	return r;
}

/* A shadow VM: 2 MiB of RAM at GPA0 in 4 KiB host pages, the guest's tables, a root. */
static void svm_fresh(bool unsync_off)
{
	dvm(PT_LEVEL_4K);
	guest_tables();
	vm.shadow = true;
	T(shadow_mmu_init(&vm) == 0);
	vm.smmu.unsync_off = unsync_off;
	smode = (struct shadow_mode){ .cr3 = PML4, .wp = true, .nxe = false };
	sroot = NULL;
	T(load(&smode) == 0 && sroot && sroot_hpa == sroot->spt_pa);
}

static void svm_done(void)
{
	shadow_put_root(&vm, &sroot);
	shadow_mmu_destroy(&vm);
}

/*
 * What the CPU sees at @gva: the shadow walk from @hpa, the 4 KiB leaf with
 * the rights of every level combined (W and U only where all levels give
 * them, NX where any has it), or 0. The shadow MMU builds no huge leaves.
 */
static pte_t spte_at(uint64_t hpa, uint64_t gva)
{
	pte_t rights = G_W | G_U, nx = 0;

	for (int level = PT_LEVELS; level >= PT_LEVEL_4K; level--) {
		pte_t e = ((pte_t *)phys_to_virt(hpa))[pt_index(gva, level)];

		if (!(e & G_P))
			return 0;
		rights &= e;
		nx |= e & G_NX;
		if (level == PT_LEVEL_4K)
			return (e & ~(G_W | G_U)) | rights | nx;
		if (!T(!(e & G_PS)))
			return 0;
		hpa = e & G_ADDR;
	}
	return 0;
}

static pte_t cpu_leaf(uint64_t gva)
{
	return spte_at(sroot_hpa, gva);
}

/* The CPU translates @gva to the host frame of guest page @gpa. */
static bool cpu_maps(uint64_t gva, uint64_t gpa)
{
	pte_t e = cpu_leaf(gva);

	return (e & G_P) && (e & G_ADDR) == host_pa(gpa);
}

static unsigned mappings(uint64_t gpa, bool *w)
{
	return shadow_gfn_mappings(&vm, gfn_of(gpa), w);
}

static bool shadow_coherent(void)
{
	char why[200] = "";
	long bad = shadow_check_coherent(&vm, why, sizeof(why));

	if (bad)
		printf("# %ld incoherent shadow leaves: %s\n", bad, why);
	return bad == 0;
}

/* The level-1 shadow page of guest table @gpa (the only one of its gfn here). */
static struct shadow_page *sp_of(uint64_t gpa)
{
	return sp_first_of_gfn(&vm, gfn_of(gpa));
}

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
	RUN(test_fault_builds_translation);
	RUN(test_reflect_error_codes);
	RUN(test_tables_write_protected);
	RUN(test_unsync_then_sync);
	RUN(test_emulated_write_pd);
	RUN(test_invalidation_protocol);
	RUN(test_fault_races);
	RUN(test_roots_and_frames);
	RUN(test_shared_table_rights);
	RUN(test_direct_dirty_alias);
	RUN(test_new_table_flush_window);
	RUN(test_sync_flush_window);
	return tap_finish();
}
