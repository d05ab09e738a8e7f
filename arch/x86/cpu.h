/* Control registers, CPUID bits and one-line wrappers for privileged instructions. */
#ifndef MINIHV_CPU_H
#define MINIHV_CPU_H

#include "arch/x86/compiler.h"

#define X86_CR0_PE (1UL << 0)
#define X86_CR0_MP (1UL << 1)
#define X86_CR0_EM (1UL << 2)
#define X86_CR0_TS (1UL << 3)
#define X86_CR0_ET (1UL << 4)
#define X86_CR0_NE (1UL << 5)
#define X86_CR0_WP (1UL << 16)
#define X86_CR0_NW (1UL << 29)
#define X86_CR0_CD (1UL << 30)
#define X86_CR0_PG (1UL << 31)

#define X86_CR4_PSE (1UL << 4)
#define X86_CR4_PAE (1UL << 5)
#define X86_CR4_PGE (1UL << 7)
#define X86_CR4_OSFXSR (1UL << 9)     /* FXSAVE/FXRSTOR and SSE instructions enabled */
#define X86_CR4_OSXMMEXCPT (1UL << 10) /* unmasked SSE exceptions raise #XM, not #UD */
#define X86_CR4_VMXE (1UL << 13)
#define X86_CR4_LA57 (1UL << 12)
#define X86_CR4_PCIDE (1UL << 17)
#define X86_CR4_OSXSAVE (1UL << 18) /* XSETBV/XGETBV enabled */
#define X86_CR4_SMEP (1UL << 20)
#define X86_CR4_SMAP (1UL << 21)
#define X86_CR4_PKE (1UL << 22)

#define X86_RFLAGS_IF (1UL << 9)
#define X86_RFLAGS_DF (1UL << 10)
#define X86_RFLAGS_TF (1UL << 8)
#define X86_RFLAGS_RF (1UL << 16)

/* CPUID feature bits: leaf 1 ECX/EDX, leaf 0x80000001 EDX (SDM vol. 2A, CPUID). */
#define CPUID_1_ECX_MONITOR (1u << 3)
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_EDX_NX (1u << 20)
#define CPUID_80000001_EDX_PDPE1GB (1u << 26)
#define CPUID_80000001_EDX_LM (1u << 29)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;

	__asm__ __volatile__("cpuid"
			     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			     : "a"(leaf), "c"(sub));
	return r;
}

/* A 48-bit canonical address: bits 63:47 all equal (SDM 3A, 3.3.7.1). */
static inline bool x86_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
	return cpuid_count(leaf, 0);
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			     : "memory");
}

#define DEFINE_CR(n)                                                                 \
	static inline unsigned long read_cr##n(void)                                 \
	{                                                                            \
		unsigned long v;                                                     \
		__asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v));                \
		return v;                                                            \
	}                                                                            \
	static inline void write_cr##n(unsigned long v)                              \
	{                                                                            \
		__asm__ __volatile__("mov %0, %%cr" #n ::"r"(v) : "memory");         \
	}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline unsigned long read_rflags(void)
{
	unsigned long v;

	__asm__ __volatile__("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void invlpg(uint64_t va)
{
	__asm__ __volatile__("invlpg (%0)" ::"r"(va) : "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* XCR0 (SDM vol. 1, 13.3): both need CR4.OSXSAVE, or they raise #UD. */
#define XCR0_X87 (1ULL << 0)
#define XCR0_SSE (1ULL << 1)
#define XCR0_AVX (1ULL << 2)

static inline uint64_t xgetbv(uint32_t xcr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv(uint32_t xcr, uint64_t val)
{
	__asm__ __volatile__("xsetbv" ::"a"((uint32_t)val), "d"((uint32_t)(val >> 32)), "c"(xcr));
}

/* The 512-byte x87/MMX/SSE save area; @area must be 16-byte aligned (SDM vol. 1, 10.5). */
#define FXSAVE_SIZE 512
#define FXSAVE_FCW 0          /* x87 control word, 16 bits */
#define FXSAVE_MXCSR 24       /* 32 bits */
#define X86_FCW_RESET 0x037f  /* after FINIT: x87 exceptions masked, 64-bit precision */
#define X86_MXCSR_RESET 0x1f80 /* after reset: SSE exceptions masked, round to nearest */

static inline void fxsave64(void *area)
{
	__asm__ __volatile__("fxsaveq %0" : "=m"(*(char(*)[512])area));
}

static inline void fxrstor64(const void *area)
{
	__asm__ __volatile__("fxrstorq %0" ::"m"(*(const char(*)[512])area));
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

/*
 * Interrupts off: sleep until the next interrupt, take it, and return with
 * them off again (STI's one-instruction shadow: none slips in before HLT).
 */
static inline void cpu_wait_interrupt(void)
{
	__asm__ __volatile__("sti; hlt; cli" ::: "memory");
}

static inline __noreturn void cpu_halt_forever(void)
{
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

/*
 * Zero @n bytes at @p, then reload CR3 before the next stack access: one asm
 * block, so that nothing touches the stack in between. For clearing huge
 * pages under Bochs 2.7 (guest RAM above its 2 GiB host allocation), which
 * pages its RAM blocks to a file: choosing a block to evict, it skips those
 * its TLBs point into but not the one its stack cache (espHostPtr) points
 * into. Zeroing 1 GiB of fresh RAM evicts older blocks, the kernel stack's
 * included, and the `ret` after a plain memset() then reads the evicted,
 * reused and zeroed buffer: a return to 0. The CR3 reload drops that cache
 * (and flushes the TLB: the kernel has no global pages), so the next push
 * or pop pages the stack back in. On a real CPU it is one TLB flush more.
 */
static inline void clear_huge_and_flush_tlb(void *p, uint64_t n)
{
	uint64_t tmp;

	n /= 8; /* huge pages: whole quadwords, 8 times fewer iterations in Bochs */
	__asm__ __volatile__("rep stosq\n\t"
			     "mov %%cr3, %[tmp]\n\t"
			     "mov %[tmp], %%cr3"
			     : "+D"(p), "+c"(n), [tmp] "=&r"(tmp)
			     : "a"(0)
			     : "memory");
}

/*
 * Exception-safe probes (arch/x86/probe.asm): run one instruction and return
 * -1 if it completed, or the vector of the exception it raised. The trap
 * handler finds the instruction in the exception table and resumes after it.
 */
int probe_ud(void);
int probe_read64(const volatile void *addr, uint64_t *val);
int probe_write64(volatile void *addr, uint64_t val);
int probe_rdmsr(uint32_t msr, uint64_t *val);

#endif
