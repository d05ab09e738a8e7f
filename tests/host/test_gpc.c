/*
 * Host unit tests for ept/gpc.c, the gfn-to-pfn cache (seed
 * ../shared/seeds/001_2f6288b8cba2f4fe.txt, ../shared/DESIGN.md):
 * activate/deactivate/check/refresh/lock against a VM and a primary MMU built
 * over the arena (hostvm.h). Single-threaded: gpc->hook runs invalidations at
 * the two points where gpc_refresh() has its lock dropped, so every
 * interleaving is played deterministically. The cache must never be valid
 * for a page an in-flight invalidation covers, never map a frame the host no
 * longer maps there, and must not be held up by invalidations elsewhere.
 */
#include "ept/gpc.h"
#include "tests/host/hostvm.h"

#define OFF 0x10                        /* byte offset of the cached data */
#define PG 3                            /* cached page of the slot */
#define GPA (GPA0 + PG * PAGE_SIZE + OFF)
#define LEN 8
#define HVA (HVA0 + PG * PAGE_SIZE)     /* its backing (dvm(): slot at HVA0, no skew) */
#define OTHER (HVA0 + 7 * PAGE_SIZE)    /* another page of the same slot */
#define MAXCALLS 64                     /* hook calls after which actions stop (no livelock) */

static struct gpc g;
static unsigned long w0;

/*
 * The invalidations the hook (and the tests, by hand) run stand for another
 * CPU's: run them as CPU 1, as lockdep and the per-CPU invalidation record
 * (vm.mn_active_cpu) would see them on an SMP host. Run on the refreshing
 * CPU itself, gpc_refresh() would (rightly) refuse to wait for them
 * (test_refresh_inside_own_invalidation).
 */
static unsigned other_cpu(void)
{
	unsigned me = cpu_id();

	host_cpu_set_id(1);
	return me;
}

/* The hook: records what it saw at each call, then runs the test's action. */
static void (*action)(int call, enum gpc_step step);
static int calls;
static enum gpc_step steps[MAXCALLS];
static bool rl_held[MAXCALLS], lock_held[MAXCALLS], check_ok[MAXCALLS];
static int valid_inflight; /* calls where the cache was valid while an invalidation ran */

static void hook(struct gpc *c, enum gpc_step step, void *ctx)
{
	int i = calls++;

	(void)ctx;
	if (i >= MAXCALLS)
		return;
	steps[i] = step;
	rl_held[i] = spin_is_locked(&c->refresh_lock);
	lock_held[i] = rw_is_locked(&c->lock);
	if (!rw_is_write_locked(&c->lock)) { /* a read_lock would spin forever otherwise */
		read_lock(&c->lock);
		check_ok[i] = gpc_check(c, LEN);
		read_unlock(&c->lock);
	}
	if (action) {
		unsigned me = other_cpu();

		action(i, step);
		host_cpu_set_id(me);
	}
	if (vm.inval.in_progress && c->valid)
		valid_inflight++;
}

/* A VM with 2 MiB of 4K-backed RAM at GPA0 and an inactive cache, no hook armed. */
static void setup(void)
{
	dvm(PT_LEVEL_4K);
	gpc_init(&g, &vm);
	g.hook = hook;
	action = NULL;
	calls = valid_inflight = 0;
	memset(check_ok, 0, sizeof(check_ok));
	w0 = warn_count;
}

static uint64_t new_frame(void)
{
	uint64_t pa;

	BUG_ON(frame_alloc(&fa, FRAME_ORDER_4K, &pa));
	return pa;
}

/* The cache maps exactly the frame the host maps at @hva now. */
static bool maps_current(uint64_t hva)
{
	uint64_t pa = hva_pa(hva);

	return g.valid && pa != ~0ULL && g.pa == pa &&
	       g.khva == (uint8_t *)phys_to_virt(pa) + OFF;
}

static uint64_t migrated_to, migrated_from;

static void migrate_cached(void)
{
	migrated_to = new_frame();
	BUG_ON(mm_migrate(&mm, HVA, migrated_to, &migrated_from));
}

static void test_activate_refusals(void)
{
	setup();
	struct gpc before = g;
	int r1 = gpc_activate(&g, INVALID_GPA, LEN);
	int r2 = gpc_activate(&g, GPA, 0);
	int r3 = gpc_activate(&g, GPA0 + PAGE_SIZE - 4, LEN);   /* crosses into the next page */
	int r4 = gpc_activate(&g, GPA0 + 0x10, PAGE_SIZE);      /* offset + len > page */
	T(r1 == -EINVAL && r2 == -EINVAL && r3 == -EINVAL && r4 == -EINVAL);
	T(!g.active && !g.valid && vm.gpc_list == NULL);
	T(memcmp(&before, &g, sizeof(g)) == 0); /* refusals change nothing */
	/* No memslot: -EFAULT, nothing changed either. */
	T(gpc_activate(&g, GPA0 + 4 * MiB, LEN) == -EFAULT);
	T(gpc_activate(&g, 0, LEN) == -EFAULT);
	T(memcmp(&before, &g, sizeof(g)) == 0 && vm.gpc_list == NULL);
	T(calls == 0);

	/* A memslot whose page the host does not map: active, but not valid. */
	T(mm_unmap(&mm, HVA, PAGE_SIZE) == 1);
	T(gpc_activate(&g, GPA, LEN) == -EFAULT);
	T(g.active && !g.valid && g.khva == NULL && vm.gpc_list == &g);
	void *p = NULL;
	T(gpc_lock(&g, LEN, &p) == -EFAULT && p == NULL && !rw_is_locked(&g.lock));
	/* Backed again: the next lock maps it. */
	uint64_t pa = new_frame();
	T(mm_map(&mm, HVA, pa, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == 0);
	T(gpc_lock(&g, LEN, &p) == 0 && p == (uint8_t *)phys_to_virt(pa) + OFF);
	gpc_unlock(&g);
	gpc_deactivate(&g);
	T(warn_count == w0);
}

static void test_activate_ok(void)
{
	setup();
	uint64_t pa = hva_pa(HVA);
	T(gpc_activate(&g, GPA, LEN) == 0);
	T(g.active && g.valid && vm.gpc_list == &g && g.next == NULL);
	T(g.uhva == HVA && g.pa == pa && maps_current(HVA));
	T(g.refreshes == 1 && g.refresh_loops == 1 && calls == 2);
	T(*(uint8_t *)g.khva == page_tag(HVA));

	void *p = NULL;
	T(gpc_lock(&g, LEN, &p) == 0);
	T(p == (uint8_t *)phys_to_virt(pa) + OFF);
	T(rw_is_locked(&g.lock) && !rw_is_write_locked(&g.lock)); /* read lock held */
	T(gpc_check(&g, LEN) && !gpc_check(&g, PAGE_SIZE - OFF + 1));
	memcpy(p, "gpc-data", LEN);
	gpc_unlock(&g);
	T(!rw_is_locked(&g.lock) && g.refreshes == 1); /* valid: no refresh needed */
	T(memcmp(hva_ptr(HVA) + OFF, "gpc-data", LEN) == 0); /* wrote the guest's page */

	/* The last bytes of a page are fine; a second cache joins the list. */
	struct gpc g2;
	gpc_init(&g2, &vm);
	T(gpc_activate(&g2, GPA0 + 9 * PAGE_SIZE + PAGE_SIZE - 8, 8) == 0);
	T(vm.gpc_list == &g2 && g2.next == &g);
	T(g2.khva == (uint8_t *)phys_to_virt(hva_pa(HVA0 + 9 * PAGE_SIZE)) + PAGE_SIZE - 8);
	gpc_deactivate(&g); /* not the head: unlinked from the middle */
	T(vm.gpc_list == &g2 && g2.next == NULL && !g.active);
	/* Re-activating an active cache moves it, without a second list entry. */
	T(gpc_activate(&g2, GPA0 + 11 * PAGE_SIZE, 8) == 0);
	T(vm.gpc_list == &g2 && g2.next == NULL && g2.uhva == HVA0 + 11 * PAGE_SIZE);
	gpc_deactivate(&g2);
	T(vm.gpc_list == NULL && warn_count == w0);
}

/* Migrate/unmap/protect the cached page at hook call @at of a refresh. */
static int race_op, race_at;
static void race_action(int call, enum gpc_step step)
{
	(void)step;
	if (call != race_at)
		return;
	if (race_op == 0)
		migrate_cached();
	else if (race_op == 1)
		BUG_ON(mm_unmap(&mm, HVA, PAGE_SIZE) != 1);
	else
		BUG_ON(mm_protect(&mm, HVA, PAGE_SIZE, PT_PROT_R, false) != 1);
}

static void test_refresh_races_invalidation(void)
{
	for (race_at = 0; race_at < 2; race_at++) {
		for (race_op = 0; race_op < 3; race_op++) {
			setup();
			uint64_t old = hva_pa(HVA);
			T(gpc_activate(&g, GPA, LEN) == 0);
			uint64_t loops = g.refresh_loops;
			calls = 0;
			action = race_action;
			int r = gpc_refresh(&g, LEN);
			T(steps[race_at] == (race_at ? GPC_STEP_WALKED : GPC_STEP_UNLOCKED));
			T(g.refresh_loops - loops >= 2 && g.refresh_loops - loops <= 3);
			T(valid_inflight == 0 && vm.inval.in_progress == 0);
			if (race_op == 0) { /* migrated: the new frame, never the old */
				T(r == 0 && maps_current(HVA) && g.pa == migrated_to);
				T(g.pa != old && migrated_from == old);
				T(*(uint8_t *)g.khva == page_tag(HVA)); /* contents moved along */
			} else if (race_op == 1) { /* unmapped: nothing to map */
				T(r == -EFAULT && !g.valid && g.khva == NULL && g.pa == INVALID_GPA);
				T(g.active && vm.gpc_list == &g);
			} else { /* write-protected: the cache writes, so it stays invalid */
				T(r == -EFAULT && !g.valid && g.khva == NULL && g.pa == INVALID_GPA);
				T(g.active && vm.gpc_list == &g);
			}
			gpc_deactivate(&g);
			T(warn_count == w0);
		}
	}
}

/*
 * An invalidation of the cached page driven by hand through the VM's
 * notifier, with the page-table change made while it is in flight, as
 * mm_migrate() does between its start and end.
 */
static const struct mmu_range inflight = { HVA, HVA + PAGE_SIZE, MMU_EV_MIGRATE, 0 };
static int start_at, end_at;

static void inv_start(void)
{
	unsigned me = other_cpu();

	vm.mn.ops->invalidate_range_start(&vm.mn, &inflight);
	host_cpu_set_id(me);
}

static void inv_change_and_end(void)
{
	migrated_to = new_frame();
	migrated_from = hva_pa(HVA);
	T(pt_unmap(&mm.pt, HVA, PAGE_SIZE) == 1);
	memcpy(phys_to_virt(migrated_to), phys_to_virt(migrated_from), PAGE_SIZE);
	T(pt_map(&mm.pt, HVA, migrated_to, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K) == 0);
	unsigned me = other_cpu();
	vm.mn.ops->invalidate_range_end(&vm.mn, &inflight);
	host_cpu_set_id(me);
}

/*
 * A refresh on the CPU that is itself inside an invalidation of the page
 * (called from a notifier or an mm step hook) cannot wait for it to end:
 * -EAGAIN, the cache invalid, instead of looping forever.
 */
static void test_refresh_inside_own_invalidation(void)
{
	setup();
	T(gpc_activate(&g, GPA, LEN) == 0);
	vm.mn.ops->invalidate_range_start(&vm.mn, &inflight); /* on this CPU */
	T(!g.valid && vm.mn_active_cpu[cpu_id()] == 1);
	T(gpc_refresh(&g, LEN) == -EAGAIN && !g.valid && g.khva == NULL);
	void *p;
	T(gpc_lock(&g, LEN, &p) == -EAGAIN && !rw_is_locked(&g.lock));
	vm.mn.ops->invalidate_range_end(&vm.mn, &inflight);
	T(vm.mn_active_cpu[cpu_id()] == 0);
	T(gpc_lock(&g, LEN, &p) == 0 && p == g.khva);
	gpc_unlock(&g);
	gpc_deactivate(&g);
	T(warn_count == w0);
}

static void inflight_action(int call, enum gpc_step step)
{
	(void)step;
	if (call == start_at)
		inv_start();
	if (call == end_at)
		inv_change_and_end();
}

static void test_inflight_invalidation(void)
{
	/* Begins at hook call k, ends (after moving the page) at call k + 1. */
	for (start_at = 0; start_at < 2; start_at++) {
		setup();
		T(gpc_activate(&g, GPA, LEN) == 0);
		end_at = start_at + 1;
		action = inflight_action;
		calls = 0;
		uint64_t loops = g.refresh_loops;
		T(gpc_refresh(&g, LEN) == 0);
		T(g.refresh_loops - loops >= 2 && g.refresh_loops - loops <= 3);
		T(maps_current(HVA) && g.pa == migrated_to && gpc_check(&g, LEN));
		T(valid_inflight == 0 && vm.inval.in_progress == 0 && !check_ok[end_at]);
		gpc_deactivate(&g);
		T(warn_count == w0);
	}
	/*
	 * Begun before the refresh (the cache saw its start then), the page moved
	 * and the invalidation ended at hook call k. Until it ends the refresh
	 * cannot finish; after it, the new frame and nothing else.
	 */
	for (end_at = 0; end_at < 4; end_at++) {
		setup();
		T(gpc_activate(&g, GPA, LEN) == 0);
		start_at = -1;
		inv_start();
		T(!g.valid && vm.inval.in_progress == 1);
		action = inflight_action;
		calls = 0;
		uint64_t loops = g.refresh_loops;
		T(gpc_refresh(&g, LEN) == 0);
		uint64_t n = g.refresh_loops - loops, min = (uint64_t)end_at / 2 + 1;
		T(n >= min && n <= min + 1);
		if (!T(maps_current(HVA) && g.pa == migrated_to && g.pa != migrated_from))
			printf("# end_at %d: cache %#llx valid %d, host %#llx, old %#llx, %llu loops\n",
			       end_at, (unsigned long long)g.pa, g.valid,
			       (unsigned long long)hva_pa(HVA), (unsigned long long)migrated_from,
			       (unsigned long long)n);
		T(valid_inflight == 0 && vm.inval.in_progress == 0);
		gpc_deactivate(&g);
		T(warn_count == w0);
	}
}

/* Every hook call toggles the protection of another page of the slot. */
static void other_page_action(int call, enum gpc_step step)
{
	(void)step;
	if (call < MAXCALLS)
		BUG_ON(mm_protect(&mm, OTHER, PAGE_SIZE, call % 2 ? PT_PROT_RW : PT_PROT_R,
				  false) != 1);
}

static void test_invalidations_elsewhere(void)
{
	setup();
	T(gpc_activate(&g, GPA, LEN) == 0);
	uint64_t pa = g.pa, loops = g.refresh_loops, invs = vm.stats.invalidations;
	action = other_page_action;
	calls = 0;
	T(gpc_refresh(&g, LEN) == 0);
	T(g.refresh_loops - loops == 1 && calls == 2);
	T(vm.stats.invalidations - invs == 2); /* they did reach the VM */
	T(maps_current(HVA) && g.pa == pa);
	/* Migrating another page while valid leaves the cache valid. */
	uint64_t to = new_frame(), from;
	T(mm_migrate(&mm, OTHER, to, &from) == 0 && g.valid && gpc_check(&g, LEN));
	/* gpc_lock under the same stream: one refresh, one loop. A protection
	 * change that keeps write access still invalidates the cache. */
	T(mm_protect(&mm, HVA, PAGE_SIZE, PT_PROT_RW, false) == 1 && !g.valid);
	void *p;
	loops = g.refresh_loops;
	T(gpc_lock(&g, LEN, &p) == 0 && p == g.khva && g.refresh_loops - loops == 1);
	gpc_unlock(&g);
	gpc_deactivate(&g);
	T(warn_count == w0);
}

static void test_refresh_serialised(void)
{
	setup();
	T(gpc_activate(&g, GPA, LEN) == 0);
	race_op = 0, race_at = 0;
	action = race_action; /* force a second loop: four hook calls */
	calls = 0;
	T(gpc_refresh(&g, LEN) == 0 && calls == 4);
	for (int i = 0; i < calls; i++) {
		T(steps[i] == (i % 2 ? GPC_STEP_WALKED : GPC_STEP_UNLOCKED));
		T(rl_held[i]);    /* a second refresh would wait here */
		T(!lock_held[i]); /* users and invalidations can get in */
		T(!check_ok[i]);  /* marked invalid before the lock was dropped */
	}
	T(!spin_is_locked(&g.refresh_lock) && !rw_is_locked(&g.lock));
	gpc_deactivate(&g);
	T(warn_count == w0);
}

static int deact_at;
static void deactivate_action(int call, enum gpc_step step)
{
	(void)step;
	if (call == deact_at) {
		gpc_deactivate(&g);
		if (deact_at == 0)
			migrate_cached(); /* and the page moves after that */
	}
}

static bool cleared(const struct gpc *c)
{
	return !c->active && !c->valid && c->khva == NULL && c->pa == INVALID_GPA;
}

static void test_deactivate_races(void)
{
	for (deact_at = 0; deact_at < 2; deact_at++) {
		setup();
		T(gpc_activate(&g, GPA, LEN) == 0);
		action = deactivate_action;
		calls = 0;
		uint64_t invs = vm.stats.invalidations;
		T(gpc_refresh(&g, LEN) == -EINVAL);
		T(cleared(&g) && vm.gpc_list == NULL && calls == 2);
		T(!spin_is_locked(&g.refresh_lock) && !rw_is_locked(&g.lock));
		/* Later invalidations of the page do not touch it. */
		g.hook = NULL;
		struct gpc snap = g;
		uint64_t to = new_frame(), from;
		T(mm_migrate(&mm, HVA, to, &from) == 0);
		T(mm_unmap(&mm, HVA, PAGE_SIZE) == 1);
		T(vm.stats.invalidations - invs == 2u + (deact_at == 0));
		T(memcmp(&snap, &g, sizeof(g)) == 0);
		void *p = NULL;
		T(gpc_lock(&g, LEN, &p) == -EINVAL && p == NULL && !rw_is_locked(&g.lock));
		T(warn_count == w0);
	}
}

static void test_memslot_change(void)
{
	char err[160];
	const uint64_t hva2 = HVA0 + 64 * MiB;
	void *p;

	setup();
	T(gpc_activate(&g, GPA, LEN) == 0);
	uint64_t gen = g.generation;
	T(back(hva2, SZ_2M, PT_LEVEL_4K) == 0);
	T(vm_memslot_remove(&vm, GPA0) == 0);
	T(vm_memslot_add(&vm, GPA0, SZ_2M, hva2, 0, err, sizeof(err)) == 0);
	/* Removing the slot invalidated the cache (hole 5), and the generation moved. */
	T(!g.valid && g.invalidated && !gpc_check(&g, LEN));
	uint64_t refreshes = g.refreshes;
	T(gpc_lock(&g, LEN, &p) == 0);
	T(g.refreshes == refreshes + 1 && g.generation != gen);
	T(g.uhva == hva2 + PG * PAGE_SIZE && maps_current(hva2 + PG * PAGE_SIZE));
	T(p == (uint8_t *)phys_to_virt(hva_pa(hva2 + PG * PAGE_SIZE)) + OFF);
	T(*(uint8_t *)p == page_tag(hva2 + PG * PAGE_SIZE));
	gpc_unlock(&g);
	/* The old backing is no memslot's now: its changes leave the cache alone... */
	uint64_t to = new_frame(), from;
	T(mm_migrate(&mm, HVA, to, &from) == 0 && g.valid && gpc_check(&g, LEN));
	/* ...the new one's do not. */
	T(mm_unmap(&mm, hva2 + PG * PAGE_SIZE, PAGE_SIZE) == 1 && !g.valid);
	T(gpc_lock(&g, LEN, &p) == -EFAULT && !rw_is_locked(&g.lock));
	/* Slot gone: -EFAULT, nothing mapped. */
	T(vm_memslot_remove(&vm, GPA0) == 0);
	T(gpc_refresh(&g, LEN) == -EFAULT && !g.valid && g.khva == NULL && g.active);
	gpc_deactivate(&g);
	T(warn_count == w0);
}

/* The hypervisor writes through the cache: host write protection and
 * read-only memslots keep it invalid. */
static void test_write_access_required(void)
{
	void *p;

	setup();
	T(gpc_activate(&g, GPA, LEN) == 0 && g.valid);
	T(mm_protect(&mm, HVA, PAGE_SIZE, PT_PROT_R, false) == 1 && !g.valid);
	T(gpc_lock(&g, LEN, &p) == -EFAULT && !g.valid && !rw_is_locked(&g.lock));
	T(mm_protect(&mm, HVA, PAGE_SIZE, PT_PROT_RW, false) == 1);
	T(gpc_lock(&g, LEN, &p) == 0 && p == g.khva && g.valid);
	gpc_unlock(&g);
	gpc_deactivate(&g);
	vm.slots.slot[0].flags |= MEMSLOT_READONLY;
	T(gpc_activate(&g, GPA, LEN) == -EACCES && !g.active && vm.gpc_list == NULL);
	vm.slots.slot[0].flags &= ~MEMSLOT_READONLY;
	T(warn_count == w0);
}

static void test_deactivate_clean(void)
{
	setup();
	T(gpc_activate(&g, GPA, LEN) == 0);
	gpc_deactivate(&g);
	T(cleared(&g) && vm.gpc_list == NULL && !gpc_check(&g, LEN));
	g.hook = NULL;
	struct gpc snap = g;
	uint64_t to = new_frame(), from;
	T(mm_migrate(&mm, HVA, to, &from) == 0);
	T(mm_protect(&mm, HVA, PAGE_SIZE, PT_PROT_R, false) == 1);
	T(mm_unmap(&mm, HVA0, SZ_2M) == 512);
	T(memcmp(&snap, &g, sizeof(g)) == 0);
	gpc_deactivate(&g); /* twice is harmless */
	T(memcmp(&snap, &g, sizeof(g)) == 0 && vm.gpc_list == NULL);
	T(warn_count == w0);
}

int main(void)
{
	RUN(test_activate_refusals);
	RUN(test_write_access_required);
	RUN(test_activate_ok);
	RUN(test_refresh_races_invalidation);
	RUN(test_inflight_invalidation);
	RUN(test_refresh_inside_own_invalidation);
	RUN(test_invalidations_elsewhere);
	RUN(test_refresh_serialised);
	RUN(test_deactivate_races);
	RUN(test_memslot_change);
	RUN(test_deactivate_clean);
	return tap_finish();
}
