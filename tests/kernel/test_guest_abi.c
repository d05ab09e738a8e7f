/*
 * The guest ABI as guest/ABI.md states it: a module guest's HC_YIELD, the
 * emulated MSRs and the message for the others, COM1's registers and the
 * console line, SSE in the entry state, exceptions recorded for the
 * triple-fault message yet delivered faithfully to a guest's own IDT.
 * Run under Bochs/KVM; skipped without VMX (guest_console_escape runs anywhere).
 */
#include "virt/console.h"
#include "tests/kernel/guest_util.h"
#include "mm/hostpt.h"
#include "lib/kstring.h"
#include "arch/x86/msr.h"
#include "boot/run_guest.h"

KTEST(guest_module_yield)
{
	struct guest probe;
	struct boot_module m = { .name = "guest" };
	struct boot_info bi = { .nmodules = 0 };

	/* Skip exactly where the other guest tests skip (no VMX, no EPT). */
	if (!test_guest_create(&probe, TG_CPUID, 0, 0))
		return;
	guest_destroy(&probe);
	/* The demo guest, run as kmain runs the "guest" module: it yields 3 times, wants 0 back. */
	m.start = (uint64_t)hello_image.start;
	m.end = (uint64_t)hello_image.end;
	bool pass;

	CHECK_EQ(run_guest_module(&bi, &m, &pass), EXIT_PASS);
	CHECK(pass);
}

KTEST(guest_msr)
{
	struct guest g;

	if (!test_guest_create(&g, TG_MSR, 0, 0))
		return;
	test_guest_run_ok(&g);
	guest_destroy(&g);
}

/* The guest touches @msr (@write: WRMSR of 0x1234) and must stop with a message naming it. */
static void msr_refused(uint32_t msr, uint64_t write, const char *want, const char *want2)
{
	struct guest g;
	const char *why = g.vcpu.stop_reason;

	if (!test_guest_create(&g, TG_MSR_UNKNOWN, msr, write))
		return;
	CHECK_EQ(guest_run(&g), STOP_UNHANDLED);
	CHECK(strstr(why, want) && strstr(why, want2) && strstr(why, "at RIP 0x"), "reason: %s",
	      why);
	guest_destroy(&g);
}

KTEST(guest_msr_unknown)
{
	msr_refused(MSR_KERNEL_GS_BASE, 0, "RDMSR of MSR 0xc0000102 (IA32_KERNEL_GS_BASE)",
		    "not emulated");
	msr_refused(0x12345, 0, "RDMSR of MSR 0x12345 (unknown MSR)", "not emulated");
	msr_refused(MSR_LSTAR, 1, "WRMSR of 0x1234 to MSR 0xc0000082 (IA32_LSTAR)", "not emulated");
	msr_refused(MSR_IA32_TSC, 1, "MSR 0x10 (IA32_TSC)", "read-only");
	msr_refused(MSR_EFER, 1, "MSR 0xc0000080 (IA32_EFER)", "only SCE, LME and NXE may be set");
}

KTEST(guest_console_escape)
{
	static const struct {
		uint8_t c;
		const char *shown;
	} cases[] = {
		{ 'a', "a" }, { ' ', " " }, { '~', "~" }, { '\t', "\t" }, { '\r', "" },
		{ 0, "\\x00" }, { 0x1b, "\\x1b" }, { 0x07, "\\x07" }, { 0x7f, "\\x7f" },
		{ 0x80, "\\x80" }, { 0xff, "\\xff" },
	};
	char out[4];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = console_escape(cases[i].c, out);

		CHECK(n == strlen(cases[i].shown) && !memcmp(out, cases[i].shown, n),
		      "byte %#x shown as '%.*s', want '%s'", cases[i].c, (int)n, out,
		      cases[i].shown);
	}
}

KTEST(guest_uart)
{
	struct guest g;

	if (!test_guest_create(&g, TG_UART, 0, 0))
		return;
	/* The guest's register checks passed if it got to its yield. */
	enum vcpu_stop s = guest_run(&g);
	if (CHECK(s == STOP_YIELD, "guest stopped: %s (%s), code %ld", vcpu_stop_name(s),
		  g.vcpu.stop_reason, g.vcpu.exit_code)) {
		const char *want = TG_UART_SHOWN;

		CHECK(g.vcpu.line.len == strlen(want) && !memcmp(g.vcpu.line.buf, want, strlen(want)),
		      "console line '%.*s', want '%s'", (int)g.vcpu.line.len, g.vcpu.line.buf, want);
		vcpu_resume(&g.vcpu);
		test_guest_run_ok(&g);
	}
	guest_destroy(&g);
}

KTEST(guest_sse)
{
	struct guest g;

	if (!test_guest_create(&g, TG_SSE, 0, 0))
		return;
	test_guest_run_ok(&g);
	guest_destroy(&g);
}

/* Two vCPUs, one paused mid-way: neither sees the other's MXCSR or XMM registers. */
KTEST(guest_sse_isolation)
{
	static struct guest a, b;

	if (!test_guest_create(&a, TG_SSE, 0, 1))
		return;
	enum vcpu_stop s = guest_run(&a);
	if (CHECK(s == STOP_YIELD && a.vcpu.exit_code == 1, "guest stopped: %s (%s), code %ld",
		  vcpu_stop_name(s), a.vcpu.stop_reason, a.vcpu.exit_code)) {
		if (test_guest_create(&b, TG_SSE, 0, 0)) /* starts from the reset state */
			test_guest_run_ok(&b);
		guest_destroy(&b);
		vcpu_resume(&a.vcpu); /* finds its own state again */
		test_guest_run_ok(&a);
	}
	guest_destroy(&a);
}

KTEST(guest_triple_fault_pf)
{
	struct guest g;
	const char *why = g.vcpu.stop_reason;

	/* 4 GiB + 0x40 is not in the guest's page tables. */
	if (!test_guest_create(&g, TG_PAGE_FAULT, 0x100000040ULL, 0))
		return;
	CHECK_EQ(guest_run(&g), STOP_TRIPLE_FAULT);
	CHECK(strstr(why, "#PF (vector 14, error 0x0 = not-present read, CR2 0x100000040)") &&
	      strstr(why, "#DF (vector 8"), "reason: %s", why);
	guest_destroy(&g);
}

KTEST(guest_exceptions)
{
	struct guest g;
	uint64_t fresh, old;

	if (!test_guest_create(&g, TG_EXCEPTIONS, 0, 0))
		return;
	enum vcpu_stop s = guest_run(&g);
	if (!CHECK(s == STOP_YIELD, "guest stopped: %s (%s), code %ld", vcpu_stop_name(s),
		   g.vcpu.stop_reason, g.vcpu.exit_code))
		goto out;
	/*
	 * Move the page holding the guest's IDT: EPT forgets it, so delivering
	 * the first exception takes an EPT violation half-way, and minihv must
	 * deliver the exception again on the next entry (one exit, not two).
	 */
	uint64_t hva = (uint64_t)vm_gpa_to_host(&g.vm, (uint64_t)g.vcpu.exit_code, 1, false);
	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh), 0))
		goto out;
	if (!CHECK_EQ(mm_migrate(&host_mm, ALIGN_DOWN(hva, PAGE_SIZE), fresh, &old), 0)) {
		frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
		goto out;
	}
	uint64_t ept_violations = g.vm.stats.ept_violations;
	vcpu_resume(&g.vcpu);
	test_guest_run_ok(&g); /* its handlers saw what hardware would have pushed */
	/* Under shadow paging #PF exits that were minihv's own come on top. */
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_EXCEPTION] - g.vcpu.stats.pf_absorbed,
		 TG_EXCEPTIONS_EXITS);
	CHECK(g.vm.stats.ept_violations > ept_violations, "the IDT was not faulted in again");
	frame_free(&phys_frames, old, FRAME_ORDER_4K);
out:
	guest_destroy(&g);
}
