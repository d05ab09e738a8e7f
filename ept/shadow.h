/*
 * Shadow paging: the secondary MMU where the CPU has neither EPT nor NPT
 * (Bochs core2_penryn_t9600, turion64_tyler), or where mmu=shadow asks for
 * it. The CPU walks tables minihv builds from the guest's own 4-level tables
 * (guest CR3 -> gfn -> memslot -> host pfn); the guest's page-table pages
 * are write-protected so the shadow stays in sync, except level-1 tables
 * that a guest write leaves unsync until its next CR3 load or INVLPG (seed
 * ../shared/seeds/004_a8b0bafe251e54eb.txt). Host invalidations zap shadow
 * leaves through the rmap under the same begin/end protocol as EPT.
 * Pure: host-tested.
 */
#ifndef MINIHV_SHADOW_H
#define MINIHV_SHADOW_H

#include "ept/shadow_page.h"
#include "ept/memslot.h"

struct vm;

/* A pool of equal-sized small objects carved from 4 KiB frames. */
struct obj_pool {
	struct frame_alloc *fa;
	size_t size;
	void *free;       /* free objects, chained through their first word */
	uint64_t pages;   /* the pool's frames, chained through their first word */
	unsigned long used;
};

#define SHADOW_HASH 256    /* shadow pages by gfn */
/*
 * The bound on shadow pages (KVM's KVM_PERMILLE_MMU_PAGES and
 * KVM_MIN_ALLOC_MMU_PAGES): 20 per 1000 guest pages, at least 64. A fault
 * makes room for SHADOW_FAULT_PAGES first (a root's path: levels 3 to 1).
 */
#define SHADOW_PERMILLE 20
#define SHADOW_MIN_PAGES 64
#define SHADOW_FAULT_PAGES 3
#define RMAP_HASH 1024     /* rmap entries by gfn */

struct rmap_ent {
	uint64_t gfn;
	pte_t *sptep;
	struct rmap_ent *next;
};

struct shadow_mmu {
	struct frame_alloc *fa;             /* vm->ept's: the kernel's frames, or a test arena */
	struct obj_pool sp_pool, link_pool; /* struct shadow_page; rmap_ent and sp_parent */
	struct shadow_page *hash[SHADOW_HASH];
	struct shadow_page *all;
	struct rmap_ent *rmap[RMAP_HASH];
	struct shadow_page *zapped;   /* dropped, freed after the next flush */
	unsigned long nr_pages;       /* live shadow pages (roots included) */
	unsigned long max_pages;      /* the most there were at once */
	/*
	 * The bound on live pages: 0 = SHADOW_PERMILLE of the guest's RAM
	 * pages, at least SHADOW_MIN_PAGES (shadow_page_limit()).
	 */
	unsigned long limit;
	bool unsync_off;              /* never unsync: emulate every guest table write */
	bool need_flush;              /* entries dropped since the last flush */
	unsigned audit_gen;           /* shadow_audit()s so far */
};

/*
 * The guest's paging mode, as a shadow root depends on it. @nonpaging: the
 * guest's CR0.PG is clear (real mode, or protected mode without paging), so
 * it has no tables: linear = physical (KVM's nonpaging mode), and @cr3, @wp
 * and @nxe do not matter. Its root is a PAE page-directory-pointer table
 * (shadow_load_cr3()): the CPU runs such a guest with CR0.PG and CR4.PAE
 * set but EFER.LME clear, legacy PAE paging over 32-bit linear addresses,
 * the only paging a real-mode or 32-bit guest can run under.
 */
struct shadow_mode {
	uint64_t cr3;
	bool wp;   /* CR0.WP */
	bool nxe;  /* EFER.NXE */
	bool nonpaging;
};

/* What shadow_page_fault() asks of its caller. */
enum shadow_fault_result {
	SHADOW_RESUME,  /* fixed (or raced: the guest retries) */
	SHADOW_REFLECT, /* the guest's own #PF: deliver it with *guest_pfec */
	SHADOW_EMULATE, /* a write to a write-protected guest table: emulate it */
	SHADOW_RELOAD,  /* the vCPU's root was zapped: shadow_load_cr3() again */
};

int shadow_mmu_init(struct vm *vm);
void shadow_mmu_destroy(struct vm *vm);

/*
 * A CR3 load: look up or build the root for @m, sync every unsync page
 * below it, and drop the vCPU's old root (*@root). 0 with *@root and its
 * table's physical address in *@hpa, or -errno with @why. With
 * @m->nonpaging the root is the identity map's PAE root, its table below
 * 4 GiB (CR3 holds 32 bits without long mode): load it with CR4.PAE set
 * and EFER.LME clear.
 */
int shadow_load_cr3(struct vm *vm, const struct shadow_mode *m, struct shadow_page **root,
		    uint64_t *hpa, char *why, size_t len);
void shadow_put_root(struct vm *vm, struct shadow_page **root);
/* INVLPG: sync what is unsync below @root (the caller flushes the vCPU's TLB). */
void shadow_invlpg(struct vm *vm, struct shadow_page *root, uint64_t gva);
/*
 * A #PF with error code @pfec at @gva that the CPU raised on the shadow
 * tables. SHADOW_REFLECT fills *@guest_pfec; SHADOW_EMULATE gives the GPA
 * written in *@gpa; -errno stops the guest with @why, and -EFAULT for an
 * access outside the guest's RAM gives its GPA in *@gpa (an emulated
 * device's page), else *@gpa is ~0.
 */
int shadow_page_fault(struct vm *vm, const struct shadow_mode *m, struct shadow_page *root,
		      uint64_t gva, uint32_t pfec, uint32_t *guest_pfec, uint64_t *gpa, char *why,
		      size_t len);
/*
 * Emulate the guest's write of @len bytes (at most 8, within one page) of
 * @val at @gpa, a guest table page, and drop the shadow entries built from
 * what it overwrote. 0, or -errno with @why.
 */
int shadow_emulated_write(struct vm *vm, uint64_t gpa, uint64_t val, unsigned len, char *why,
			  size_t n);
/*
 * Bytes [off, off + len) of guest page @gfn were just written (by an
 * emulated guest store, or by minihv itself into guest RAM): drop the
 * shadow entries built from what they overwrote, and flush (KVM's
 * kvm_page_track_write()). mmu_lock held.
 */
void shadow_track_write(struct vm *vm, uint64_t gfn, uint64_t off, uint64_t len);
/*
 * The guest's translation of @gva for an access of @pfec (X86_PF_WRITE,
 * _USER, _FETCH), as its CPU would do it: 0 with the GPA, or 1 with the
 * error code of the #PF it would raise, or -errno (a table outside RAM).
 */
int shadow_translate(struct vm *vm, const struct shadow_mode *m, uint64_t gva, uint32_t pfec,
		     uint64_t *gpa, uint32_t *fault_pfec);

/* For ept/notify.c, mmu_lock held: zap (@keep 0) or write-protect (@keep R|X) gfns. */
long shadow_zap_gfns(struct vm *vm, uint64_t gs, uint64_t ge, unsigned keep);
/*
 * A memslot [gs, ge) goes: zap every shadow page built from a guest table in
 * it (roots too: a vCPU holding one reloads), not only its leaves, or the
 * guest would go on translating through tables that are no longer its RAM.
 * The number zapped; the caller flushes.
 */
long shadow_zap_slot(struct vm *vm, uint64_t gs, uint64_t ge);
/* NUMA hints: zap the leaves of [gs, ge) whose host page the hint changes. */
long shadow_zap_numa(struct vm *vm, const struct memslot *s, uint64_t gs, uint64_t ge);
/* Aging: whether a leaf of [gs, ge) was accessed; @clear clears the accessed bits. */
bool shadow_young(struct vm *vm, uint64_t gs, uint64_t ge, bool clear);
/* The bound on live shadow pages now (smmu.limit, or from the guest's RAM). */
unsigned long shadow_page_limit(struct vm *vm);
/*
 * Zap every shadow page of guest table @gfn, so minihv no longer
 * write-protects it (KVM's kvm_mmu_unprotect_page()): for a write that
 * cannot be emulated to a page that may no longer be a table. True if
 * anything was zapped (the guest may then run its write again). Takes
 * mmu_lock.
 */
bool shadow_unprotect_gfn(struct vm *vm, uint64_t gfn);
/* After the flush that made every CPU forget them: free the zapped shadow pages. */
void shadow_free_zapped(struct vm *vm);
/*
 * Every shadow leaf maps the frame the host maps for its gfn, and
 * shadow_audit() finds nothing; the number of faults found, the first in @why.
 */
long shadow_check_coherent(struct vm *vm, char *why, size_t len);
/* The auditor (ept/shadow_audit.c says what it checks), mmu_lock held. */
long shadow_audit(struct vm *vm, char *why, size_t len);
/* Shadow leaves that map @gfn now (tests). */
unsigned shadow_gfn_mappings(struct vm *vm, uint64_t gfn, bool *writable);
/* One shadow leaf that maps @gfn, or NULL (tests). */
pte_t *shadow_leaf_of(struct vm *vm, uint64_t gfn);

#endif
