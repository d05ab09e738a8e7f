/*
 * The shadow MMU's host-test harness (tests/host/test_shadow.c and
 * test_shadow_rules.c): a VM built by hand (hostvm.h) with vm.shadow set,
 * whose guest page tables live in its RAM and are written through
 * hva_ptr(), and what the CPU would see, read by walking the shadow tables
 * from the root's physical address.
 */
#ifndef MINIHV_SHADOW_HARNESS_H
#define MINIHV_SHADOW_HARNESS_H

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
static bool pf_quiet; /* the fuzzer's guest takes many faults that stop a real guest */

static inline uint64_t gfn_of(uint64_t gpa)
{
	return gpa >> PAGE_SHIFT;
}

/* Entry @i of the guest table at @table, through the host's mapping of it now. */
static inline uint64_t *gpte(uint64_t table, unsigned i)
{
	return (uint64_t *)hva_ptr(gpa_hva(table)) + i;
}

/* The host frame the mm maps for guest page @gpa now. */
static inline uint64_t host_pa(uint64_t gpa)
{
	return hva_pa(gpa_hva(gpa));
}

static inline void guest_tables(void)
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

static inline int load(const struct shadow_mode *m)
{
	char why[160] = "";
	int r = shadow_load_cr3(&vm, m, &sroot, &sroot_hpa, why, sizeof(why));

	if (r)
		printf("# shadow_load_cr3: %d %s\n", r, why);
	return r;
}

/* A #PF the CPU raised on the shadow tables at @gva with error code @pfec. */
static inline int pf(uint64_t gva, uint32_t pfec)
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
	if (r < 0 && r != -EPERM && !pf_quiet) /* -EPERM: the host write-protected the page */
		printf("# shadow_page_fault(%#llx, %#x): %d %s\n", (unsigned long long)gva, pfec, r,
		       why);
	return r;
}

/* A shadow VM: 2 MiB of RAM at GPA0 in 4 KiB host pages, the guest's tables, a root. */
static inline void svm_fresh(bool unsync_off)
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

static inline void svm_done(void)
{
	shadow_put_root(&vm, &sroot);
	shadow_mmu_destroy(&vm);
}

/*
 * What the CPU sees at @gva: the shadow walk from @hpa, the 4 KiB leaf with
 * the rights of every level combined (W and U only where all levels give
 * them, NX where any has it), or 0. The shadow MMU builds no huge leaves.
 */
static inline pte_t spte_at(uint64_t hpa, uint64_t gva)
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

static inline pte_t cpu_leaf(uint64_t gva)
{
	return spte_at(sroot_hpa, gva);
}

/* The CPU translates @gva to the host frame of guest page @gpa. */
static inline bool cpu_maps(uint64_t gva, uint64_t gpa)
{
	pte_t e = cpu_leaf(gva);

	return (e & G_P) && (e & G_ADDR) == host_pa(gpa);
}

static inline unsigned mappings(uint64_t gpa, bool *w)
{
	return shadow_gfn_mappings(&vm, gfn_of(gpa), w);
}

static inline bool shadow_coherent(void)
{
	char why[200] = "";
	long bad = shadow_check_coherent(&vm, why, sizeof(why));

	if (bad)
		printf("# %ld incoherent shadow leaves: %s\n", bad, why);
	return bad == 0;
}

/* The level-1 shadow page of guest table @gpa (the only one of its gfn here). */
static inline struct shadow_page *sp_of(uint64_t gpa)
{
	return sp_first_of_gfn(&vm, gfn_of(gpa));
}

#endif
