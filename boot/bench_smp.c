/*
 * `make bench`: the invalidation mix with several vCPUs (issue 14). Up to
 * four vCPUs of one guest, each on a CPU of its own, loop over 16 pages each
 * (TG_STRESS), so once those are mapped they stay in guest mode; this CPU
 * runs a fixed list of host changes, some on their pages, some on pages no
 * vCPU touched. Per change: the EPT/NPT leaves zapped, the VM's flushes, and
 * the remote-flush kicks (IPIs to vCPUs in guest mode elsewhere), next to
 * the most allowed: one per vCPU per flush, and none when nothing was zapped
 * (then nothing is flushed). Then the kicks per CPU: a CPU that never ran
 * the VM must get none. Host TLB shootdowns are separate IPIs, to every CPU.
 * Counts depend on where the vCPUs are when the flush comes (a vCPU between
 * two entries is not kicked: it flushes before it enters), so the kicks are
 * at most, not exactly, the bound.
 */
#include "boot/bench.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "guest/testguest.h"

#define BS_GPA (1ULL << 30)
#define BS_SIZE (4ULL << 20)          /* block A: the vCPUs' pages; block B: cold */
#define BS_COLD (BS_GPA + (2ULL << 20))
#define BS_PAGES_PER_VCPU 16
#define BS_MAX_VCPUS 4
#define BS_FLUSH_TIMINGS 64

static struct guest bs_guest;
static struct guest_vcpu bs_vcpus[BS_MAX_VCPUS];

static uint64_t bs_hva(uint64_t gpa)
{
	return memslots_page_hva(&bs_guest.vm.slots, gpa);
}

enum bs_op { BS_MIGRATE, BS_PROTECT_RO, BS_PROTECT_RW, BS_NUMA, BS_PROTECT_COLD, BS_AGE,
	     BS_COLLAPSE_COLD, BS_SPLIT_COLD, BS_OPS };
static const char *const bs_names[BS_OPS] = {
	"migrate", "protect-ro", "protect-rw", "numa", "protect-cold", "aging",
	"collapse-cold", "split-cold",
};

static long bs_change(enum bs_op op)
{
	uint64_t hot = bs_hva(BS_GPA + 5 * PAGE_SIZE), fresh, old;

	switch (op) {
	case BS_MIGRATE:
		if (frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh))
			return -ENOMEM;
		if (mm_migrate(&host_mm, hot, fresh, &old)) {
			frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
			return -EBUSY;
		}
		frame_free(&phys_frames, old, FRAME_ORDER_4K);
		return 0;
	case BS_PROTECT_RO:
		return mm_protect(&host_mm, hot, PAGE_SIZE, PT_PROT_R, false);
	case BS_PROTECT_RW:
		return mm_protect(&host_mm, hot, PAGE_SIZE, PT_PROT_RW, false);
	case BS_NUMA:
		return mm_protect(&host_mm, bs_hva(BS_GPA), 16 * PAGE_SIZE, 0, true);
	case BS_PROTECT_COLD:
		return mm_protect(&host_mm, bs_hva(BS_COLD), PAGE_SIZE, PT_PROT_R, false);
	case BS_AGE:
		return mm_clear_young(&host_mm, bs_hva(BS_GPA), 2ULL << 20);
	case BS_COLLAPSE_COLD:
		mm_protect(&host_mm, bs_hva(BS_COLD), PAGE_SIZE, PT_PROT_RW, false);
		return mm_collapse(&host_mm, bs_hva(BS_COLD));
	case BS_SPLIT_COLD:
		return mm_split(&host_mm, bs_hva(BS_COLD), PT_LEVEL_2M);
	default:
		return -EINVAL;
	}
}

/*
 * Wait until every vCPU is in guest mode or done, then until none has
 * entered for a while: its pages are mapped again after the last change.
 */
static void bs_settle(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct guest_vcpu *gv = &bs_vcpus[i];
		uint64_t entries = ~0ULL;

		for (unsigned quiet = 0, spins = 0; quiet < 20000 && spins < 2000000; spins++) {
			uint64_t e = __atomic_load_n(&gv->vcpu.entries, __ATOMIC_ACQUIRE);
			bool in = __atomic_load_n(&gv->vcpu.mode, __ATOMIC_ACQUIRE) == VCPU_IN_GUEST;

			if (__atomic_load_n(&gv->done, __ATOMIC_ACQUIRE))
				break;
			quiet = in && e == entries ? quiet + 1 : 0;
			entries = e;
			hal_cpu_relax();
		}
	}
}

static void bs_mix(unsigned n)
{
	struct vm_stats *s = &bs_guest.vm.stats;
	uint64_t tz = 0, tk = 0, tmax = 0;

	for (unsigned op = 0; op < BS_OPS; op++) {
		bs_settle(n);
		uint64_t z = s->ept_zaps, f = s->invept, k = s->remote_kicks;
		long r = bs_change(op);
		uint64_t dz = s->ept_zaps - z, df = s->invept - f, dk = s->remote_kicks - k;

		printk("bench: smp %-13s zaps %3llu  flushes %llu  kicks %llu (at most %llu)%s\n",
		       bs_names[op], (unsigned long long)dz, (unsigned long long)df,
		       (unsigned long long)dk, (unsigned long long)(df * n),
		       r < 0 ? "  [refused]" : "");
		tz += dz, tk += dk, tmax += df * n;
	}
	printk("bench: smp total         zaps %3llu  kicks %llu (at most %llu)\n",
	       (unsigned long long)tz, (unsigned long long)tk, (unsigned long long)tmax);
}

/* TSC ticks for a flush that kicks @n vCPUs in guest mode and waits for them. */
static void bs_flush_cost(unsigned n)
{
	uint64_t ticks = 0, kicks = bs_guest.vm.stats.remote_kicks;

	for (int i = 0; i < BS_FLUSH_TIMINGS; i++) {
		bs_settle(n);
		uint64_t t0 = rdtsc();
		spin_lock(&bs_guest.vm.mmu_lock);
		vm_flush_ept(&bs_guest.vm);
		spin_unlock(&bs_guest.vm.mmu_lock);
		ticks += rdtsc() - t0;
	}
	printk("bench: smp remote flush: %llu TSC ticks each (mean of %d), %llu kicks (at most "
	       "%u)\n", (unsigned long long)(ticks / BS_FLUSH_TIMINGS), BS_FLUSH_TIMINGS,
	       (unsigned long long)(bs_guest.vm.stats.remote_kicks - kicks),
	       BS_FLUSH_TIMINGS * n);
}

void bench_smp(void)
{
	unsigned cpus[BS_MAX_VCPUS], n = smp_other_cpus(cpus, BS_MAX_VCPUS);
	uint64_t kicks0[NR_CPUS], ipis0 = smp_ipis_sent(cpu_id());
	char err[200];

	if (!n) {
		printk("bench: smp: one CPU online, no figures\n");
		return;
	}
	for (unsigned c = 0; c < NR_CPUS; c++)
		kicks0[c] = smp_kicks_to(c);
	if (bench_guest(&bs_guest, TG_STRESS, 0, 0))
		return;
	if (vm_add_ram(&bs_guest.vm, BS_GPA, BS_SIZE, PT_LEVEL_4K, 0, 0, err, sizeof(err))) {
		printk("bench: smp: %s\n", err);
		goto out;
	}
	printk("bench: smp: %u vCPUs on CPUs 1-%u of %u online\n", n, cpus[n - 1], nr_cpus_online);
	for (unsigned i = 0; i < n; i++)
		if (guest_start_vcpu(&bs_guest, &bs_vcpus[i], i, n, cpus[i], TG_STRESS, BS_GPA,
				     n * BS_PAGES_PER_VCPU * PAGE_SIZE, err, sizeof(err)))
			printk("bench: smp: %s\n", err);
	bs_mix(n);
	bs_flush_cost(n);
	uint64_t *stop = vm_gpa_to_host(&bs_guest.vm, BS_GPA, PAGE_SIZE, true);
	if (stop)
		WRITE_ONCE(stop[TG_STRESS_STOP_WORD], TG_STRESS_STOP);
	uint64_t retries = 0, races = 0;
	for (unsigned i = 0; i < n; i++) {
		guest_wait_vcpu(&bs_vcpus[i]);
		retries = MAX(retries, bs_vcpus[i].vcpu.stats.refaults_max);
		races = MAX(races, bs_vcpus[i].vcpu.stats.lost_races_max);
	}
	printk("bench: smp worst retries of one fault: %llu (%llu after an invalidation ended)\n",
	       (unsigned long long)retries, (unsigned long long)races);
	printk("bench: smp kicks per CPU:");
	for (unsigned c = 0; c < NR_CPUS; c++) {
		if (!(cpu_online_mask & (1ULL << c)))
			continue;
		bool ran = false;
		for (unsigned i = 0; i < n; i++)
			ran |= cpus[i] == c;
		printk(" cpu%u %llu%s", c, (unsigned long long)(smp_kicks_to(c) - kicks0[c]),
		       ran ? "" : " (never ran the VM)");
	}
	printk("; host shootdown and wake-up IPIs sent: %llu\n",
	       (unsigned long long)(smp_ipis_sent(cpu_id()) - ipis0));
out:
	guest_destroy(&bs_guest);
}
