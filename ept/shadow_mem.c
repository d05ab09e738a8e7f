/*
 * The shadow MMU's bookkeeping: small-object pools, shadow pages by (gfn,
 * role), the rmap from a gfn to the shadow leaves that map it, parent links,
 * and zapping. Everything here runs under mmu_lock. Pure: host-tested.
 */
#include "ept/shadow_int.h"
#include "ept/vm.h"
#include "lib/lib.h"

static void *pool_alloc(struct obj_pool *p)
{
	if (!p->free) {
		uint64_t pa;

		if (frame_alloc(p->fa, FRAME_ORDER_4K, &pa))
			return NULL;
		char *page = phys_to_virt(pa);
		/* Object 0 of each frame links the pool's frames; the rest are handed out. */
		*(uint64_t *)page = p->pages;
		p->pages = pa;
		for (size_t off = p->size; off + p->size <= PAGE_SIZE; off += p->size) {
			*(void **)(page + off) = p->free;
			p->free = page + off;
		}
	}
	void *o = p->free;
	p->free = *(void **)o;
	memset(o, 0, p->size);
	p->used++;
	return o;
}

static void pool_free(struct obj_pool *p, void *o)
{
	*(void **)o = p->free;
	p->free = o;
	p->used--;
}

static void pool_destroy(struct obj_pool *p)
{
	while (p->pages) {
		uint64_t pa = p->pages;

		p->pages = *(uint64_t *)phys_to_virt(pa);
		frame_free(p->fa, pa, FRAME_ORDER_4K);
	}
	p->free = NULL;
	p->used = 0;
}

int shadow_mmu_init(struct vm *vm)
{
	struct shadow_mmu *s = &vm->smmu;

	memset(s, 0, sizeof(*s));
	s->fa = s->sp_pool.fa = s->link_pool.fa = vm->ept.fa;
	s->sp_pool.size = ALIGN_UP(sizeof(struct shadow_page), 16);
	s->link_pool.size = ALIGN_UP(MAX(sizeof(struct rmap_ent), sizeof(struct sp_parent)), 8);
	return 0;
}

static void sp_free_now(struct shadow_page *sp, struct shadow_mmu *s)
{
	frame_free(s->fa, sp->spt_pa, FRAME_ORDER_4K);
	frame_free(s->fa, virt_to_phys(sp->gptes), FRAME_ORDER_4K);
	frame_free(s->fa, virt_to_phys(sp->child), FRAME_ORDER_4K);
	pool_free(&s->sp_pool, sp);
}

void shadow_mmu_destroy(struct vm *vm)
{
	struct shadow_mmu *s = &vm->smmu;

	/* No vCPU runs any more: everything goes, roots included, flush or not. */
	while (s->all) {
		struct shadow_page *sp = s->all;

		s->all = sp->all_next;
		sp_free_now(sp, s);
	}
	while (s->zapped) {
		struct shadow_page *sp = s->zapped;

		s->zapped = sp->all_next;
		sp_free_now(sp, s);
	}
	pool_destroy(&s->sp_pool);
	pool_destroy(&s->link_pool);
	memset(s->hash, 0, sizeof(s->hash));
	memset(s->rmap, 0, sizeof(s->rmap));
	s->nr_pages = 0;
}

static unsigned sp_hash(uint64_t gfn)
{
	return (unsigned)((gfn * 0x9e3779b97f4a7c15ULL) >> 56) % SHADOW_HASH;
}

unsigned rmap_hash(uint64_t gfn)
{
	return (unsigned)((gfn * 0x9e3779b97f4a7c15ULL) >> 52) % RMAP_HASH;
}

struct shadow_page *sp_find(struct vm *vm, uint64_t gfn, union shadow_role role)
{
	for (struct shadow_page *sp = vm->smmu.hash[sp_hash(gfn)]; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

struct shadow_page *sp_first_of_gfn(struct vm *vm, uint64_t gfn)
{
	return sp_next_of_gfn(vm, vm->smmu.hash[sp_hash(gfn)], gfn);
}

struct shadow_page *sp_next_of_gfn(struct vm *vm, struct shadow_page *sp, uint64_t gfn)
{
	(void)vm;
	for (; sp; sp = sp->hash_next)
		if (sp->gfn == gfn && !sp->role.direct)
			return sp;
	return NULL;
}

struct shadow_page *sp_alloc(struct vm *vm, uint64_t gfn, union shadow_role role)
{
	struct shadow_mmu *s = &vm->smmu;
	struct shadow_page *sp = pool_alloc(&s->sp_pool);
	uint64_t pa[3];
	int got = 0;

	if (!sp)
		return NULL;
	while (got < 3 && !frame_alloc(s->fa, FRAME_ORDER_4K, &pa[got]))
		got++;
	if (got < 3) {
		while (got--)
			frame_free(s->fa, pa[got], FRAME_ORDER_4K);
		pool_free(&s->sp_pool, sp);
		return NULL;
	}
	sp->gfn = gfn;
	sp->role = role;
	sp->spt_pa = pa[0];
	sp->spt = phys_to_virt(pa[0]);
	sp->gptes = phys_to_virt(pa[1]);
	sp->child = phys_to_virt(pa[2]);
	memset(sp->spt, 0, PAGE_SIZE);
	memset(sp->gptes, 0, PAGE_SIZE);
	memset(sp->child, 0, PAGE_SIZE);
	unsigned h = sp_hash(gfn);
	sp->hash_next = s->hash[h];
	s->hash[h] = sp;
	sp->all_next = s->all;
	s->all = sp;
	s->nr_pages++;
	s->max_pages = MAX(s->max_pages, s->nr_pages);
	vm_stat_inc(vm, shadow_pages_created);
	return sp;
}

/* rmap: the shadow leaves that map each gfn. */
int rmap_add(struct vm *vm, uint64_t gfn, pte_t *sptep)
{
	struct rmap_ent *e = pool_alloc(&vm->smmu.link_pool);

	if (!e)
		return -ENOMEM;
	unsigned h = rmap_hash(gfn);
	e->gfn = gfn;
	e->sptep = sptep;
	e->next = vm->smmu.rmap[h];
	vm->smmu.rmap[h] = e;
	return 0;
}

void rmap_remove(struct vm *vm, uint64_t gfn, pte_t *sptep)
{
	for (struct rmap_ent **p = &vm->smmu.rmap[rmap_hash(gfn)]; *p; p = &(*p)->next) {
		if ((*p)->gfn == gfn && (*p)->sptep == sptep) {
			struct rmap_ent *e = *p;

			*p = e->next;
			pool_free(&vm->smmu.link_pool, e);
			return;
		}
	}
	WARN_ON_ONCE(1); /* a leaf the rmap never knew: its invalidations would miss it */
}

long rmap_for_gfn(struct vm *vm, uint64_t gfn, bool (*fn)(struct vm *vm, struct rmap_ent *e,
							  void *ctx), void *ctx)
{
	long n = 0;
	struct rmap_ent *e = vm->smmu.rmap[rmap_hash(gfn)], *next;

	for (; e; e = next) {
		next = e->next; /* @fn may remove @e */
		if (e->gfn == gfn && fn(vm, e, ctx))
			n++;
	}
	return n;
}

long rmap_for_range(struct vm *vm, uint64_t gs, uint64_t ge,
		    bool (*fn)(struct vm *vm, struct rmap_ent *e, void *ctx), void *ctx)
{
	long n = 0;

	if (ge - gs <= RMAP_HASH) {
		for (uint64_t g = gs; g < ge; g++)
			n += rmap_for_gfn(vm, g, fn, ctx);
		return n;
	}
	for (unsigned h = 0; h < RMAP_HASH; h++) {
		struct rmap_ent *e = vm->smmu.rmap[h], *next;

		for (; e; e = next) {
			next = e->next;
			if (e->gfn >= gs && e->gfn < ge && fn(vm, e, ctx))
				n++;
		}
	}
	return n;
}

/* Drop leaf @sptep (which maps @gfn) from its table and the rmap; true if it was present. */
bool spte_drop_leaf(struct vm *vm, pte_t *sptep, uint64_t gfn)
{
	/* An exchange: the CPU may be setting A/D bits in it on another CPU. */
	pte_t old = __atomic_exchange_n(sptep, 0, __ATOMIC_ACQ_REL);

	if (!spte_present(old))
		return false;
	rmap_remove(vm, gfn, sptep);
	return true;
}

int sp_link(struct vm *vm, struct shadow_page *parent, unsigned i, struct shadow_page *child)
{
	struct sp_parent *l = pool_alloc(&vm->smmu.link_pool);

	if (!l)
		return -ENOMEM;
	l->sp = parent;
	l->index = i;
	l->next = child->parents;
	child->parents = l;
	parent->child[i] = child;
	if (sp_is_pae_root(parent)) {
		/*
		 * A PDPTE: P and the address, nothing else (role.nonpaging). A
		 * CPU may hold the four in registers, loaded with CR3 (Intel
		 * does, SDM 3A 4.4.1), so it may not see this one until CR3 is
		 * loaded again: flush, and every vCPU enters anew, its VMRUN
		 * loading CR3.
		 */
		pte_write(&parent->spt[i], child->spt_pa | X86_PTE_P);
		vm->smmu.need_flush = true;
	} else {
		/* Non-leaf entries allow everything: the leaf holds the guest's combined rights. */
		pte_write(&parent->spt[i],
			  child->spt_pa | X86_PTE_P | X86_PTE_W | X86_PTE_U | X86_PTE_A);
	}
	/* A child with unsync pages below it makes its new parent's path unsync too. */
	if (child->unsync || child->unsync_children)
		sp_set_unsync_child_bit(parent, i);
	return 0;
}

/* Unlink @child from entry @i of @parent (the entry is already cleared or about to be). */
static void sp_unlink(struct vm *vm, struct shadow_page *parent, unsigned i,
		      struct shadow_page *child)
{
	for (struct sp_parent **p = &child->parents; *p; p = &(*p)->next) {
		if ((*p)->sp == parent && (*p)->index == i) {
			struct sp_parent *l = *p;

			*p = l->next;
			pool_free(&vm->smmu.link_pool, l);
			break;
		}
	}
	parent->child[i] = NULL;
	if (parent->unsync_child_bitmap[i / 64] & (1ULL << (i % 64)))
		sp_clear_unsync_child_bit(parent, i);
}

/* The gfn a leaf entry @i of @sp maps (the guest's choice, kept in gptes[] or the role). */
uint64_t sp_leaf_gfn(const struct shadow_page *sp, unsigned i)
{
	if (sp->role.direct)
		return sp->gfn + i;
	return (sp->gptes[i] & X86_PTE_ADDR_MASK) >> PAGE_SHIFT;
}

/* Clear entry @i of @sp: a leaf leaves the rmap, a child loses this parent. True if present. */
bool sp_drop_entry(struct vm *vm, struct shadow_page *sp, unsigned i)
{
	if (sp->role.level == PT_LEVEL_4K)
		return spte_drop_leaf(vm, &sp->spt[i], sp_leaf_gfn(sp, i));
	pte_t old = __atomic_exchange_n(&sp->spt[i], 0, __ATOMIC_ACQ_REL);
	struct shadow_page *child = sp->child[i];

	if (!spte_present(old) || !child)
		return false;
	sp_unlink(vm, sp, i, child);
	/* An orphan would only keep its gfn write-protected for nothing. */
	if (!child->parents && !child->root_count)
		sp_zap(vm, child);
	return true;
}

void sp_zap(struct vm *vm, struct shadow_page *sp)
{
	struct shadow_mmu *s = &vm->smmu;

	while (sp->parents) {
		struct sp_parent *l = sp->parents;

		__atomic_exchange_n(&l->sp->spt[l->index], 0, __ATOMIC_ACQ_REL);
		sp_unlink(vm, l->sp, l->index, sp);
	}
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (spte_present(pte_read(&sp->spt[i])))
			sp_drop_entry(vm, sp, i);
	/* Out of the hash first: its gfn is no longer shadowed, nor write-protected by it. */
	for (struct shadow_page **p = &s->hash[sp_hash(sp->gfn)]; *p; p = &(*p)->hash_next) {
		if (*p == sp) {
			*p = sp->hash_next;
			break;
		}
	}
	for (struct shadow_page **p = &s->all; *p; p = &(*p)->all_next) {
		if (*p == sp) {
			*p = sp->all_next;
			break;
		}
	}
	s->nr_pages--;
	vm_stat_inc(vm, shadow_pages_zapped);
	sp->unsync = false;
	s->need_flush = true;
	if (sp->root_count) {
		/* A vCPU still holds it as its root: empty and invalid, freed when dropped. */
		sp->role.invalid = 1;
		return;
	}
	sp->all_next = s->zapped;
	s->zapped = sp;
}

unsigned long shadow_page_limit(struct vm *vm)
{
	unsigned long guest_pages = 0;

	if (vm->smmu.limit)
		return vm->smmu.limit;
	for (unsigned i = 0; i < vm->slots.n; i++)
		guest_pages += vm->slots.slot[i].npages;
	return MAX((unsigned long)SHADOW_MIN_PAGES, guest_pages * SHADOW_PERMILLE / 1000);
}

void sp_reclaim(struct vm *vm, unsigned long need)
{
	struct shadow_mmu *s = &vm->smmu;
	unsigned long limit = shadow_page_limit(vm);

	lockdep_assert_held(&vm->mmu_lock);
	while (s->nr_pages + need > limit) {
		struct shadow_page *oldest = NULL;

		/* s->all is newest first: the last page no vCPU holds as its root. */
		for (struct shadow_page *sp = s->all; sp; sp = sp->all_next)
			if (!sp->root_count)
				oldest = sp;
		if (!oldest)
			return; /* every page is a root in use: over the bound until one is dropped */
		sp_zap(vm, oldest);
		vm_stat_inc(vm, shadow_reclaimed);
	}
}

void sp_put_root_locked(struct vm *vm, struct shadow_page *sp)
{
	/* An invalid root is out of the hash already: its last holder queues it to be freed. */
	if (!--sp->root_count && sp->role.invalid) {
		sp->all_next = vm->smmu.zapped;
		vm->smmu.zapped = sp;
		vm->smmu.need_flush = true;
	}
}

void shadow_put_root(struct vm *vm, struct shadow_page **root)
{
	struct shadow_page *sp = *root;

	if (!sp)
		return;
	*root = NULL;
	spin_lock(&vm->mmu_lock);
	sp_put_root_locked(vm, sp);
	spin_unlock(&vm->mmu_lock);
}

void shadow_free_zapped(struct vm *vm)
{
	struct shadow_mmu *s = &vm->smmu;

	s->need_flush = false;
	while (s->zapped) {
		struct shadow_page *sp = s->zapped;

		s->zapped = sp->all_next;
		sp_free_now(sp, s);
	}
}

void shadow_flush(struct vm *vm)
{
	if (vm->smmu.need_flush || vm->smmu.zapped)
		vm_flush_ept(vm);
}
