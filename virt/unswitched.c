/*
 * Guest state that VM entry and exit do not switch: the x87/MMX/SSE
 * registers and CR2. The host is built with -mgeneral-regs-only and never
 * executes an x87, MMX or SSE instruction, and takes no page fault while a
 * guest runs, so while a vCPU runs these stay in the CPU across VM exits
 * untouched: nothing is saved or restored per exit, and no exit handler can
 * corrupt them (the #PF re-injection writes CR2 on purpose, as the CPU
 * would have). They are swapped only around vcpu_run(), so that each vCPU
 * (the tests run many, and interleave some) starts from the reset state
 * and never sees another's values. Only FXSAVE state exists for a guest: it
 * cannot enable AVX (XSETBV exits and is not emulated).
 *
 * XCR0 is the same kind of state: neither VMX nor SVM switches it (SDM 3C
 * 27.3, APM vol. 2 15.5.1), the host never uses what it enables (no XSAVE,
 * no AVX: CR4.OSXSAVE stays clear), so the guest's value is loaded when
 * vcpu_run() starts and the host's put back when it returns. XSETBV exits
 * on both backends, so today the guest's XCR0 is its reset value; the swap
 * still keeps the host's XCR0 the host's on a CPU that ignores the XSETBV
 * intercept (QEMU 7.2 TCG does), and keeps one vCPU's value from the next.
 */
#include "virt/unswitched.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

static uint8_t *fxsave_area(const struct vcpu_unswitched *u)
{
	return (uint8_t *)ALIGN_UP((uintptr_t)u->fxsave, 16);
}

void vcpu_unswitched_init(struct vcpu_unswitched *u)
{
	uint16_t fcw = X86_FCW_RESET;
	uint32_t mxcsr = X86_MXCSR_RESET;

	memset(u, 0, sizeof(*u));
	memcpy(fxsave_area(u) + FXSAVE_FCW, &fcw, sizeof(fcw));
	memcpy(fxsave_area(u) + FXSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
	u->xcr0 = XCR0_X87; /* its value at reset (SDM vol. 1, 13.3) */
	u->xsave = cpuid(1).ecx & CPUID_1_ECX_XSAVE;
	/* FXSAVE/FXRSTOR move the XMM registers only with CR4.OSFXSR; TS or EM make them #NM. */
	write_cr4(read_cr4() | X86_CR4_OSFXSR);
	write_cr0(read_cr0() & ~(X86_CR0_TS | X86_CR0_EM));
}

/*
 * XGETBV and XSETBV need CR4.OSXSAVE, which the host keeps clear (with it
 * set, the host's CPUID would show the guest OSXSAVE = 1): set for the swap.
 */
static void swap_xcr0(uint64_t *save_to, uint64_t load)
{
	unsigned long cr4 = read_cr4();

	write_cr4(cr4 | X86_CR4_OSXSAVE);
	*save_to = xgetbv(0);
	if (*save_to != load)
		xsetbv(0, load);
	write_cr4(cr4);
}

void vcpu_unswitched_load(struct vcpu_unswitched *u)
{
	fxrstor64(fxsave_area(u));
	write_cr2(u->cr2);
	if (u->xsave)
		swap_xcr0(&u->host_xcr0, u->xcr0);
}

void vcpu_unswitched_save(struct vcpu_unswitched *u)
{
	fxsave64(fxsave_area(u));
	u->cr2 = read_cr2();
	if (u->xsave)
		swap_xcr0(&u->xcr0, u->host_xcr0);
}

void vcpu_unswitched_set_xcr0(struct vcpu_unswitched *u, uint64_t xcr0)
{
	uint64_t old;

	u->xcr0 = xcr0;
	if (u->xsave)
		swap_xcr0(&old, xcr0);
}
