/*
 * The secondary MMU's view of VMX: which EPT leaves the CPU takes, whether
 * it keeps accessed/dirty bits, and the flush (INVEPT). ept/ never reads the
 * VMX capability MSRs itself (struct mmu_caps in ept/vm.h).
 */
#include "vmx/ept_caps.h"
#include "vmx/exits.h"
#include "vmx/vmx.h"
#include "lib/lib.h"

/* INVEPT types (SDM 3C, 30.3, "INVEPT"). */
#define INVEPT_SINGLE 1
#define INVEPT_GLOBAL 2

static void invept(unsigned long type, uint64_t eptp)
{
	struct {
		uint64_t eptp, reserved;
	} desc = { eptp, 0 };

	__asm__ __volatile__("invept %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

/* This CPU only (virt/remote.c reaches the others); single-context where offered. */
void vmx_flush_local(struct vcpu *v)
{
	if (v->vm->shadow) {
		vmx_shadow_flush_local(v);
		return;
	}
	invept(this_cpu.caps.invept_single ? INVEPT_SINGLE : INVEPT_GLOBAL,
	       ept_pointer(v->vm->ept.root, v->vm->ept_ad));
}

int vmx_mmu_caps(const struct vmx_caps *c, bool shadow, struct mmu_caps *out, char *err,
		 size_t errlen)
{
	if (shadow || !c->ept) {
		/* Shadow paging: the guest's own tables, shadowed (ept/shadow.c). */
		*out = (struct mmu_caps){ .fmt = &npt_fmt, .leaf_levels = 1u << PT_LEVEL_4K,
					  .ad = true, .flush = vcpu_flush_vm, .shadow = true };
		return 0;
	}
	if (!c->ept || !c->ept_walk4 || !c->ept_wb) {
		/* "no EPT:" is what the test runner expects of an honest skip (scripts/test.sh). */
		ksnprintf(err, errlen, "no EPT: this CPU's VMX has no EPT with a 4-level walk and "
			  "write-back memory (IA32_VMX_PROCBASED_CTLS2[33], IA32_VMX_EPT_VPID_CAP[6,14])");
		return -EOPNOTSUPP;
	}
	if (!c->invept || !(c->invept_single || c->invept_all)) {
		ksnprintf(err, errlen, "no EPT: its INVEPT has neither the single-context "
			  "nor the global type");
		return -EOPNOTSUPP;
	}
	out->fmt = &ept_fmt;
	out->shadow = false;
	out->leaf_levels = (1u << PT_LEVEL_4K) | (c->ept_2m ? 1u << PT_LEVEL_2M : 0) |
			   (c->ept_1g ? 1u << PT_LEVEL_1G : 0);
	out->ad = c->ept_ad;
	out->flush = vcpu_flush_vm;
	return 0;
}
