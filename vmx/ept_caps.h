/* VMX's EPT as the secondary MMU sees it (vmx/ept_caps.c). */
#ifndef MINIHV_EPT_CAPS_H
#define MINIHV_EPT_CAPS_H

#include "ept/vm.h"
#include "vmx/vmx_caps.h"

/*
 * Fill @out from the VMX capabilities @c; -EOPNOTSUPP with "no EPT: ..." in
 * @err where this CPU's VMX cannot run a guest behind EPT.
 */
struct vcpu;
void vmx_flush_local(struct vcpu *v);
/* EPT where the CPU has it, unless @shadow; else shadow paging. */
int vmx_mmu_caps(const struct vmx_caps *c, bool shadow, struct mmu_caps *out, char *err,
		 size_t errlen);

#endif
