/*
 * VMX operation on this CPU: VMXON and VMXOFF with every precondition of
 * SDM vol. 3C, 24.7 checked and each refusal naming the check that failed.
 */
#ifndef MINIHV_VMX_H
#define MINIHV_VMX_H

#include "vmx/vmx_caps.h"
#include "vmx/vmx_insn.h"
#include "arch/x86/arch.h"

struct vmx_cpu {
	bool on;
	uint64_t vmxon_pa;   /* 4 KiB VMXON region */
	unsigned long saved_cr0, saved_cr4;
	struct vmx_caps caps;
};

/* Each CPU's VMX state; hv_ready() turns VMX on there the first time. */
extern struct vmx_cpu vmx_cpus[NR_CPUS];
#define this_cpu (vmx_cpus[this_cpu_id()])
/* 0 when VMX is on; -ENODEV (no VMX) or another -errno with the reason in @why. */
int hv_ready(char *why, size_t len);

/* 0, or -ENODEV/-EPERM/-EINVAL/-EIO/-EBUSY with the reason in @why. */
int vmx_enable(struct vmx_cpu *c, char *why, size_t len);
void vmx_disable(struct vmx_cpu *c);

/*
 * The rest of vmx/'s public interface: other areas include vmx/vmx.h only
 * (scripts/check-layers.sh).
 */
#include "vmx/vcpu.h"
#include "vmx/ept_caps.h"
#include "vmx/dump.h"
#include "vmx/vmcs.h"

#endif
