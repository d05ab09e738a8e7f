/*
 * The host page tables: minihv's PRIMARY MMU (host_mm, a struct mm). Every
 * change to a live host mapping goes through mm_*() on host_mm (or the
 * host_* shorthands below), which notify the secondary MMUs.
 *
 * Layout: [0, direct_map_end) is identity-mapped (the kernel, its stacks and
 * the frames it allocates); addresses at or above HOST_DYN_BASE are free for
 * dynamic mappings such as guest memory backing.
 */
#ifndef MINIHV_HOSTPT_H
#define MINIHV_HOSTPT_H

#include "mm/mm.h"

#define HOST_DYN_BASE 0x0000010000000000ULL /* 1 TiB */

extern struct mm host_mm;
extern struct frame_alloc phys_frames;

int hostpt_init(uint64_t direct_map_end);
int host_map(uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level);
long host_unmap(uint64_t va, uint64_t size);
long host_protect(uint64_t va, uint64_t size, unsigned prot);
int host_split(uint64_t va, int level);
int host_lookup(uint64_t va, struct pt_walk *w);
int host_mapping_level(uint64_t va);
/* Bit L set if the CPU can map level L as a leaf (2 MiB always, 1 GiB if PDPE1GB). */
unsigned host_leaf_levels(void);

#endif
