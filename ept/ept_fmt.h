/*
 * EPT entry format (SDM 3C, 29.3.2) for the generic walker, and the EPT
 * pointer. EPT is minihv's SECONDARY MMU: ept/ is its only writer.
 */
#ifndef MINIHV_EPT_FMT_H
#define MINIHV_EPT_FMT_H

#include "mm/mm.h"

#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3          /* leaf memory type, bits 5:3 */
#define EPT_MT_WB 6ULL
#define EPT_IGNORE_PAT (1ULL << 6)
#define EPT_LARGE (1ULL << 7)   /* in a level-2/3 entry: maps a 2 MiB / 1 GiB page */
#define EPT_ACCESSED (1ULL << 8)
#define EPT_DIRTY (1ULL << 9)
#define EPT_ADDR_MASK 0x000ffffffffff000ULL

/* EPTP (25.6.11): memory type WB, page-walk length 4 (encoded as 3), A/D enable. */
#define EPTP_MT_WB 6ULL
#define EPTP_WALK4 (3ULL << 3)
#define EPTP_AD (1ULL << 6)

_Static_assert((EPT_MT_WB << EPT_MT_SHIFT) == 0x30, "WB memory type sits in bits 5:3");

extern const struct pt_fmt ept_fmt;

static inline uint64_t ept_pointer(uint64_t root, bool ad)
{
	return root | EPTP_MT_WB | EPTP_WALK4 | (ad ? EPTP_AD : 0);
}

/*
 * An entry with W but not R is a misconfiguration (29.3.3.1): the EPT
 * misconfiguration test plants one on purpose through this helper.
 */
static inline pte_t ept_misconfigured_entry(pte_t e)
{
	return (e & ~EPT_R) | EPT_W;
}

#endif
