/* Exceptions: expected ones through probes, unexpected ones caught by the harness. */
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "mm/hostpt.h"
#include "lib/kstring.h"
#include "lib/ksyms.h"
#include "lib/ktest.h"
#include "arch/x86/msr.h"
#include "arch/x86/traps.h"

KTEST(traps_probe_ud_pf)
{
	uint64_t v = 0;

	CHECK_EQ(probe_ud(), X86_EXC_UD);
	CHECK_EQ(probe_read64((void *)(HOST_DYN_BASE + 0x7000000000ULL), &v), X86_EXC_PF);
	CHECK_EQ(read_cr2(), HOST_DYN_BASE + 0x7000000000ULL);
	CHECK_EQ(probe_read64(&v, &v), -1);
	/* A non-canonical address raises #GP, not #PF. */
	CHECK_EQ(probe_read64((void *)0x8000000000000000ULL, &v), X86_EXC_GP);
	CHECK_EQ(probe_rdmsr(MSR_EFER, &v), -1);
	CHECK(v & EFER_LMA, "EFER %#llx: long mode not active", (unsigned long long)v);
}

static void deliberate_ud(void)
{
	__asm__ __volatile__("ud2");
}

static void deliberate_pf(void)
{
	*(volatile uint64_t *)(HOST_DYN_BASE + 0x7100000000ULL) = 1;
}

KTEST(traps_unexpected_caught)
{
	struct trap_frame f;

	/* The same path that abandons a faulting test; here it reports back. */
	printk("# the two exception dumps below are deliberate\n");
	CHECK(ktest_catch(deliberate_ud, &f), "ud2 was not caught");
	CHECK_EQ(f.vector, X86_EXC_UD);
	uint64_t off;
	const char *where = ksym_lookup(f.rip, &off);
	CHECK(where && !strcmp(where, "deliberate_ud"), "RIP in %s", where ? where : "?");
	CHECK(ktest_catch(deliberate_pf, &f), "page fault was not caught");
	CHECK_EQ(f.vector, X86_EXC_PF);
	CHECK_EQ(f.error & 2, 2); /* a write */
}
