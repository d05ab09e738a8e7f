/*
 * The nested page table format of AMD SVM (APM vol. 2, 15.25 "Nested
 * Paging"): the x86-64 long-mode page-table format, walked by the CPU with
 * the host's paging mode. Every nested walk is a user-mode access (15.25.5),
 * so every entry, table or leaf, has U set. No NUMA bit: guests never take
 * NUMA hints through the secondary MMU.
 */
#include "ept/npt_fmt.h"

static unsigned npt_prot(pte_t e)
{
	return PT_PROT_R | ((e & X86_PTE_W) ? PT_PROT_W : 0) | ((e & X86_PTE_NX) ? 0 : PT_PROT_X);
}

static pte_t npt_mk_table(uint64_t pa)
{
	/* Permissions are decided at the leaf: tables allow everything. */
	return pa | X86_PTE_P | X86_PTE_W | X86_PTE_U;
}

static pte_t npt_mk_leaf(uint64_t pa, int level, unsigned prot)
{
	/* No write-only or execute-only pages in this format: present means readable. */
	pte_t e = pa | X86_PTE_P | X86_PTE_U;

	if (prot & PT_PROT_W)
		e |= X86_PTE_W;
	if (!(prot & PT_PROT_X) && x86_pt_nx)
		e |= X86_PTE_NX;
	if (level > PT_LEVEL_4K)
		e |= X86_PTE_PS;
	return e;
}

const struct pt_fmt npt_fmt = {
	.name = "NPT",
	.present_mask = X86_PTE_P,
	.huge_mask = X86_PTE_PS,
	/* A huge leaf's bit 12 is PAT, not address: pt_addr() masks to the page size. */
	.addr_mask = X86_PTE_ADDR_MASK,
	/* The CPU always sets A and D in nested tables (15.25.4): aging always works. */
	.accessed_mask = X86_PTE_A,
	.prot = npt_prot,
	.mk_table = npt_mk_table,
	.mk_leaf = npt_mk_leaf,
};
