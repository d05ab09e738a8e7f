/*
 * `make bench` (kernel option `bench`): deterministic counts of the EPT fault
 * path next to their theoretical minimum, the CPUID exit and EPT-violation
 * round trips in TSC ticks as the guest measures them, and the invalidation
 * mix (boot/bench_inval.c). Printed, never asserted: the tests check the
 * counts that must be exact.
 *
 * Under Bochs the TSC advances by one per instruction retired, so a round
 * trip in ticks is the length of the exit path in instructions (the
 * EPT-violation one is mostly mmu_fault()). The CPUID one was 164
 * ticks and became 149 (issue 10); from the disassembly of that version:
 *   guest: the loop around CPUID, and the CPUID that exits            6
 *   vmx_run: frame and callee-saved pushes 8, HOST_RSP VMWRITE 3,
 *     15 guest register loads and the launched test 17, VMRESUME 1    29
 *   vmx_exit_entry: 15 guest register stores, pops, return value     26
 *   vcpu_run: exit reason and qualification VMREADs 10, statistics
 *     and `launched` 6, entry-result/entry-failed/info-area/exit-budget/
 *     stop/bugged checks 16, calls 6                                  38
 *   vcpu_handle_exit: prologue saving 5 registers and the frame of
 *     the handlers inlined into it 9, jump table 5, epilogue 12       26
 *   handle_cpuid: leaf checks 8, host CPUID 2, 4 register stores,
 *     RIP += instruction length (2 VMREADs, 1 VMWRITE) 10             24
 * The 15 removed: the preemption-timer VMWRITE before every entry (5; its
 * value never changes), CPUID results kept in memory and zero-extended on
 * their way to the guest registers (7), vcpu->vm loaded twice per exit (2),
 * guest RDI stored through RAX (1).
 * With the vendor-neutral vCPU (virt/, issue 13) it is 190 on Bochs Skylake:
 * the exit is counted in vcpu_account_exit() and classified by
 * vmx_exit_kind(), and CPUID's handler reaches RIP through be->rip and
 * be->skip_instruction, calls where there were inlined VMREADs. It was 234
 * after shadow paging and issue 21, 125 with the exit fast path (issue 22:
 * virt/fastpath.h, the inline entry checks of virt/vcpu.h and
 * arch/x86/smp.h); 312 and 129 on Bochs ryzen (SVM), whose NPT round trip
 * went from 1478 to 738 (its fault fast path too). The EPT-violation
 * round trip went from 1397 to 695 (vCPU memslot cache, one host walk
 * without copies, one EPT walk per leaf (pt_map_4k), the VMX fault fast
 * path, irq save/restore and the host lookup inline).
 */
#include "boot/bench.h"
#include "boot/budget.h"
#include "boot/run_guest.h"
#include "vmx/vmx.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "guest/testguest.h"

#define SZ_1G (1ULL << 30)
#define SZ_2M (2ULL << 20)
#define CPUID_ITERATIONS 1000

/* A round trip next to its budget (boot/budget.h), where ticks are instructions. */
static const char *budget_verdict(long ticks, unsigned long budget)
{
	static char buf[64];

	if (!emu_tsc_counts_instructions())
		return ", no budget here (TSC ticks are time)";
	ksnprintf(buf, sizeof(buf), ", budget %lu: %s", budget,
		  ticks > 0 && (unsigned long)ticks <= budget ? "within" : "OVER BUDGET");
	return buf;
}

int bench_guest(struct guest *g, uint64_t cmd, uint64_t arg, uint64_t arg2)
{
	char err[200];
	int r = guest_create(g, "bench", testguest_image.start,
			     (size_t)(testguest_image.end - testguest_image.start), 4ULL << 20, cmd,
			     arg, arg2, err, sizeof(err));

	if (r)
		printk("bench: cannot create the guest: %s\n", err);
	return r;
}

static void bench_touch(int backing)
{
	static const uint64_t minimum[] = { 0, 262144, 512, 1 };
	struct guest g;
	char err[200];

	if (!(host_leaf_levels() & (1u << backing))) {
		printk("bench: first touch of 1 GiB, %s backing: host has no such pages\n",
		       pt_level_name(backing));
		return;
	}
	if (bench_guest(&g, TG_TOUCH, SZ_1G, SZ_1G))
		return;
	int r = vm_add_ram(&g.vm, SZ_1G, SZ_1G, backing, 0, 0, err, sizeof(err));
	if (r) {
		printk("bench: %s backing: %s\n", pt_level_name(backing), err);
	} else {
		guest_run(&g);
		uint64_t min = minimum[backing];
		if (backing == PT_LEVEL_1G && g.vm.ept_max_level < PT_LEVEL_1G)
			min = 512; /* tables without 1 GiB leaves map it in 2 MiB leaves at best */
		printk("bench: first touch of 1 GiB, %s backing: %llu EPT violations (minimum %llu), "
		       "%lu EPT table pages in the VM\n", pt_level_name(backing),
		       (unsigned long long)g.vm.slots.slot[1].ept_violations,
		       (unsigned long long)min, g.vm.ept.table_pages);
	}
	guest_destroy(&g);
}

/* 512 first touches of 4 KiB-backed pages, each one EPT violation that installs a 4K leaf. */
static void bench_ept_violation(void)
{
	struct guest g;
	char err[200];

	if (bench_guest(&g, TG_EPT_BENCH, SZ_1G, SZ_2M))
		return;
	int r = vm_add_ram(&g.vm, SZ_1G, SZ_2M, PT_LEVEL_4K, 0, 0, err, sizeof(err));
	if (r)
		printk("bench: EPT-violation round trip: %s\n", err);
	else if (guest_run(&g) == STOP_EXIT)
		printk("bench: EPT-violation round trip: %ld TSC ticks (mean of %llu first touches "
		       "of a 4 KiB page, %llu EPT violations, minus a touch that does not exit)%s\n",
		       g.vcpu.exit_code, (unsigned long long)(SZ_2M / PAGE_SIZE),
		       (unsigned long long)g.vm.slots.slot[1].ept_violations,
		       budget_verdict(g.vcpu.exit_code, BUDGET_TDP_FAULT_ROUND_TRIP));
	guest_destroy(&g);
}

void bench_run(void)
{
	struct guest g;
	char why[200];

	const struct vcpu_backend *be;
	struct mmu_caps mc;

	if (hv_backend(&be, &mc, why, sizeof(why))) {
		printk("bench: no guest measurements: %s\n", why);
		return;
	}
	/* The figures' names are VMX's; on SVM an "EPT violation" is a #NPF, an INVEPT an ASID flush. */
	printk("bench: backend %s with %s\n", be->name, be->tdp_name);
	bench_touch(PT_LEVEL_4K);
	bench_touch(PT_LEVEL_2M);
	bench_touch(PT_LEVEL_1G);
	if (bench_guest(&g, TG_CPUID_BENCH, CPUID_ITERATIONS, 0))
		return;
	if (guest_run(&g) == STOP_EXIT)
		printk("bench: CPUID exit round trip: %ld TSC ticks (mean of %d, measured in the "
		       "guest)%s\n", g.vcpu.exit_code, CPUID_ITERATIONS,
		       budget_verdict(g.vcpu.exit_code, BUDGET_CPUID_ROUND_TRIP));
	guest_destroy(&g);
	bench_ept_violation();
	bench_shadow();
	bench_inval();
	bench_smp();
}
