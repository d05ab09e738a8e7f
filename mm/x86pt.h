/* x86-64 4-level paging entry format (SDM vol. 3A, 4.5) for the generic walker. */
#ifndef MINIHV_X86PT_H
#define MINIHV_X86PT_H

#include "mm/pt.h"

#define X86_PTE_P (1ULL << 0)
#define X86_PTE_W (1ULL << 1)
#define X86_PTE_U (1ULL << 2)
#define X86_PTE_A (1ULL << 5)
#define X86_PTE_D (1ULL << 6)
#define X86_PTE_PS (1ULL << 7) /* in a PDE/PDPTE: maps a 2 MiB / 1 GiB page */
#define X86_PTE_NUMA (1ULL << 9) /* ignored by the CPU (SDM 3A, 4.5): PT_PROT_NUMA */
#define X86_PTE_NX (1ULL << 63)
#define X86_PTE_ADDR_MASK 0x000ffffffffff000ULL

extern const struct pt_fmt x86_pt_fmt;
/* Set when EFER.NXE is on; without it bit 63 is reserved and must stay clear. */
extern bool x86_pt_nx;

#endif
