/*
 * What the shadow MMU's files share (ept/shadow*.c), and nothing outside
 * ept/ may use. Everything runs under mmu_lock.
 */
#ifndef MINIHV_SHADOW_INT_H
#define MINIHV_SHADOW_INT_H

#include "ept/shadow.h"

struct vm;

struct shadow_page *sp_find(struct vm *vm, uint64_t gfn, union shadow_role role);
/* The shadow pages of guest table @gfn (not direct ones), one after another. */
struct shadow_page *sp_first_of_gfn(struct vm *vm, uint64_t gfn);
struct shadow_page *sp_next_of_gfn(struct vm *vm, struct shadow_page *sp, uint64_t gfn);
struct shadow_page *sp_alloc(struct vm *vm, uint64_t gfn, union shadow_role role);
/* Point entry @i of @parent at @child, marking the new path unsync where @child is. */
int sp_link(struct vm *vm, struct shadow_page *parent, unsigned i, struct shadow_page *child);
bool sp_drop_entry(struct vm *vm, struct shadow_page *sp, unsigned i);
uint64_t sp_leaf_gfn(const struct shadow_page *sp, unsigned i);
/* Unlink @sp from its parents, drop its entries and free it after the next flush. */
void sp_zap(struct vm *vm, struct shadow_page *sp);
/*
 * Make room for @need new pages under the bound: zap the oldest pages no
 * vCPU holds as its root (KVM's make_mmu_pages_available()). Call before
 * choosing a fault's path, never while holding pages found before it.
 */
void sp_reclaim(struct vm *vm, unsigned long need);
/* A vCPU no longer holds @sp as its root (shadow_put_root() with mmu_lock held). */
void sp_put_root_locked(struct vm *vm, struct shadow_page *sp);


unsigned rmap_hash(uint64_t gfn);
int rmap_add(struct vm *vm, uint64_t gfn, pte_t *sptep);
void rmap_remove(struct vm *vm, uint64_t gfn, pte_t *sptep);
bool spte_drop_leaf(struct vm *vm, pte_t *sptep, uint64_t gfn);
/* Call @fn for each rmap entry of the gfns; the number of calls that returned true. */
long rmap_for_gfn(struct vm *vm, uint64_t gfn,
		  bool (*fn)(struct vm *vm, struct rmap_ent *e, void *ctx), void *ctx);
long rmap_for_range(struct vm *vm, uint64_t gs, uint64_t ge,
		    bool (*fn)(struct vm *vm, struct rmap_ent *e, void *ctx), void *ctx);
/* An rmap walker's step: make one leaf read-only; true if it was writable. */
bool rmap_wp_one(struct vm *vm, struct rmap_ent *e, void *ctx);
/* Flush if entries were dropped since the last flush (frees zapped pages). */
void shadow_flush(struct vm *vm);
/* A non-direct page of @gfn exists that is not unsync: guest writes to @gfn must fault. */
bool gfn_write_protected(struct vm *vm, uint64_t gfn);
/* Make every shadow leaf of @gfn read-only (it became a shadowed guest table). */
bool shadow_write_protect_gfn(struct vm *vm, uint64_t gfn);

#endif
