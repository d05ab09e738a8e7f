/*
 * The secondary MMU's view of SVM: nested page tables in the x86 format
 * (ept/npt_fmt.c), 2 MiB leaves always and 1 GiB ones where the CPU has
 * PDPE1GB, accessed/dirty bits always (APM vol. 2, 15.25). A flush is a
 * TLB_CONTROL request on the VM's next VMRUN: this ASID's entries only
 * where the CPU offers FlushByAsid, all of them otherwise (15.16.1). It is
 * counted where INVEPT is (vm_flush_ept(), ept/mmu.c), as the same figure.
 */
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "svm/vmcb.h"
#include "lib/lib.h"

/* At the next VMRUN on this CPU (virt/remote.c reaches the others). */
void svm_flush_local(struct vcpu *v)
{
	vmcb_write8(v, VMCB_TLB_CONTROL, svm_this_cpu.caps.flush_asid ? TLB_CONTROL_ASID
								    : TLB_CONTROL_ALL);
}

int svm_mmu_caps(const struct svm_caps *c, bool shadow, struct mmu_caps *out, char *err,
		 size_t errlen)
{
	(void)err, (void)errlen;
	if (shadow || !c->npt) {
		/* Shadow paging: the guest's own tables, shadowed (ept/shadow.c). */
		*out = (struct mmu_caps){ .fmt = &npt_fmt, .leaf_levels = 1u << PT_LEVEL_4K,
					  .ad = true, .flush = vcpu_flush_vm, .shadow = true };
		return 0;
	}
	out->fmt = &npt_fmt;
	out->shadow = false;
	out->leaf_levels = (1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M) |
			   (c->npt_1g ? 1u << PT_LEVEL_1G : 0);
	out->ad = true;
	out->flush = vcpu_flush_vm;
	return 0;
}
