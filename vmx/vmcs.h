/*
 * VMCS access. The width of every field is checked at compile time: writing
 * a 64-bit value to a 32-bit field (or the reverse) does not build.
 */
#ifndef MINIHV_VMCS_H
#define MINIHV_VMCS_H

#include "vmx/vmcs_defs.h"
#include "vmx/vmx_insn.h"
#include "arch/x86/arch.h"

#define VMCS_CHECK(f, w)                                                            \
	_Static_assert(__builtin_constant_p(f) && VMCS_WIDTH(f) == (w),             \
		       "VMCS field " #f " accessed with the wrong width")

#define vmcs_write16(f, v) ({ VMCS_CHECK(f, VMCS_W16); __vmwrite(f, (uint16_t)(v)); })
#define vmcs_write32(f, v) ({ VMCS_CHECK(f, VMCS_W32); __vmwrite(f, (uint32_t)(v)); })
#define vmcs_write64(f, v) ({ VMCS_CHECK(f, VMCS_W64); __vmwrite(f, (uint64_t)(v)); })
#define vmcs_writel(f, v) ({ VMCS_CHECK(f, VMCS_WNAT); __vmwrite(f, (unsigned long)(v)); })
#define vmcs_read16(f) ({ VMCS_CHECK(f, VMCS_W16); (uint16_t)__vmread(f); })
#define vmcs_read32(f) ({ VMCS_CHECK(f, VMCS_W32); (uint32_t)__vmread(f); })
#define vmcs_read64(f) ({ VMCS_CHECK(f, VMCS_W64); (uint64_t)__vmread(f); })
#define vmcs_readl(f) ({ VMCS_CHECK(f, VMCS_WNAT); __vmread(f); })

/* RIP past the instruction that exited (its length is in the VMCS). */
static inline void vmcs_skip_instruction(void)
{
	vmcs_writel(GUEST_RIP, vmcs_readl(GUEST_RIP) + vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/* Names for diagnostics (vmx/names.c). */
const char *vm_instruction_error_name(unsigned err);
const char *exit_reason_name(unsigned reason);

#endif
