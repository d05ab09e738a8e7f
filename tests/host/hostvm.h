/*
 * A primary MMU (struct mm over x86 page tables) and a VM (EPT, memslots,
 * notifier) built by hand over the arena, for test_mm.c and test_mmu.c.
 * ept/vm.c is kernel-only; this is the host-side equivalent of
 * tests/kernel/inval_util.h. "Physical" addresses are arena offsets; host
 * virtual addresses exist only in mm.pt, so guest/host memory is reached
 * through hva_ptr() (a walk of mm.pt, then phys_to_virt()).
 */
#ifndef MINIHV_HOSTVM_H
#define MINIHV_HOSTVM_H

#include <stdio.h>
#include <string.h>
#include "lib/bug.h"
#include "ept/ept_fmt.h"
#include "mm/frame.h"
#include "arch/x86/hal.h"
#include "lib/kerrno.h"
#include "mm/mm.h"
#include "mm/pt.h"
#include "ept/vm.h"
#include "vmx/vmcs_defs.h"
#include "mm/x86pt.h"
#include "tests/host/hostshim.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define SZ_2M (2 * MiB)
#define ARENA (256 * MiB)
#define LEAVES_4K_2M ((1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M))

#define DYN_BASE (1 * GiB)     /* mm_* refuse host-virtual addresses below this */
#define HVA0 (4 * GiB)          /* first backing address handed out */
#define GPA0 (1 * GiB)          /* the test VM's RAM */

static struct frame_alloc fa;
static uint64_t fa_bitmap[ARENA / PAGE_SIZE / 64];
static struct mm mm;
static struct vm vm;
static unsigned long vm_flushes, tlb_flushes;

static inline void count_vm_flush(struct vm *v)
{
	(void)v;
	vm_flushes++;
}

/* The mm's shootdown: counted, and it waits for walkers with interrupts off (shim.c). */
static inline void count_tlb_flush(uint64_t va, uint64_t size)
{
	(void)va, (void)size;
	__atomic_fetch_add(&tlb_flushes, 1, __ATOMIC_RELAXED);
	host_shootdown();
}

/* Fresh frames (all but frame 0) and an empty primary MMU. */
static inline void mm_fresh(void)
{
	if (!arena)
		arena_init(ARENA);
	frame_init(&fa, fa_bitmap, ARENA / PAGE_SIZE);
	frame_release_range(&fa, PAGE_SIZE, ARENA);
	memset(&mm, 0, sizeof(mm));
	spin_lock_init(&mm.lock, LOCK_RANK_MM, "mm->lock");
	rwlock_init(&mm.notifier_lock, LOCK_RANK_NOTIFIERS, "mm->notifier_lock");
	x86_pt_nx = true; /* EFER.NXE: protections read back exactly */
	BUG_ON(pt_init(&mm.pt, &x86_pt_fmt, &fa, LEAVES_4K_2M));
	/* As the kernel's host_mm: table pages outlive lockless walks (mm_lookup()). */
	mm.pt.defer_frees = true;
	mm.dyn_base = DYN_BASE;
	mm.flush_tlb = count_tlb_flush;
	vm_flushes = tlb_flushes = 0;
}

/* Byte pattern that names the 4 KiB page: lets copies be checked. */
static inline uint8_t page_tag(uint64_t hva)
{
	return (uint8_t)((hva >> PAGE_SHIFT) * 37 + 11);
}

/* Host pointer for host-virtual @hva, NULL when mm does not map it. */
static inline uint8_t *hva_ptr(uint64_t hva)
{
	struct pt_walk w;

	return pt_lookup(&mm.pt, hva, &w) ? NULL : phys_to_virt(w.pa);
}

static inline uint64_t hva_pa(uint64_t hva)
{
	struct pt_walk w;

	return pt_lookup(&mm.pt, hva, &w) ? ~0ULL : w.pa;
}

/*
 * Back [hva, hva + size) with fresh frames of @level (1 = 4K, 2 = 2M),
 * RW, each 4 KiB page filled with page_tag(). 4 KiB pages of a whole
 * 2 MiB chunk take the frames of one 2 MiB run in reverse order, so they
 * are not physically contiguous in hva order (a leaf built by assuming
 * they are, or a stale pfn, then shows).
 */
static inline int back(uint64_t hva, uint64_t size, int level)
{
	uint64_t bsz = pt_level_size(level), run = 0;

	for (uint64_t off = 0; off < size; off += bsz) {
		uint64_t pa;
		int r;

		if (level == PT_LEVEL_4K && size - ALIGN_DOWN(off, SZ_2M) >= SZ_2M) {
			/* Page i of each whole 2 MiB chunk: frame 511 - i of a 2 MiB run. */
			if (IS_ALIGNED(off, SZ_2M) && (r = frame_alloc(&fa, FRAME_ORDER_2M, &run)))
				return r;
			pa = run + SZ_2M - PAGE_SIZE - off % SZ_2M;
		} else if ((r = frame_alloc(&fa, 9 * (unsigned)(level - 1), &pa))) {
			return r;
		}
		r = mm_map(&mm, hva + off, pa, bsz, PT_PROT_RW, level);
		if (r)
			return r;
		for (uint64_t p = 0; p < bsz; p += PAGE_SIZE)
			memset(phys_to_virt(pa + p), page_tag(hva + off + p), PAGE_SIZE);
	}
	return 0;
}

static inline bool page_is(uint64_t hva, uint8_t tag)
{
	const uint8_t *p = hva_ptr(hva);

	for (uint64_t i = 0; p && i < PAGE_SIZE; i++)
		if (p[i] != tag)
			return false;
	return p != NULL;
}

/* mm_fresh() plus an empty VM attached to mm. */
/* A VM @v named @name with EPT tables of 4K and 2M leaves, attached to the mm. */
static inline void vm_init_on(struct vm *v, const char *name)
{
	memset(v, 0, sizeof(*v));
	v->name = name;
	BUG_ON(pt_init(&v->ept, &ept_fmt, &fa, LEAVES_4K_2M));
	v->ept_max_level = PT_LEVEL_2M;
	v->flush = count_vm_flush;
	vm_mmu_attach(v, &mm);
}

static inline void vm_fresh(void)
{
	mm_fresh();
	vm_init_on(&vm, "host");
}

/* A memslot [gpa, gpa + size) at @hva + skew pages, backed by @level host pages. */
static inline int vm_ram(uint64_t gpa, uint64_t size, uint64_t hva, int level, uint64_t skew)
{
	char err[160];
	int r = back(hva, size + (skew ? pt_level_size(level) : 0), level);

	if (r)
		return r;
	r = vm_memslot_add(&vm, gpa, size, hva + skew * PAGE_SIZE, 0, err, sizeof(err));
	if (r)
		printf("# vm_memslot_add: %s\n", err);
	return r;
}

/* vm_fresh() and 2 MiB of RAM at GPA0, backed at HVA0 by @level pages. */
static inline void dvm(int level)
{
	vm_fresh();
	BUG_ON(vm_ram(GPA0, SZ_2M, HVA0, level, 0));
}

static inline uint64_t gpa_hva(uint64_t gpa)
{
	return memslots_page_hva(&vm.slots, gpa);
}

static inline int fault(uint64_t gpa, bool write)
{
	char why[200] = "";
	int r = mmu_fault(&vm, gpa, write ? PT_PROT_W : PT_PROT_R, why,
				     sizeof(why));

	if (r)
		printf("# fault at %#llx: %d %s\n", (unsigned long long)gpa, r, why);
	return r;
}

/* EPT maps @gpa: its pa, level and prot through the out pointers (may be NULL). */
static inline bool ept_maps(uint64_t gpa, uint64_t *pa, int *level, unsigned *prot)
{
	struct pt_walk w;

	if (pt_lookup(&vm.ept, gpa, &w))
		return false;
	if (pa)
		*pa = w.pa;
	if (level)
		*level = w.level;
	if (prot)
		*prot = w.prot;
	return true;
}

/* The invariant: every EPT leaf maps what the host maps. */
static inline bool coherent(void)
{
	char why[200];
	long bad = ept_check_coherent(&vm, why, sizeof(why));

	if (bad)
		printf("# %ld incoherent EPT leaves: %s\n", bad, why);
	return bad == 0;
}

/* EPT maps @gpa to exactly the frame the host maps for its hva now. */
static inline bool ept_follows_host(uint64_t gpa)
{
	uint64_t pa;

	return ept_maps(gpa, &pa, NULL, NULL) && pa == hva_pa(gpa_hva(gpa));
}

#endif
