/*
 * The invalidation protocol under real concurrency (../shared/DESIGN.md,
 * "The rules to reproduce"): pthreads stand for CPUs (host_cpu_set_id())
 * and run the real fault path (mmu_fault, ept/fault.c), the real notifier
 * (mm_* operations, mm/mm.c -> ept/notify.c) and the real gfn-to-pfn cache
 * (ept/gpc.c) at once, for a fixed number of seeded rounds.
 *
 * The model:
 * - 2 vCPUs, each owning the odd or even pages of the guest's RAM. A vCPU
 *   reaches memory only through its software TLB, filled by walking EPT
 *   (setting the accessed/dirty bits with a locked cmpxchg, as the CPU
 *   does) after mmu_fault() on a miss, and emptied only by a flush request.
 *   vm.flush is a remote flush as KVM's kvm_make_all_cpus_request(): it
 *   posts a request to every vCPU and waits for the ack of each vCPU that
 *   is IN_GUEST (mode set with a full barrier before the vCPU checks its
 *   requests); a vCPU outside guest mode handles the request before it
 *   re-enters. Each access reads the page's pattern back (what the vCPU
 *   wrote last, or zero after an unmap it was told about) and writes a new
 *   one encoding (gpa, generation).
 * - 2 host threads: mm_migrate (the old frame POISONED with 0xdb, then
 *   freed), mm_protect read-only and back, NUMA hinting, mm_unmap (the old
 *   frame poisoned and freed; the next access faults in a zeroed page),
 *   clear_young, collapse/split of a 2 MiB-backed slot, memslot add/remove
 *   of a spare slot, and re-activation of the gpc.
 * - a gpc thread: gpc_lock / check the host maps its frame / write /
 *   gpc_unlock, deactivate and activate again.
 * - a watchdog: no progress for WATCHDOG_S seconds: print state, abort.
 *
 * Invariants: no write lost, no poison read (vCPUs and the gpc thread);
 * EPT coherent with the host page tables whenever no invalidation is in
 * flight (checked under mmu_lock and mm->lock after every host operation);
 * the gpc's frame is the one the host maps while gpc_lock() is held; the
 * cache on vm.gpc_list once when active, never when not; lockdep (panics);
 * no deadlock (watchdog); every fault retry is paid for by a host event
 * (see fault_access()). Under ThreadSanitizer (make's host-tsan build) a
 * stale translation used after its flush is also a reported data race
 * with the poisoning memset or the migration's copy.
 *
 * This file holds the gpc thread, the watchdog, the setup and the report;
 * smp_model.h the model (state, helpers, vCPU side), smp_hostops.h the
 * host threads' operations and checks.
 *
 * SMP_SEED=n overrides the seed; it is printed.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include "tests/host/smp_model.h"
#include "tests/host/smp_hostops.h"

/* ---- gpc thread ---- */

static void *gpc_thread(void *arg)
{
	uint64_t rng = seed ^ 0x2000, exp = 0, done_seen = 0, gen = 0;
	uint64_t gpa = page_gpa(GPC_PAGE) + GPC_OFF, hva = page_hva(GPC_PAGE);
	struct page *pg = &pages[GPC_PAGE];

	(void)arg;
	host_cpu_set_id(1 + NVCPU + NHOST);
	memcpy(&exp, phys_to_virt(hva_pa(hva) + GPC_OFF), sizeof(exp));
	BUG_ON(exp == POISON);
	for (unsigned i = 0; i < GPC_ROUNDS && !LD(failures); i++) {
		void *p;
		gpc_phase = "lock";
		int r = gpc_lock(&g, 8, &p);

		if (r == 0) {
			/* Under the read lock no invalidation of the page can pass start(). */
			struct pt_walk w;
			uint64_t got = *(volatile uint64_t *)p;
			if (mm_lookup(&mm, hva, &w) || ALIGN_DOWN(w.pa, PAGE_SIZE) !=
			    ALIGN_DOWN(virt_to_phys(p), PAGE_SIZE))
				fail("gpc maps frame %#llx, the host %#llx",
				     (unsigned long long)virt_to_phys(p), (unsigned long long)w.pa);
			if (got == POISON)
				fail("gpc read POISON");
			else if (got != exp && (got || LD(pg->unmap_begun) <= done_seen))
				fail("gpc LOST WRITE: read %#llx, wrote %#llx", (unsigned long long)got,
				     (unsigned long long)exp);
			done_seen = LD(pg->unmap_done);
			exp = 0x6000000000000000ULL | ++gen;
			*(volatile uint64_t *)p = exp;
			gpc_unlock(&g);
			INC(gpc_ok);
		} else if (r == -EFAULT) {
			/* Unmapped or read-only for now: fault it in, as the hypervisor would. */
			INC(gpc_efault);
			mm_fault_in(&mm, hva);
			sched_yield();
		} else if (r == -EINVAL) {
			r = gpc_activate(&g, gpa, 8); /* deactivated by us: active again */
			if (r && r != -EFAULT)
				fail("gpc_activate: %s", errno_name(r));
		} else {
			fail("gpc_lock: %s", errno_name(r));
		}
		if (rnd(&rng) % 16 == 0) {
			gpc_phase = "deactivate";
			gpc_deactivate(&g);
			check_gpc_list("gpc");
			r = gpc_activate(&g, gpa, 8);
			if (r && r != -EFAULT)
				fail("gpc_activate: %s", errno_name(r));
			check_gpc_list("gpc");
		}
		gpc_phase = "idle";
		INC(progress);
	}
	gpc_phase = "done";
	return NULL;
}

static void *watchdog(void *arg)
{
	uint64_t last = LD(progress);
	struct timespec t0, now;

	(void)arg;
	host_cpu_set_id(2 + NVCPU + NHOST);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!LD(done_flag)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t p = LD(progress);
		if (p != last) {
			last = p, t0 = now;
			continue;
		}
		if (now.tv_sec - t0.tv_sec < WATCHDOG_S)
			continue;
		printf("# WATCHDOG: no progress for %d s (seed %#llx)\n", WATCHDOG_S,
		       (unsigned long long)seed);
		for (unsigned i = 0; i < NVCPU; i++)
			printf("#  vCPU%u: %s, mode %d, flush req %llu done %llu\n", i, vcpus[i].phase,
			       vcpus[i].mode, (unsigned long long)vcpus[i].flush_req,
			       (unsigned long long)vcpus[i].flush_done);
		for (unsigned i = 0; i < NHOST; i++)
			printf("#  host%u: %s\n", i, host_phase[i]);
		printf("#  gpc: %s; mn_active %ld, in_progress %ld, mm.changing %ld, mmu_lock %d, "
		       "mm.lock %d\n", gpc_phase, vm.mn_active, vm.inval.in_progress, mm.changing,
		       spin_is_locked(&vm.mmu_lock), spin_is_locked(&mm.lock));
		fflush(stdout);
		abort();
	}
	return NULL;
}

static void setup(void)
{
	vm_fresh();
	vm.ept_ad = true;         /* accessed bits: clear_young clears them under running vCPUs */
	vm.flush = remote_flush;
	T(vm_ram(GPA0, MAIN_PAGES * PAGE_SIZE, HVA0, PT_LEVEL_4K, 0) == 0);
	T(vm_ram(HUGE_GPA, SZ_2M, HUGE_HVA, PT_LEVEL_2M, 0) == 0);
	T(back(SPARE_HVA, SPARE_SIZE, PT_LEVEL_4K) == 0);
	for (unsigned k = 0; k < NPAGES; k++) {
		/* Not back()'s page_tag(): one page in 256 has the poison's byte. */
		uint64_t *w = (uint64_t *)hva_ptr(page_hva(k));
		pages[k].exp = (page_gpa(k) << 16) ^ 0x4000000000000001ULL;
		for (unsigned i = 0; i < WORDS; i++)
			w[i * 64] = pages[k].exp;
		pages[k].gen = pages[k].unmap_begun = pages[k].unmap_done = 0;
		pages[k].unmap_done_seen = 0;
	}
	gpc_init(&g, &vm);
	T(gpc_activate(&g, page_gpa(GPC_PAGE) + GPC_OFF, 8) == 0);
	for (unsigned i = 0; i < NVCPU; i++)
		vcpus[i] = (struct vcpu){ .id = i, .cpu = 1 + i, .rng = seed ^ i, .phase = "start" };
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_smp_invalidation(void)
{
	pthread_t vt[NVCPU], ht[NHOST], gt, wt;
	struct timespec t0, t1;

	setup();
	unsigned long w0 = warn_count;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T(pthread_create(&wt, NULL, watchdog, NULL) == 0);
	for (unsigned i = 0; i < NVCPU; i++)
		T(pthread_create(&vt[i], NULL, vcpu_thread, &vcpus[i]) == 0);
	for (unsigned i = 0; i < NHOST; i++)
		T(pthread_create(&ht[i], NULL, host_thread, (void *)(uintptr_t)i) == 0);
	T(pthread_create(&gt, NULL, gpc_thread, NULL) == 0);
	for (unsigned i = 0; i < NVCPU; i++)
		pthread_join(vt[i], NULL);
	for (unsigned i = 0; i < NHOST; i++)
		pthread_join(ht[i], NULL);
	pthread_join(gt, NULL);
	ST(done_flag, 1);
	pthread_join(wt, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	uint64_t acc = 0, faults = 0, retries = 0, rmax = 0, pwaits = 0, drops = 0, hops = 0;
	for (unsigned i = 0; i < NVCPU; i++) {
		acc += vcpus[i].accesses, faults += vcpus[i].faults, retries += vcpus[i].retries;
		rmax = MAX(rmax, vcpus[i].retry_max);
		pwaits += vcpus[i].prot_waits, drops += vcpus[i].tlb_drops;
	}
	static const char *const names[] = { "migrate", "migrate", "unmap", "protect",
					     "numa", "clear_young", "collapse/split",
					     "memslot/gpc" };
	for (unsigned op = 0; op < 8; op++)
		hops += host_op_count[op];
	printf("# seed %#llx: %.2f s, rounds: %llu vCPU accesses + %llu host ops + %d gpc\n",
	       (unsigned long long)seed, secs(&t0, &t1), (unsigned long long)acc,
	       (unsigned long long)hops, GPC_ROUNDS);
	printf("# faults %llu, retries %llu (max %llu per fault, mean %.3f), -EPERM waits %llu\n",
	       (unsigned long long)faults, (unsigned long long)retries,
	       (unsigned long long)rmax, faults ? (double)retries / (double)faults : 0.0,
	       (unsigned long long)pwaits);
	printf("# remote flushes %llu (%llu waited for an ack), TLB drops %llu, host shootdowns "
	       "%lu, frames poisoned %llu\n", (unsigned long long)remote_flushes,
	       (unsigned long long)flush_waits, (unsigned long long)drops, host_shootdowns,
	       (unsigned long long)poisoned);
	for (unsigned op = 1; op < 8; op++)
		printf("#  host %-14s %llu (%llu did nothing: busy/unmapped/huge)\n", names[op],
		       (unsigned long long)(host_op_count[op] + (op == 1 ? host_op_count[0] : 0)),
		       (unsigned long long)(host_op_fail[op] + (op == 1 ? host_op_fail[0] : 0)));
	printf("# EPT stats: violations %llu, retries %llu (%llu lockless), zaps %llu, "
	       "invalidations %llu; coherence checks %llu; gpc: %llu ok, %llu -EFAULT, "
	       "%llu re-activations; memslot cycles %llu\n",
	       (unsigned long long)vm.stats.ept_violations,
	       (unsigned long long)vm.stats.ept_retries,
	       (unsigned long long)vm.stats.ept_retries_unlocked,
	       (unsigned long long)vm.stats.ept_zaps, (unsigned long long)vm.stats.invalidations,
	       (unsigned long long)coherent_checks, (unsigned long long)gpc_ok,
	       (unsigned long long)gpc_efault, (unsigned long long)gpc_reactivations,
	       (unsigned long long)memslot_cycles);
	T(failures == 0);
	T(warn_count == w0 && !vm.bugged);
	T(acc == NVCPU * VCPU_ROUNDS && hops == NHOST * HOST_ROUNDS);
	/* The run exercised what it claims to: the counts cannot all be zero by design. */
	T(faults > 0 && retries > 0 && flush_waits > 0 && poisoned > 0 && coherent_checks > 0);
	T(gpc_ok > 0 && memslot_cycles > 0 && host_op_count[6] > host_op_fail[6]);
	T(vm.mn_active == 0 && vm.inval.in_progress == 0 && mm.changing == 0);
	check_coherent();
	T(failures == 0);
	check_gpc_list("end");
}

int main(void)
{
	const char *env = getenv("SMP_SEED");

	seed = env ? strtoull(env, NULL, 0) : 0x5eed0014;
	printf("# test_smp: seed %#llx (SMP_SEED=%#llx reruns it)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	RUN(test_smp_invalidation);
	return tap_finish();
}
