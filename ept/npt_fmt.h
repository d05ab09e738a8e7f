/*
 * AMD nested page table format (ept/npt_fmt.c): the secondary MMU's second
 * format beside EPT (ept/ept_fmt.h), for the generic walker in mm/pt.c.
 */
#ifndef MINIHV_NPT_FMT_H
#define MINIHV_NPT_FMT_H

#include "mm/mm.h"

extern const struct pt_fmt npt_fmt;

/*
 * Bit 51 is reserved in every entry while MAXPHYADDR < 52 (APM vol. 2,
 * 5.3.1), always so far: the NPT misconfiguration test plants one on
 * purpose through this helper, and the #NPF reports it (error code bit 3).
 */
static inline pte_t npt_misconfigured_entry(pte_t e)
{
	return e | (1ULL << 51);
}

#endif
