/*
 * The nested page table format of AMD SVM (APM vol. 2, 15.25 "Nested
 * Paging"): the x86-64 long-mode page-table format, walked by the CPU with
 * the host's paging mode. Every nested walk is a user-mode access (15.25.5),
 * so every entry, table or leaf, has U set. No NUMA bit: guests never take
 * NUMA hints through the secondary MMU.
 */
#include "ept/npt_fmt.h"

/* The x86 format's own encoders (mm/x86pt.c), plus U; no NUMA hints. */
static unsigned npt_prot(pte_t e)
{
	return x86_pt_fmt.prot(e) & ~PT_PROT_NUMA;
}

static pte_t npt_mk_table(uint64_t pa)
{
	return x86_pt_fmt.mk_table(pa) | X86_PTE_U;
}

static pte_t npt_mk_leaf(uint64_t pa, int level, unsigned prot)
{
	return x86_pt_fmt.mk_leaf(pa, level, prot & ~PT_PROT_NUMA) | X86_PTE_U;
}

const struct pt_fmt npt_fmt = {
	.name = "NPT",
	.present_mask = X86_PTE_P,
	.huge_mask = X86_PTE_PS,
	.addr_mask = X86_PTE_ADDR_MASK, /* as x86_pt_fmt's: bit 12 of a huge leaf is PAT */
	/* The CPU always sets A and D in nested tables (15.25.4): aging always works. */
	.accessed_mask = X86_PTE_A,
	.prot = npt_prot,
	.mk_table = npt_mk_table,
	.mk_leaf = npt_mk_leaf,
};
