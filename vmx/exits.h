/* Private to vmx/: what the exit handlers in several files share (vmx/exits.c). */
#ifndef MINIHV_EXITS_H
#define MINIHV_EXITS_H

#include "vmx/vcpu.h"

/* Resume after the exiting instruction (VM-exit instruction length). */
void vcpu_skip_instruction(void);
/* VMCALL: the hypercalls of guest/ABI.md (vmx/hypercall.c). */
void vcpu_handle_vmcall(struct vcpu *v);

#endif
