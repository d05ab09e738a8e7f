/*
 * AMD nested page table format (ept/npt_fmt.c): the secondary MMU's second
 * format beside EPT (ept/ept_fmt.h), for the generic walker in mm/pt.c.
 */
#ifndef MINIHV_NPT_FMT_H
#define MINIHV_NPT_FMT_H

#include "mm/mm.h"

extern const struct pt_fmt npt_fmt;

#endif
