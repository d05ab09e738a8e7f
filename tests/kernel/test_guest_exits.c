/* Guests that exercise each exit minihv handles. Run under Bochs/KVM; skip without VMX. */
#include "tests/kernel/guest_util.h"
#include "arch/x86/cpu.h"
#include "ept/ept_fmt.h"
#include "lib/kstring.h"

KTEST(guest_cpuid)
{
	struct guest g;

	if (!test_guest_create(&g, TG_CPUID, 0, 0))
		return;
	test_guest_run_ok(&g);
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_CPUID], 2);
	/*
	 * The state dump=vcpu and hv-vcpu show, as the guest left it: the entry
	 * state of guest/ABI.md (caches on: CD and NW clear), RIP in the image.
	 */
	const struct vcpu_snapshot *sn = &g.vcpu.snap;
	CHECK_EQ(sn->cr0, 0x80000033);
	CHECK_EQ(sn->cr4, 0x620);
	CHECK_EQ(sn->cr3, 0x1000);
	CHECK_EQ(sn->efer, 0x500);
	CHECK(sn->rip > 0x100000 && sn->rip < 0x200000 && sn->rflags == 0x2,
	      "RIP %#llx RFLAGS %#llx", (unsigned long long)sn->rip,
	      (unsigned long long)sn->rflags);
	CHECK(sn->rsp <= TEST_RAM && sn->rsp > TEST_RAM - 0x10000, "RSP %#llx",
	      (unsigned long long)sn->rsp);
	guest_destroy(&g);
}

KTEST(guest_hlt)
{
	struct guest g;

	if (!test_guest_create(&g, TG_HLT, 0, 0))
		return;
	CHECK_EQ(guest_run(&g), STOP_HLT);
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_HLT], 1);
	CHECK(strstr(g.vcpu.stop_reason, "halted"), "reason: %s", g.vcpu.stop_reason);
	guest_destroy(&g);
}

KTEST(guest_hypercalls)
{
	struct guest g;

	if (!test_guest_create(&g, TG_HYPERCALLS, 0, 0))
		return;
	test_guest_run_ok(&g);
	/* 7 calls checked by the guest (the bad ones get errors back) + HC_EXIT. */
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_HYPERCALL], 8);
	CHECK_EQ(g.vcpu.stats.hypercalls, 8);
	guest_destroy(&g);
}

KTEST(guest_serial)
{
	struct guest g;

	if (!test_guest_create(&g, TG_SERIAL, 0, 0))
		return;
	test_guest_run_ok(&g);
	/* "serial console works\n": 21 THR writes, each after at least one LSR read. */
	CHECK(g.vcpu.stats.io_exits >= 42, "only %llu I/O exits",
	      (unsigned long long)g.vcpu.stats.io_exits);
	guest_destroy(&g);
}

KTEST(guest_mwait)
{
	struct guest g;

	if (!(cpuid(1).ecx & CPUID_1_ECX_MONITOR)) {
		ktest_skip("the CPU has no MONITOR/MWAIT");
		return;
	}
	if (!test_guest_create(&g, TG_MWAIT, 0, 0))
		return;
	/* Both exit and are skipped: the guest cannot park the CPU. */
	test_guest_run_ok(&g);
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_MONITOR], 1);
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_MWAIT], 1);
	guest_destroy(&g);
}

KTEST(guest_triple_fault)
{
	struct guest g;
	const char *why = g.vcpu.stop_reason;

	if (!test_guest_create(&g, TG_TRIPLE_FAULT, 0, 0))
		return;
	CHECK_EQ(guest_run(&g), STOP_TRIPLE_FAULT);
	/*
	 * UD2 with no IDT: #UD, #GP delivering it, #DF, #GP delivering that:
	 * shutdown. The #GP's error code names IDT entry 6 (SDM 3A, 6.13); QEMU
	 * TCG reports vector * 16 + 2 in 64-bit mode instead (do_interrupt64()
	 * in its target/i386/tcg/seg_helper.c), which the message names as such
	 * rather than as entry 12.
	 */
	CHECK(strstr(why, "#UD (vector 6)") && strstr(why, "#GP (vector 13") &&
	      (strstr(why, "error 0x33 = IDT entry 6)") ||
	       (strstr(why, "error 0x62 = IDT entry 6*)") &&
		strstr(why, "(*QEMU's error code, vector * 16 + 2)"))) &&
	      !strstr(why, "IDT entry 12") &&
	      strstr(why, "#DF (vector 8, error 0x0)") &&
	      strstr(why, "IDT limit 0x0"), "reason does not name the exceptions: %s", why);
	/* Under shadow paging #PF exits that were minihv's own come on top. */
	CHECK_EQ(g.vcpu.stats.exits[VEXIT_EXCEPTION] - g.vcpu.stats.pf_absorbed, 4);
	guest_destroy(&g);
}

KTEST(guest_watchdog)
{
	struct guest g;

	if (!test_guest_create(&g, TG_LOOP, 0, 0))
		return;
	if (!g.vcpu.hw.timer_value) {
		CHECK(0, "the CPU offers no VMX-preemption timer: a runaway guest cannot be stopped");
		guest_destroy(&g);
		return;
	}
	if (g.vcpu.hw.lapic_watchdog) {
		/*
		 * No VMX-preemption timer (Core 2): the watchdog counts local APIC
		 * timer interrupts (vmx/vcpu.c). Bochs 2.7's core2_penryn_t9600
		 * turns no external interrupt into a VM exit while its guest
		 * runs (its timer does fire in the host), so this loop would
		 * never end there: measured, not assumed (issue 15's note).
		 */
		ktest_skip("no VMX-preemption timer: the local-APIC watchdog needs external-interrupt "
			   "exits, which this CPU model does not deliver under Bochs 2.7");
		guest_destroy(&g);
		return;
	}
	g.vcpu.timer_slices_left = 3;
	uint64_t t0 = rdtsc();
	CHECK_EQ(guest_run(&g), STOP_WATCHDOG);
	uint64_t spent = rdtsc() - t0;
	/*
	 * A slice per timer period without an exit of the guest's own. Under
	 * the local APIC's periodic timer (SVM) the first periods also hold
	 * the guest's first faults, so they may be free: at most one per
	 * exit of the guest's (guest/ABI.md).
	 */
	const struct vcpu_stats *st = &g.vcpu.stats;
	uint64_t ticks = st->exits[VEXIT_TIMER];
	uint64_t own = st->exits_total - ticks - st->exits[VEXIT_INTR];
	bool svm = g.vcpu.be == &svm_backend;
	CHECK(ticks == 3 || (ticks > 3 && ticks <= 3 + own && svm),
	      "%llu timer exits, %llu exits of the guest's", (unsigned long long)ticks,
	      (unsigned long long)own);
	guest_destroy(&g);
	/*
	 * A guest that exits all the time (CPUID) uses no slice however long
	 * it runs, on the same budget. (Not a budget of one: the local APIC's
	 * timer counts host time too, and under TCG on a busy host two ticks
	 * can come with no guest instruction between them.) With that timer
	 * (SVM) a tick often lands while the host handles an exit, so the
	 * loop runs 60 times as long as the one above, long enough that at
	 * least 3 ticks come in guest mode: the budget a watchdog counting
	 * time would have spent (at 3 times as long its mutant survived 1 of 2
	 * clean-clone runs; at 30 times, a clean-clone run under mmu=shadow,
	 * beside the mutants, saw only 2).
	 * VMX's preemption timer counts guest time alone: 3 times suffices.
	 */
	if (!test_guest_create(&g, TG_CPUID_SPIN, (svm ? 60 : 3) * spent, 0))
		return;
	g.vcpu.timer_slices_left = 3;
	test_guest_run_ok(&g);
	if (svm)
		CHECK(g.vcpu.stats.exits[VEXIT_TIMER] >= 3, "%llu timer exits in guest mode: the "
		      "guest did not outlive its budget", (unsigned long long)g.vcpu.stats.exits[VEXIT_TIMER]);
	guest_destroy(&g);
}

KTEST(guest_bad_gpa)
{
	struct guest g;

	if (!test_guest_create(&g, TG_READ, 3 * SZ_1G + 0x1234, 0))
		return;
	CHECK_EQ(guest_run(&g), STOP_BAD_GPA);
	CHECK(strstr(g.vcpu.stop_reason, "0xc0001234") && strstr(g.vcpu.stop_reason, "RIP"),
	      "reason does not name the address and RIP: %s", g.vcpu.stop_reason);
	guest_destroy(&g);
}

KTEST(guest_readonly_slot)
{
	struct guest g;

	/* Reading a read-only slot works ... */
	if (!test_guest_create(&g, TG_READ, SZ_1G + 8, 0))
		return;
	if (test_guest_add_ram(&g, SZ_1G, SZ_2M, PT_LEVEL_4K, MEMSLOT_READONLY, 0))
		test_guest_run_ok(&g);
	guest_destroy(&g);
	/* ... writing it stops the guest. */
	if (!test_guest_create(&g, TG_WRITE, SZ_1G + 8, 0))
		return;
	if (test_guest_add_ram(&g, SZ_1G, SZ_2M, PT_LEVEL_4K, MEMSLOT_READONLY, 0)) {
		CHECK_EQ(guest_run(&g), STOP_READONLY);
		CHECK(strstr(g.vcpu.stop_reason, "0x40000008"), "reason: %s", g.vcpu.stop_reason);
	}
	guest_destroy(&g);
}

KTEST(guest_ept_misconfig)
{
	struct guest g;
	char why[160];
	int level;

	if (!test_guest_create(&g, TG_READ, SZ_1G, 0))
		return;
	if (!test_guest_add_ram(&g, SZ_1G, SZ_2M, PT_LEVEL_4K, 0, 0))
		goto out;
	/* Map the page the guest will read, then break its entry on purpose. */
	pte_t *e;
	if (g.vm.shadow) {
		/*
		 * Shadow paging: the guest's #PF at 1 GiB, taken here, builds the
		 * leaf; a reserved bit in it makes the CPU raise #PF with RSVD.
		 */
		uint32_t err = 0;
		CHECK(vcpu_shadow_page_fault(&g.vcpu, SZ_1G, &err), "the fault was reflected");
		e = shadow_leaf_of(&g.vm, SZ_1G >> PAGE_SHIFT);
	} else {
		CHECK_EQ(mmu_fault(&g.vm, SZ_1G, PT_PROT_R, why, sizeof(why)), 0);
		e = pt_find_leaf(&g.vm.ept, SZ_1G, &level);
	}
	if (!CHECK(e != NULL, "no second-level leaf after the fault"))
		goto out;
	*e = g.vcpu.be == &svm_backend || g.vm.shadow ? npt_misconfigured_entry(*e)
						      : ept_misconfigured_entry(*e);
	vm_flush_ept(&g.vm);
	printk("# a VM-bug message below is deliberate\n");
	CHECK_EQ(guest_run(&g), STOP_BUGGED);
	CHECK(g.vm.bugged);
	if (g.vm.shadow) /* the #PF with RSVD set on our entry, not the guest's */
		CHECK(strstr(g.vm.bug_reason, "X86_PF_RSVD"), "bug reason: %s", g.vm.bug_reason);
	else
		CHECK_EQ(g.vcpu.stats.exits[VEXIT_TDP_MISCONFIG], 1);
out:
	guest_destroy(&g);
}
