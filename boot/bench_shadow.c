/*
 * make bench, shadow paging next to EPT/NPT (issue 15): the first-touch
 * workload (1 GiB through the loader's 2 MiB guest pages, 4 KiB backing)
 * and TG_SHADOW_BENCH, a guest that maps 512 pages through a page table of
 * its own and remaps them each round (guest/testguest_shadow_bench.c), each
 * run with EPT/NPT, with shadow paging, and with shadow paging that never
 * leaves a table unsync. Counts only: exits, faults, shadow pages, syncs
 * per CR3 load, write-protect faults; the unsync figure that matters is the
 * write-protect faults it avoids (the same workload without it, minus with).
 */
#include "boot/bench.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "guest/testguest.h"

#define SZ_1G (1ULL << 30)
#define SHADOW_BENCH_ROUNDS 8
#define SHADOW_BENCH_SCRATCH 0x200000ULL /* 4 pages of the guest's 4 MiB for its tables */

enum bench_mmu { BENCH_TDP, BENCH_SHADOW, BENCH_SHADOW_NO_UNSYNC };
static const char *const mmu_names[] = { "EPT/NPT", "shadow", "shadow, no unsync" };

struct shadow_figures {
	bool ran;
	uint64_t exits, faults, wp_faults, emulated, unsynced, synced, root_loads, pages;
};

static void run_one(enum bench_mmu mmu, uint64_t cmd, uint64_t arg, uint64_t arg2,
		    uint64_t ram_size, struct shadow_figures *f)
{
	struct guest g;
	char err[200];
	bool was = hv_mmu_shadow;

	*f = (struct shadow_figures){ 0 };
	hv_mmu_shadow = mmu != BENCH_TDP;
	int r = bench_guest(&g, cmd, arg, arg2);
	hv_mmu_shadow = was;
	if (r)
		return;
	if (mmu != BENCH_TDP && !g.vm.shadow) {
		guest_destroy(&g);
		return;
	}
	if (mmu == BENCH_TDP && g.vm.shadow) {
		printk("bench: %s: this CPU has neither EPT nor NPT\n", mmu_names[mmu]);
		guest_destroy(&g);
		return;
	}
	g.vm.smmu.unsync_off = mmu == BENCH_SHADOW_NO_UNSYNC;
	r = vm_add_ram(&g.vm, SZ_1G, ram_size, PT_LEVEL_4K, 0, 0, err, sizeof(err));
	if (r) {
		printk("bench: %s: %s\n", mmu_names[mmu], err);
	} else if (guest_run(&g) == STOP_EXIT && !g.vcpu.exit_code) {
		const struct vm_stats *s = &g.vm.stats;

		*f = (struct shadow_figures){
			.ran = true, .exits = g.vcpu.stats.exits_total,
			.faults = g.vm.slots.slot[1].ept_violations, .wp_faults = s->shadow_wp_faults,
			.emulated = s->shadow_emulated, .unsynced = s->shadow_unsynced,
			.synced = s->shadow_synced, .root_loads = s->shadow_root_loads,
			.pages = g.vm.shadow ? g.vm.smmu.max_pages : g.vm.ept.table_pages,
		};
	}
	guest_destroy(&g);
}

static void print_one(const char *what, enum bench_mmu mmu, const struct shadow_figures *f,
		      uint64_t min_faults)
{
	if (!f->ran)
		return;
	printk("bench: %s, %s: %llu exits, %llu faults on the slot (minimum %llu), %llu %s\n",
	       what, mmu_names[mmu], (unsigned long long)f->exits, (unsigned long long)f->faults,
	       (unsigned long long)min_faults, (unsigned long long)f->pages,
	       mmu == BENCH_TDP ? "EPT/NPT table pages" : "shadow pages at most");
	if (mmu == BENCH_TDP)
		return;
	/* Hundredths, printed as a decimal: no floating point in the kernel. */
	uint64_t per = f->root_loads ? f->synced * 100 / f->root_loads : 0;
	printk("bench: %s, %s: %llu CR3 loads, %llu.%02llu unsync pages synced per CR3 load, "
	       "%llu write-protect faults (%llu left a table unsync, %llu emulated)\n", what,
	       mmu_names[mmu], (unsigned long long)f->root_loads, (unsigned long long)(per / 100),
	       (unsigned long long)(per % 100), (unsigned long long)f->wp_faults,
	       (unsigned long long)f->unsynced, (unsigned long long)f->emulated);
}

void bench_shadow(void)
{
	struct shadow_figures f[3];
	const char *touch = "first touch of 1 GiB, 4K backing";
	const char *remap = "guest page table, 512 pages x 8 rounds";

	for (int m = BENCH_TDP; m <= BENCH_SHADOW; m++) {
		run_one((enum bench_mmu)m, TG_TOUCH, SZ_1G, SZ_1G, SZ_1G, &f[m]);
		print_one(touch, (enum bench_mmu)m, &f[m], SZ_1G / PAGE_SIZE);
	}
	for (int m = BENCH_TDP; m <= BENCH_SHADOW_NO_UNSYNC; m++) {
		run_one((enum bench_mmu)m, TG_SHADOW_BENCH, SHADOW_BENCH_SCRATCH, SHADOW_BENCH_ROUNDS,
			4ULL << 20, &f[m]);
		/*
		 * EPT/NPT: each of the 1024 frames faults once. Shadowed: each
		 * round's 512 new translations once, and each frame once more
		 * where the guest checks it through its identity map.
		 */
		print_one(remap, (enum bench_mmu)m, &f[m],
			  m == BENCH_TDP ? 2 * 512 : SHADOW_BENCH_ROUNDS * 512 + 2 * 512);
	}
	if (f[BENCH_SHADOW].ran && f[BENCH_SHADOW_NO_UNSYNC].ran)
		printk("bench: %s: unsync avoided %lld write-protect faults (%llu without it, "
		       "%llu with it)\n", remap,
		       (long long)(f[BENCH_SHADOW_NO_UNSYNC].wp_faults - f[BENCH_SHADOW].wp_faults),
		       (unsigned long long)f[BENCH_SHADOW_NO_UNSYNC].wp_faults,
		       (unsigned long long)f[BENCH_SHADOW].wp_faults);
}
