/* Private to ept/: the invalidation of a gfn range, shared by the notifiers and memslot removal. */
#ifndef MINIHV_NOTIFY_H
#define MINIHV_NOTIFY_H

#include "ept/vm.h"

/*
 * Under mmu_lock, between mmu_invalidate_begin() and _end(): add [gs, ge) of
 * slot @s to the in-progress range and zap what the change @ctx (a struct
 * mmu_range) takes from the guest. Returns the leaves zapped.
 */
long vm_invalidate_gfns(struct vm *vm, const struct memslot *s, uint64_t gs, uint64_t ge,
			void *ctx);
/* Count @zapped leaves and flush once if there were any (mmu_lock held). */
void vm_zapped(struct vm *vm, long zapped);

#endif
