#include "mm/x86pt.h"

bool x86_pt_nx;

static unsigned x86_prot(pte_t e)
{
	return PT_PROT_R | ((e & X86_PTE_W) ? PT_PROT_W : 0) |
	       ((e & X86_PTE_NX) ? 0 : PT_PROT_X) | ((e & X86_PTE_NUMA) ? PT_PROT_NUMA : 0);
}

static pte_t x86_mk_table(uint64_t pa)
{
	/* Permissions are decided at the leaf: tables allow everything. */
	return pa | X86_PTE_P | X86_PTE_W;
}

static pte_t x86_mk_leaf(uint64_t pa, int level, unsigned prot)
{
	/* x86 paging has no write-only or execute-only pages: present means readable. */
	pte_t e = pa | X86_PTE_P;

	if (prot & PT_PROT_W)
		e |= X86_PTE_W;
	if (!(prot & PT_PROT_X) && x86_pt_nx)
		e |= X86_PTE_NX;
	if (level > PT_LEVEL_4K)
		e |= X86_PTE_PS;
	if (prot & PT_PROT_NUMA)
		e |= X86_PTE_NUMA;
	return e;
}

const struct pt_fmt x86_pt_fmt = {
	.name = "x86-64",
	.present_mask = X86_PTE_P,
	.huge_mask = X86_PTE_PS,
	/* A huge leaf's bit 12 is PAT, not address: pt_addr() masks to the page size. */
	.addr_mask = X86_PTE_ADDR_MASK,
	.accessed_mask = X86_PTE_A,
	.prot = x86_prot,
	.mk_table = x86_mk_table,
	.mk_leaf = x86_mk_leaf,
};
