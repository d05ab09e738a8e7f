/* Private to vmx/: what the exit handlers in several files share (vmx/exits.c). */
#ifndef MINIHV_EXITS_H
#define MINIHV_EXITS_H

#include "vmx/vcpu.h"

/* Resume after the exiting instruction (VM-exit instruction length). */
void vmx_skip_instruction(struct vcpu *v);
/* Shadow paging (vmx/shadow.c). */
void vmx_shadow_flush_local(struct vcpu *v);
void vmx_set_cr(struct vcpu *v, unsigned cr, uint64_t guest, uint64_t hw);
void vmx_set_rip(struct vcpu *v, uint64_t rip);
void vmx_handle_cr_access(struct vcpu *v, uint64_t qual);
uint64_t vmx_guest_rip(struct vcpu *v);
uint64_t vmx_get_msr(struct vcpu *v, uint32_t msr);
void vmx_set_msr(struct vcpu *v, uint32_t msr, uint64_t val);

#endif
