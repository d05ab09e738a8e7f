/*
 * minihv's own reads and writes of guest RAM (hypercall buffers, the
 * instruction bytes it decodes, the guest page tables it walks): the one
 * path for them. Each page is copied under mmu_lock, after checking that
 * no invalidation covers it, so the host mapping used is the one in force
 * (a pointer handed out and used later has nothing holding it: issue 21,
 * hole 4). Under shadow paging a write is reported to the shadow MMU, as
 * KVM's kvm_page_track_write(): shadow entries built from the bytes it
 * overwrote are dropped (hole 15). Long-lived access goes through a gpc.
 * Pure: host-tested.
 */
#ifndef MINIHV_GUEST_MEM_H
#define MINIHV_GUEST_MEM_H

#include "lib/lib.h"

struct vm;

/*
 * Copy [gpa, gpa + len) of guest RAM to @dst, or @src to it; it may cross
 * pages and memslots. 0; -EFAULT if a byte is not guest RAM, or, for a
 * write, lies in a read-only memslot or a host page the host keeps
 * read-only; -EAGAIN if the host is changing a page right now (after a
 * few tries, each serving other CPUs' calls, and with a page that was not
 * mapped faulted in): the caller lets the guest run its instruction again.
 * A write that fails may have written the pages before the failing one.
 * Takes mmu_lock: not with it held.
 */
int vm_read_guest(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
int vm_write_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);

/*
 * minihv wrote [gpa, gpa + len) through a mapping of its own (a gpc): under
 * shadow paging, drop the shadow entries built from what it overwrote, as
 * vm_write_guest() does. After the write, outside mmu_lock (takes it).
 */
void vm_guest_written(struct vm *vm, uint64_t gpa, uint64_t len);
/* Whether one memslot or several cover all of [gpa, gpa + len) now (takes mmu_lock). */
bool vm_is_guest_ram(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
