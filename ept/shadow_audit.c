/*
 * The shadow MMU's auditor, the counterpart of ept_check_coherent() (KVM's
 * arch/x86/kvm/mmu/mmu_audit.c did the same job once): under mmu_lock, every
 * structure the shadow MMU keeps is checked against the others and against
 * what the guest and the host say now.
 *  - Each present leaf maps the frame the host maps for its gfn (rmap side).
 *  - Each present entry of a live page leads to a live page (never one that
 *    was zapped or freed), at the level below, with a parent link back.
 *  - An entry of a shadowed guest table (not unsync) was built from the
 *    guest's entry as it is in guest memory now, accessed/dirty bits aside:
 *    a change that bypassed write protection (minihv's own writes into guest
 *    RAM, a memslot moved) shows here.
 *  - Rights no wider than the guest's: W, U, and NX where the guest sets it.
 *  - No writable leaf maps a shadowed guest table that is not unsync.
 *  - Every present leaf is in the rmap, and the rmap holds nothing else.
 *  - Every shadow page of a guest table lies in a memslot.
 *  - The paging-off root holds PDPTEs only (P and an address, entries 0-3;
 *    the CPU may set A),
 *    and its tree holds no page of a guest table.
 *  - An unsync page (or one with unsync children) has its bit set in every
 *    parent (a stale bit is allowed, a missing one would skip a sync).
 * Entries of unsync pages may differ from the guest's until the next sync
 * point; they are exempt from the guest comparison only. Pure: host-tested.
 */
#include "ept/shadow_int.h"
#include "ept/shadow_walk.h"
#include "ept/vm.h"
#include "lib/lib.h"

struct audit {
	struct vm *vm;
	unsigned gen;
	long bad;
	char *why;
	size_t len;
	unsigned long leaves;
};

static __printf(2, 3) void audit_bad(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	if (a->bad++)
		return;
	va_start(ap, fmt);
	kvsnprintf(a->why, a->len, fmt, ap);
	va_end(ap);
}

#define AD_BITS (X86_PTE_A | X86_PTE_D)
#define ULL(x) ((unsigned long long)(x))

static bool has_parent_link(const struct shadow_page *child, const struct shadow_page *sp,
			    unsigned i)
{
	for (const struct sp_parent *l = child->parents; l; l = l->next)
		if (l->sp == sp && l->index == i)
			return true;
	return false;
}

static bool in_rmap(struct vm *vm, uint64_t gfn, pte_t *sptep)
{
	for (struct rmap_ent *e = vm->smmu.rmap[rmap_hash(gfn)]; e; e = e->next)
		if (e->gfn == gfn && e->sptep == sptep)
			return true;
	return false;
}

/* The guest's entry @i of table @gfn, read now; false if its host page is not mapped. */
static bool guest_entry(struct vm *vm, uint64_t gfn, unsigned i, uint64_t *val)
{
	bool w;
	uint64_t missing, *p = shadow_gpa_word(vm, (gfn << PAGE_SHIFT) + i * 8ULL, &w, &missing);

	if (!p)
		return false;
	*val = __atomic_load_n(p, __ATOMIC_RELAXED);
	return true;
}

/* Entry @i of @sp points at a child page: the link, the child and the guest's entry. */
static void audit_link(struct audit *a, struct shadow_page *sp, unsigned i, pte_t e)
{
	struct shadow_page *child = sp->child[i];
	uint64_t g;

	if (!child) {
		audit_bad(a, "shadow: entry %u of the level-%u page of gfn %#llx has no child", i,
			  sp->role.level, ULL(sp->gfn));
		return;
	}
	if (child->audit_gen != a->gen) {
		audit_bad(a, "shadow: entry %u of the level-%u page of gfn %#llx leads to a page "
			  "that is zapped or freed", i, sp->role.level, ULL(sp->gfn));
		return;
	}
	if ((e & X86_PTE_ADDR_MASK) != child->spt_pa || child->role.level != sp->role.level - 1 ||
	    !has_parent_link(child, sp, i))
		audit_bad(a, "shadow: entry %u of the level-%u page of gfn %#llx and its child "
			  "(gfn %#llx) disagree", i, sp->role.level, ULL(sp->gfn), ULL(child->gfn));
	/*
	 * The accessed bit aside: QEMU's walk sets it in a legacy-PAE PDPTE
	 * (its mmu_translate()), as linux_smp under mmu=shadow found: the AP
	 * starts with paging off, and entry 0 read P|A (0x...021).
	 */
	if (sp_is_pae_root(sp) &&
	    (i >= 4 || (e & ~(X86_PTE_ADDR_MASK | X86_PTE_A)) != X86_PTE_P))
		audit_bad(a, "shadow: entry %u (%#llx) of the paging-off root is not a PDPTE", i,
			  ULL(e));
	if (child->role.nonpaging != sp->role.nonpaging)
		audit_bad(a, "shadow: entry %u of the level-%u page of gfn %#llx links a page of "
			  "the other paging mode", i, sp->role.level, ULL(sp->gfn));
	if ((child->unsync || child->unsync_children) &&
	    !(sp->unsync_child_bitmap[i / 64] & (1ULL << (i % 64))))
		audit_bad(a, "shadow: the unsync page of gfn %#llx is not marked in its parent "
			  "(gfn %#llx, entry %u)", ULL(child->gfn), ULL(sp->gfn), i);
	if (sp->role.direct || !guest_entry(a->vm, sp->gfn, i, &g))
		return;
	uint64_t gfn = (g & X86_PTE_ADDR_MASK) >> PAGE_SHIFT;
	bool ok = child->role.direct ? (g & X86_PTE_P) && (g & X86_PTE_PS) &&
					       ALIGN_DOWN(gfn, 1ULL << (9 * child->role.level)) == child->gfn
				     : ((g ^ sp->gptes[i]) & ~AD_BITS) == 0 && gfn == child->gfn;
	if (!ok)
		audit_bad(a, "shadow: entry %u of the page of guest table gfn %#llx leads to gfn "
			  "%#llx, the guest's entry is %#llx now", i, ULL(sp->gfn), ULL(child->gfn),
			  ULL(g));
}

/* Leaf @i of level-1 page @sp: rmap, guest entry, rights, write protection. */
static void audit_leaf(struct audit *a, struct shadow_page *sp, unsigned i, pte_t e)
{
	uint64_t gfn = sp_leaf_gfn(sp, i), g = sp->role.direct ? 0 : sp->gptes[i], now;
	unsigned acc = sp->role.access;
	bool gw = sp->role.direct || (g & X86_PTE_W), gu = sp->role.direct || (g & X86_PTE_U);
	bool gnx = !(acc & SHADOW_ACC_X) || (!sp->role.direct && (g & X86_PTE_NX));

	a->leaves++;
	if (!in_rmap(a->vm, gfn, &sp->spt[i]))
		audit_bad(a, "shadow: the leaf for gfn %#llx (entry %u of gfn %#llx) is not in the "
			  "rmap", ULL(gfn), i, ULL(sp->gfn));
	if (!sp->role.direct && !sp->unsync && guest_entry(a->vm, sp->gfn, i, &now) &&
	    ((now ^ g) & ~AD_BITS))
		audit_bad(a, "shadow: the leaf of entry %u of guest table gfn %#llx was built from "
			  "%#llx, the guest's entry is %#llx now", i, ULL(sp->gfn), ULL(g),
			  ULL(now));
	/* CR0.WP clear: a supervisor-only leaf may be writable where the guest's is not (KVM). */
	if ((e & X86_PTE_W) && !(gw && (acc & SHADOW_ACC_W)) && (sp->role.wp || (e & X86_PTE_U)))
		audit_bad(a, "shadow: a writable leaf for gfn %#llx the guest maps read-only "
			  "(entry %u of the page of gfn %#llx, role %#x, from %#llx)", ULL(gfn), i,
			  ULL(sp->gfn), sp->role.word, ULL(g));
	if ((e & X86_PTE_U) && !(gu && (acc & SHADOW_ACC_U)))
		audit_bad(a, "shadow: a user leaf for gfn %#llx the guest maps supervisor-only",
			  ULL(gfn));
	if (sp->role.nxe && gnx && !(e & X86_PTE_NX))
		audit_bad(a, "shadow: an executable leaf for gfn %#llx the guest maps NX", ULL(gfn));
	if ((e & X86_PTE_W) && gfn_write_protected(a->vm, gfn))
		audit_bad(a, "shadow: a writable leaf maps gfn %#llx, a write-protected guest table",
			  ULL(gfn));
}

static void audit_page(struct audit *a, struct shadow_page *sp)
{
	unsigned bits = 0;

	if (!sp->role.direct && !memslot_find(&a->vm->slots, sp->gfn))
		audit_bad(a, "shadow: a shadow page for guest table gfn %#llx outside every memslot",
			  ULL(sp->gfn));
	if (sp->unsync && (sp->role.level != PT_LEVEL_4K || sp->role.direct))
		audit_bad(a, "shadow: the level-%u page of gfn %#llx is unsync", sp->role.level,
			  ULL(sp->gfn));
	if (sp_find(a->vm, sp->gfn, sp->role) != sp)
		audit_bad(a, "shadow: the page of gfn %#llx is not found by its (gfn, role)",
			  ULL(sp->gfn));
	/* No __builtin_popcountll: the kernel links without libgcc. */
	for (unsigned k = 0; k < PT_ENTRIES / 64; k++)
		for (uint64_t m = sp->unsync_child_bitmap[k]; m; m &= m - 1)
			bits++;
	if (bits != sp->unsync_children)
		audit_bad(a, "shadow: the page of gfn %#llx counts %u unsync children for %u bits",
			  ULL(sp->gfn), sp->unsync_children, bits);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pte_t e = pte_read(&sp->spt[i]);

		if (!spte_present(e))
			continue;
		if (sp->role.level == PT_LEVEL_4K)
			audit_leaf(a, sp, i, e);
		else
			audit_link(a, sp, i, e);
	}
}

long shadow_audit(struct vm *vm, char *why, size_t len)
{
	struct shadow_mmu *s = &vm->smmu;
	struct audit a = { vm, ++s->audit_gen, 0, why, len, 0 };
	unsigned long n = 0, rmaps = 0;

	lockdep_assert_held(&vm->mmu_lock);
	/* The live set: a page is live while it is on s->all. */
	for (struct shadow_page *sp = s->all; sp; sp = sp->all_next, n++)
		sp->audit_gen = a.gen;
	if (n != s->nr_pages)
		audit_bad(&a, "shadow: %lu live pages, %lu counted", n, s->nr_pages);
	for (struct shadow_page *sp = s->zapped; sp; sp = sp->all_next)
		if (sp->audit_gen == a.gen)
			audit_bad(&a, "shadow: the zapped page of gfn %#llx is live", ULL(sp->gfn));
	for (struct shadow_page *sp = s->all; sp; sp = sp->all_next)
		audit_page(&a, sp);
	for (unsigned h = 0; h < RMAP_HASH; h++)
		for (struct rmap_ent *e = s->rmap[h]; e; e = e->next)
			rmaps++;
	/* Every leaf is in the rmap (above); as many entries as leaves: nothing else is. */
	if (rmaps != a.leaves)
		audit_bad(&a, "shadow: %lu rmap entries for %lu present leaves", rmaps, a.leaves);
	return a.bad;
}

struct coherence {
	long bad;
	char *why;
	size_t len;
};

static bool check_one(struct vm *vm, struct rmap_ent *e, void *ctx)
{
	struct coherence *c = ctx;
	pte_t spte = pte_read(e->sptep);
	struct memslot *s = memslot_find(&vm->slots, e->gfn);
	struct pt_walk w;
	const char *what = NULL;

	if (!spte_present(spte))
		what = "a non-present leaf is still in the rmap";
	else if (!s)
		what = "a leaf maps a gfn outside every memslot";
	else if (mm_lookup(vm->mm, memslot_gfn_to_hva(s, e->gfn), &w))
		what = "a leaf maps a gfn the host does not map";
	else if (ALIGN_DOWN(w.pa, PAGE_SIZE) != (spte & X86_PTE_ADDR_MASK))
		what = "a leaf maps another frame than the host's";
	else if ((spte & X86_PTE_W) && !(w.prot & PT_PROT_W))
		what = "a writable leaf over a host page that is read-only";
	if (what && !c->bad++)
		ksnprintf(c->why, c->len, "shadow: %s (gfn %#llx, spte %#llx)", what,
			  (unsigned long long)e->gfn, (unsigned long long)spte);
	return true;
}

long shadow_check_coherent(struct vm *vm, char *why, size_t len)
{
	struct coherence c = { 0, why, len };
	bool locked = spin_held_here(&vm->mmu_lock); /* as ept_check_coherent(): either way */

	if (!locked)
		spin_lock(&vm->mmu_lock);
	rmap_for_range(vm, 0, ~0ULL, check_one, &c);
	/* The host side first: its message names the frame; then the auditor's. */
	if (!c.bad)
		c.bad = shadow_audit(vm, why, len);
	if (!locked)
		spin_unlock(&vm->mmu_lock);
	return c.bad;
}
