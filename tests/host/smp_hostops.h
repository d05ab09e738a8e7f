/*
 * The host side of tests/host/test_smp.c: the host threads' operations on
 * the guest's memory (mm_migrate and mm_unmap with the old frame poisoned,
 * mm_protect read-only and back, NUMA hinting, clear_young, collapse/split
 * of the 2 MiB-backed slot, memslot add/remove, gpc re-activation), the
 * per-page host lock, and the checks run after each operation (EPT
 * coherent with the host, the gpc on vm.gpc_list). Included only by
 * test_smp.c, after smp_model.h.
 */
#ifndef MINIHV_SMP_HOSTOPS_H
#define MINIHV_SMP_HOSTOPS_H

#include <sched.h>
#include "tests/host/smp_model.h"

/* ---- host side ---- */

static bool page_trylock(unsigned k)
{
	return !__atomic_exchange_n(&pages[k].hostlock, 1, __ATOMIC_ACQUIRE);
}

static void page_unlock(unsigned k)
{
	__atomic_store_n(&pages[k].hostlock, 0, __ATOMIC_RELEASE);
}

/* A frame no translation may reach any more: poison it, then free it. */
static void poison_free(uint64_t pa)
{
	memset(phys_to_virt(pa), 0xdb, PAGE_SIZE);
	T(frame_free(&fa, pa, FRAME_ORDER_4K) == 0);
	INC(poisoned);
}

/* Under mmu_lock and mm->lock, with no invalidation in flight: EPT follows the host. */
static void check_coherent(void)
{
	char why[200];

	spin_lock(&vm.mmu_lock);
	if (!vm.mn_active) {
		spin_lock(&mm.lock);
		long bad = ept_check_coherent(&vm, why, sizeof(why));
		spin_unlock(&mm.lock);
		INC(coherent_checks);
		if (bad)
			fail("%ld incoherent EPT leaves: %s", bad, why);
	}
	spin_unlock(&vm.mmu_lock);
}

/* The gpc on vm.gpc_list exactly once when active, never when not (mmu_lock held). */
static void check_gpc_list(const char *who)
{
	int n = 0, steps = 0;

	spin_lock(&vm.mmu_lock);
	for (struct gpc *c = vm.gpc_list; c && steps < 16; c = c->next, steps++)
		n += c == &g;
	bool active = g.active;
	spin_unlock(&vm.mmu_lock);
	if (steps >= 16 || n != (active ? 1 : 0))
		fail("%s: gpc on vm.gpc_list %d time(s) (walked %d), active %d", who, n, steps,
		     active);
}

static unsigned host_pick(uint64_t *rng)
{
	uint64_t x = rnd(rng);

	return x % 10 < 6 ? (unsigned)(x >> 8) % HOT
			  : MAIN_PAGES + (unsigned)(x >> 8) % HUGE_PAGES;
}

static bool op_migrate(unsigned k)
{
	uint64_t new_pa, old_pa;

	if (frame_alloc(&fa, FRAME_ORDER_4K, &new_pa))
		return false;
	int r = mm_migrate(&mm, page_hva(k), new_pa, &old_pa);
	if (r) {
		/* A huge page (only 4K pages migrate), unmapped, or busy. */
		T(frame_free(&fa, new_pa, FRAME_ORDER_4K) == 0);
		return false;
	}
	poison_free(old_pa);
	return true;
}

static bool op_unmap(unsigned k)
{
	uint64_t hva = page_hva(k), pa = hva_pa(hva); /* ours: no other host op moves it */

	/*
	 * Not mapped: a vCPU's fault-in (no host op, so not kept out by the
	 * page lock) may map it any moment, and the frame unmapped would then
	 * be one this thread does not know. Only a mapped page stays put.
	 */
	if (pa == ~0ULL)
		return false;
	INC(pages[k].unmap_begun);
	long n = mm_unmap(&mm, hva, PAGE_SIZE);
	INC(pages[k].unmap_done);
	if (n == 1)
		poison_free(pa);
	return n == 1;
}

static bool op_protect(unsigned k, uint64_t *rng)
{
	uint64_t hva = page_hva(k);

	if (mm_protect(&mm, hva, PAGE_SIZE, PT_PROT_R, false) < 0)
		return false;
	/* Read-only for a moment: writers wait (mmu_fault says -EPERM). */
	for (unsigned i = rnd(rng) % 4; i; i--)
		sched_yield();
	long r;
	unsigned n = 0;
	while ((r = mm_protect(&mm, hva, PAGE_SIZE, PT_PROT_RW, false)) == -EBUSY)
		relax(&n);
	if (r < 0)
		fail("protect back to RW at %#llx: %s", (unsigned long long)hva, errno_name((int)r));
	return true;
}

/* Collapse or split the 2 MiB-backed slot: every page of it is ours meanwhile. */
static bool op_huge(void)
{
	unsigned got = 0;
	bool ok = false;

	while (got < HUGE_PAGES && page_trylock(MAIN_PAGES + got))
		got++;
	if (got == HUGE_PAGES) {
		struct pt_walk w;
		if (!mm_lookup(&mm, HUGE_HVA, &w) && w.level == PT_LEVEL_2M)
			ok = mm_split(&mm, HUGE_HVA, PT_LEVEL_2M) == 0;
		else {
			/*
			 * Pages unmapped since come back zeroed first (the owner was
			 * told by op_unmap()), so that the block can collapse.
			 */
			for (unsigned i = 0; i < HUGE_PAGES; i++)
				if (mm_lookup(&mm, HUGE_HVA + i * PAGE_SIZE, &w))
					mm_fault_in(&mm, HUGE_HVA + i * PAGE_SIZE);
			ok = mm_collapse(&mm, HUGE_HVA) == 0;
		}
	}
	while (got)
		page_unlock(MAIN_PAGES + --got);
	return ok;
}

/* Add the spare slot (waiting out invalidations in flight), fault in it, remove it. */
static bool op_memslot(void)
{
	char err[160], why[200];
	uint64_t gpa = SPARE_GPA + PAGE_SIZE * 3;
	int r = vm_memslot_add(&vm, SPARE_GPA, SPARE_SIZE, SPARE_HVA, 0, err, sizeof(err));

	if (r) {
		fail("memslot add: %s: %s", errno_name(r), err);
		return false;
	}
	for (unsigned i = 0; i < 1000 && !ept_maps(gpa, NULL, NULL, NULL); i++) {
		r = mmu_fault(&vm, gpa, PT_PROT_W, why, sizeof(why));
		if (r) {
			fail("fault in the spare slot: %s: %s", errno_name(r), why);
			break;
		}
	}
	r = vm_memslot_remove(&vm, SPARE_GPA);
	if (r)
		fail("memslot remove: %s", errno_name(r));
	spin_lock(&vm.mmu_lock);
	bool left = ept_maps(gpa, NULL, NULL, NULL);
	spin_unlock(&vm.mmu_lock);
	if (left)
		fail("the removed slot's page is still mapped in EPT");
	INC(memslot_cycles);
	return true;
}

static void *host_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t rng = seed ^ (0x1000 + id);

	host_cpu_set_id(1 + NVCPU + id);
	for (unsigned i = 0; i < HOST_ROUNDS && !LD(failures); i++) {
		unsigned op = (unsigned)(rnd(&rng) % 8), k = host_pick(&rng);
		bool ok = false;

		/* Memslot and gpc churn on host 1, collapse/split on host 0. */
		if (op == 7)
			op = id ? 7 : 6;
		INC(op_inflight);
		INC(op_epoch);
		host_phase[id] = "op";
		if (op == 6) {
			ok = op_huge();
		} else if (op == 7) {
			ok = rnd(&rng) % 2 ? op_memslot() : (INC(gpc_reactivations),
				gpc_activate(&g, page_gpa(GPC_PAGE) + GPC_OFF, 8) == 0);
			if (!ok && !LD(failures))
				ok = true; /* activate may find the page unmapped: -EFAULT */
		} else if (page_trylock(k)) {
			switch (op) {
			case 0:
			case 1: ok = op_migrate(k); break;
			case 2: ok = op_unmap(k); break;
			case 3: ok = op_protect(k, &rng); break;
			case 4: ok = mm_protect(&mm, page_hva(k), PAGE_SIZE, 0, true) >= 0; break;
			case 5: mm_clear_young(&mm, page_hva(k & ~15u), 16 * PAGE_SIZE); ok = true; break;
			}
			page_unlock(k);
		}
		INC(op_epoch);
		DEC(op_inflight);
		INC(host_op_count[op]);
		if (!ok)
			INC(host_op_fail[op]);
		host_phase[id] = "check";
		check_coherent();
		if (op == 7)
			check_gpc_list("host");
		host_phase[id] = "idle";
		INC(progress);
	}
	host_phase[id] = "done";
	return NULL;
}

#endif
