/*
 * Shadow paging (ept/shadow*.c) against a guest that edits its own page
 * tables as an OS does (TG_SHADOW_PT, guest/testguest_shadow.c): the guest
 * checks what it sees as on bare metal, these tests check that minihv got
 * there through the mechanisms meant for it (reflected #PFs, unsync level-1
 * tables synced at the flush, emulated upper-level writes). Every flush
 * style (INVLPG, a CR3 load, a CR4.PGE toggle): each takes its own path.
 * Skipped without VMX/EPT, as every guest test is.
 */
#include "tests/kernel/guest_util.h"

#define SHADOW_SCRATCH 0x200000ULL /* 1 MiB between the image and the stack */

static void shadow_pt(uint64_t mode, const char *how)
{
	struct guest g;
	bool was = hv_mmu_shadow;
	char why[200] = "";

	hv_mmu_shadow = true; /* read when the VM is created */
	if (!test_guest_create(&g, TG_SHADOW_PT, SHADOW_SCRATCH, mode)) {
		hv_mmu_shadow = was;
		return;
	}
	if (!test_guest_run_ok(&g))
		printk("# TG_SHADOW_PT code %#lx: step * 256 + check, or CR2 << 16 | 0xff00 | "
		       "error of an unexpected #PF (guest/testguest_shadow.c)\n", g.vcpu.exit_code);
	const struct vm_stats *st = &g.vm.stats;
	char prefix[48];

	ksnprintf(prefix, sizeof(prefix), "# shadow_pt %s: ", how);
	vm_print_shadow_stats(&g.vm, prefix);
	/* The guest's own #PFs of steps c, d, f and h went back to it. */
	CHECK(st->shadow_reflected >= 3, "reflected %llu", (unsigned long long)st->shadow_reflected);
	/* Its PTE writes left a level-1 table unsync, and a flush synced it. */
	CHECK(st->shadow_unsynced >= 1, "unsynced %llu", (unsigned long long)st->shadow_unsynced);
	CHECK(st->shadow_synced >= 1, "synced %llu", (unsigned long long)st->shadow_synced);
	/* The PD and PML4 entries (steps e, f) were emulated writes. */
	CHECK(st->shadow_emulated >= 1, "emulated %llu", (unsigned long long)st->shadow_emulated);
	/* Its own root, then the entry tables' again. */
	CHECK(st->shadow_root_loads >= 2, "root loads %llu",
	      (unsigned long long)st->shadow_root_loads);
	/* Step i's REP STOSQ over its old PML4: unshadowed, not emulated (hole 11). */
	CHECK(st->shadow_unprotected >= 1, "unprotected %llu",
	      (unsigned long long)st->shadow_unprotected);
	long bad = ept_check_coherent(&g.vm, why, sizeof(why));
	CHECK(bad == 0, "%ld incoherent entries: %s", bad, why);
	guest_destroy(&g);
	hv_mmu_shadow = was;
}

KTEST(shadow_pt_invlpg)
{
	shadow_pt(0, "invlpg");
}

KTEST(shadow_pt_cr3)
{
	shadow_pt(1, "cr3");
}

/* Issue 21 hole 5: a global flush (CR4.PGE toggled) syncs unsync tables as INVLPG does. */
KTEST(shadow_pt_pge)
{
	shadow_pt(2, "cr4.pge");
}
