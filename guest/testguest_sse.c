/*
 * Ordinary C built WITH SSE: the Makefile compiles this one file without
 * -mgeneral-regs-only, as a user's guest would be compiled. Doubles, vector
 * types and MXCSR work because the entry state sets CR0.MP, CR4.OSFXSR and
 * CR4.OSXMMEXCPT with CR0.EM/TS clear (guest/ABI.md); without them the first
 * SSE instruction raises #UD.
 */
#include "guest/guest.h"
#include "guest/testguest_abi.h"

#define MXCSR_ROUND_ZERO 0x6000 /* MXCSR.RC = 11b: round toward zero */
#define XMM15_PATTERN 0x1122334455667788ULL

typedef double v2df __attribute__((vector_size(16)));

static uint32_t stmxcsr(void)
{
	uint32_t m;

	__asm__ __volatile__("stmxcsr %0" : "=m"(m));
	return m;
}

static void ldmxcsr(uint32_t m)
{
	__asm__ __volatile__("ldmxcsr %0" ::"m"(m));
}

static uint64_t xmm15(void)
{
	uint64_t v;

	__asm__ __volatile__("movq %%xmm15, %0" : "=r"(v));
	return v;
}

/*
 * @yield: change MXCSR and XMM15, then yield 1 so the host can run another
 * guest, and check both survived it. Without it, check this vCPU started
 * from the reset state whatever ran before.
 */
long tg_sse(uint64_t yield)
{
	if (stmxcsr() != X86_MXCSR_RESET || xmm15() != 0)
		return 1; /* another guest's state, or not the reset state */

	/* sum 1/k^2, k = 1..1000 (pi^2/6 - 0.0009995): scalar double arithmetic */
	volatile int n = 1000;
	double s = 0;
	for (int k = 1; k <= n; k++)
		s += 1.0 / ((double)k * k);
	if ((long)(s * 1e6) != 1643934)
		return 2;
	volatile v2df a = { 1.5, 2.5 }, b = { 4.0, 8.0 };
	v2df c = a * b;
	if (c[0] + c[1] != 26.0)
		return 3;

	/* XMM registers stay the guest's across exits (a CPUID, a hypercall). */
	__asm__ __volatile__("movq %0, %%xmm15" ::"r"(XMM15_PATTERN) : "xmm15");
	cpuid(0);
	hypercall(HC_WRITE, 0, 0);
	if (xmm15() != XMM15_PATTERN)
		return 4;
	if (yield) {
		ldmxcsr(X86_MXCSR_RESET | MXCSR_ROUND_ZERO);
		if (hypercall(HC_YIELD, 1, 0) != 0)
			return 5;
		if (stmxcsr() != (X86_MXCSR_RESET | MXCSR_ROUND_ZERO) || xmm15() != XMM15_PATTERN)
			return 6;
		ldmxcsr(X86_MXCSR_RESET);
	}
	return 0;
}
