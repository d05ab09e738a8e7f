/*
 * The VMX instructions, one line each. VMfail (CF or ZF set: SDM vol. 3C,
 * 31.2 "Conventions") is -EIO; the pointer operand of VMXON, VMCLEAR and
 * VMPTRLD is a 64-bit physical address in memory.
 */
#ifndef MINIHV_VMX_INSN_H
#define MINIHV_VMX_INSN_H

#include "lib/lib.h"
#include "arch/x86/arch.h"

#define VMX_PA_INSN(insn, pa)                                                          \
	({                                                                             \
		bool __fail;                                                           \
		__asm__ __volatile__(insn " %1; setbe %0"                              \
				     : "=q"(__fail) : "m"(pa) : "cc", "memory");       \
		__fail ? -EIO : 0;                                                     \
	})

static inline int vmxon(uint64_t pa)
{
	return VMX_PA_INSN("vmxon", pa);
}

static inline void vmxoff(void)
{
	__asm__ __volatile__("vmxoff" ::: "cc", "memory");
}

static inline int vmclear(uint64_t pa)
{
	return VMX_PA_INSN("vmclear", pa);
}

static inline int vmptrld(uint64_t pa)
{
	return VMX_PA_INSN("vmptrld", pa);
}

static inline int __vmwrite(unsigned long field, unsigned long v)
{
	bool fail;

	__asm__ __volatile__("vmwrite %2, %1; setbe %0"
			     : "=q"(fail)
			     : "r"(field), "rm"(v)
			     : "cc", "memory");
	return fail ? -EIO : 0;
}

static inline unsigned long __vmread(unsigned long field)
{
	unsigned long v = 0;

	__asm__ __volatile__("vmread %1, %0" : "+rm"(v) : "r"(field) : "cc");
	return v;
}

#endif
