/*
 * The guest's own page walk, as its CPU would do it (SDM vol. 3A, 4.5
 * "4-level paging", 4.6 "access rights", 4.7 "page-fault exceptions"):
 * what the shadow MMU builds its entries from, and the #PF error code the
 * guest gets when its tables deny an access. 4-level paging, or paging off
 * (linear = physical, everything allowed); virt/shadow.c refuses the other
 * modes; no SMEP, SMAP or protection keys (the backends keep CR4 from
 * enabling them). Pure: host-tested.
 */
#include "ept/shadow_walk.h"
#include "ept/vm.h"
#include "lib/lib.h"

uint64_t *shadow_gpa_word(struct vm *vm, uint64_t gpa, bool *writable, uint64_t *missing_hva)
{
	struct memslot *s = memslot_find(&vm->slots, gpa >> PAGE_SHIFT);
	struct pt_walk w;

	*missing_hva = 0;
	if (!s)
		return NULL;
	uint64_t hva = memslot_gfn_to_hva(s, gpa >> PAGE_SHIFT);
	if (mm_lookup(vm->mm, hva, &w)) {
		*missing_hva = hva; /* not mapped now: the caller faults it in, unlocked */
		return NULL;
	}
	*writable = (w.prot & PT_PROT_W) && !(s->flags & MEMSLOT_READONLY);
	return phys_to_virt(ALIGN_DOWN(w.pa, PAGE_SIZE) + (gpa & (PAGE_SIZE - 1) & ~7ULL));
}

/* The error code of the #PF the guest takes: the access, plus P when the page was present. */
static uint32_t guest_pfec(uint32_t access, const struct shadow_mode *m, uint32_t extra)
{
	uint32_t pfec = access & (X86_PF_WRITE | X86_PF_USER | X86_PF_FETCH);

	/* The I/D bit is reported only with EFER.NXE (or SMEP, which is never on here). */
	if (!m->nxe)
		pfec &= ~X86_PF_FETCH;
	return pfec | extra;
}

static bool entry_reserved(uint64_t e, int level, const struct shadow_mode *m)
{
	if ((e & X86_PTE_NX) && !m->nxe)
		return true;
	/* PS is reserved in a PML4E (SDM 3A table 4-15). */
	return level == PT_LEVELS && (e & X86_PTE_PS);
}

int shadow_walk(struct vm *vm, const struct shadow_mode *m, uint64_t gva, uint32_t access,
		struct gwalk *w, uint32_t *pfec, bool set_ad)
{
	uint64_t table = m->cr3 & X86_PTE_ADDR_MASK;
	uint64_t *ptrs[PT_LEVELS + 1];
	bool hw[PT_LEVELS + 1];

	memset(w, 0, sizeof(*w));
	w->w = w->u = true;
	if (m->nonpaging) {
		/*
		 * Paging off: the address is physical (KVM's nonpaging_page_fault()).
		 * Only 32 bits exist without long mode; a wider one here is the
		 * caller's bug, and wraps as the CPU's address would.
		 */
		w->nonpaging = true;
		w->level = PT_LEVELS;
		w->gpte[PT_LEVELS] = X86_PTE_P | X86_PTE_W | X86_PTE_U | X86_PTE_A | X86_PTE_D;
		w->gfn = (uint32_t)gva >> PAGE_SHIFT;
		return 0;
	}
	for (int level = PT_LEVELS; level >= PT_LEVEL_4K; level--) {
		uint64_t gpa = table + pt_index(gva, level) * 8;
		uint64_t *p = shadow_gpa_word(vm, gpa, &hw[level], &w->missing_hva);

		if (!p) {
			w->bad_gpa = gpa;
			return w->missing_hva ? -EAGAIN : -EFAULT;
		}
		uint64_t e = __atomic_load_n(p, __ATOMIC_RELAXED);
		ptrs[level] = p;
		w->gpte[level] = e;
		w->table_gfn[level] = table >> PAGE_SHIFT;
		if (!(e & X86_PTE_P)) {
			*pfec = guest_pfec(access, m, 0);
			return 1;
		}
		if (entry_reserved(e, level, m)) {
			*pfec = guest_pfec(access, m, X86_PF_PROT | X86_PF_RSVD);
			return 1;
		}
		w->w &= !!(e & X86_PTE_W);
		w->u &= !!(e & X86_PTE_U);
		w->nx |= !!(e & X86_PTE_NX);
		if (level == PT_LEVEL_4K || (level <= PT_LEVEL_1G && (e & X86_PTE_PS))) {
			uint64_t size = pt_level_size(level);

			w->level = level;
			w->gfn = ((pt_entry_addr(e & X86_PTE_ADDR_MASK, level, true) & ~(size - 1)) |
				  (gva & (size - 1))) >> PAGE_SHIFT;
			break;
		}
		table = e & X86_PTE_ADDR_MASK;
	}
	bool user = access & X86_PF_USER, write = access & X86_PF_WRITE;
	bool denied = (user && !w->u) || ((access & X86_PF_FETCH) && w->nx && m->nxe) ||
		      (write && !w->w && (user || m->wp));
	if (denied) {
		*pfec = guest_pfec(access, m, X86_PF_PROT);
		return 1;
	}
	if (!set_ad)
		return 0;
	/*
	 * What the CPU does on a successful walk: accessed in every entry, dirty
	 * in the leaf on a write (SDM 3A 4.8). Skipped where the host keeps the
	 * table read-only: it must not be written behind the host's back.
	 */
	for (int level = PT_LEVELS; level >= w->level; level--) {
		uint64_t set = X86_PTE_A | (level == w->level && write ? X86_PTE_D : 0);

		if (hw[level] && (w->gpte[level] & set) != set)
			w->gpte[level] = __atomic_or_fetch(ptrs[level], set, __ATOMIC_RELAXED);
	}
	return 0;
}

bool shadow_walk_same(const struct gwalk *a, const struct gwalk *b)
{
	const uint64_t ad = X86_PTE_A | X86_PTE_D;

	if (a->level != b->level || a->gfn != b->gfn)
		return false;
	for (int level = PT_LEVELS; level >= a->level; level--)
		if ((a->gpte[level] ^ b->gpte[level]) & ~ad)
			return false;
	return true;
}
