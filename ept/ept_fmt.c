#include "ept/ept_fmt.h"

static unsigned ept_prot(pte_t e)
{
	return ((e & EPT_R) ? PT_PROT_R : 0) | ((e & EPT_W) ? PT_PROT_W : 0) |
	       ((e & EPT_X) ? PT_PROT_X : 0);
}

static pte_t ept_mk_table(uint64_t pa)
{
	/* Non-leaf entries allow everything; the leaf decides. */
	return pa | EPT_RWX;
}

static pte_t ept_mk_leaf(uint64_t pa, int level, unsigned prot)
{
	pte_t e = pa | (EPT_MT_WB << EPT_MT_SHIFT);

	if (prot & PT_PROT_R)
		e |= EPT_R;
	if (prot & PT_PROT_W)
		e |= EPT_W | EPT_R; /* write-only is a misconfiguration: W implies R */
	if (prot & PT_PROT_X)
		e |= EPT_X;
	if (level > PT_LEVEL_4K)
		e |= EPT_LARGE;
	return e;
}

const struct pt_fmt ept_fmt = {
	.name = "EPT",
	/* Any of R/W/X set: an entry with none of them is "not present" (SDM 3C 29.3.2). */
	.present_mask = EPT_RWX,
	.huge_mask = EPT_LARGE,
	.addr_mask = EPT_ADDR_MASK,
	/* Set only when the EPTP enables A/D (mmu_caps.ad). */
	.accessed_mask = EPT_ACCESSED,
	.prot = ept_prot,
	.mk_table = ept_mk_table,
	.mk_leaf = ept_mk_leaf,
};
