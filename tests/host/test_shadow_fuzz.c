/*
 * A seeded fuzzer of the guest's page tables against the shadow MMU (issue
 * 21), on the harness of shadow_harness.h. Random sequences of what a
 * guest and its host do to page tables: PML4E/PDPTE/PDE/PTE stores by the
 * guest (through its own mapping of its tables, trapped, emulated or left
 * unsync as the shadow MMU decides), whole table pages cleared as data with
 * a string store, minihv's own writes into them (vm_write_guest(): a
 * hypercall's output, the vCPU-info cache), INVLPG, CR3 switches among
 * three address spaces, memslot removal and re-adding, host migrate,
 * write-protect and unmap. After each flush point every probed access
 * (read, write, user read) must give what the guest's own software walk
 * (shadow_translate()) says: the frame, or the #PF with its error code.
 * The auditor (shadow_audit(), inside shadow_coherent()) runs after every
 * operation. Each run prints its seed; FUZZ_SEED=N FUZZ_OPS=M rerun one.
 */
#include <stdlib.h>
#include "tests/host/shadow_harness.h"
#include "ept/guest_mem.h"

#define NT 10                            /* table pages 0..9: the harness's six, then spares */
#define TAB(k) (GPA0 + (uint64_t)(k) * PAGE_SIZE)
#define PML4C TAB(6)                     /* a third address space */
#define SPARE0 7                         /* 7..9: tables for anything */
#define NDATA 16

struct fuzz {
	uint64_t seed, rng;
	unsigned long op, checks, stores, emulated, unprotects, hv_writes, flushes, loads, slots,
		host_changes;
	char log[16][96];
	bool failed;
};

static struct fuzz fz;

static uint64_t rnd(void)
{
	/* xorshift64* */
	fz.rng ^= fz.rng >> 12;
	fz.rng ^= fz.rng << 25;
	fz.rng ^= fz.rng >> 27;
	return fz.rng * 0x2545f4914f6cdd1dULL;
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static __printf(1, 2) void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fz.log[fz.op % 16], sizeof(fz.log[0]), fmt, ap);
	va_end(ap);
}

static __printf(1, 2) void fail(const char *fmt, ...)
{
	va_list ap;

	if (fz.failed)
		return;
	fz.failed = true;
	printf("# fuzz seed %llu failed at operation %lu: ", (unsigned long long)fz.seed, fz.op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n# the last operations (oldest first):\n");
	for (unsigned long k = fz.op >= 15 ? fz.op - 15 : 0; k <= fz.op; k++)
		printf("#   %lu: %s\n", k, fz.log[k % 16]);
	printf("# rerun: FUZZ_SEED=%llu FUZZ_OPS=%lu build/host/test_shadow_fuzz\n",
	       (unsigned long long)fz.seed, fz.op + 1);
}

/* The guest's kernel path to its tables, never changed: PML4*[0] -> PDPT, [0] -> PD, [2] -> PT. */
static void fuzz_tables(void)
{
	guest_tables();
	memset(hva_ptr(gpa_hva(PML4C)), 0, PAGE_SIZE);
	for (unsigned k = NTABLES; k < NT; k++) {
		memset(hva_ptr(gpa_hva(TAB(k))), 0, PAGE_SIZE);
		*gpte(PT, SELF + k) = TAB(k) | G_P | G_W | G_U | G_A | G_D;
	}
	*gpte(PML4C, 0) = PDPT | TABLE;
	/* Pages taken for tables then read as empty ones, not as entries outside RAM. */
	for (uint64_t gpa = TAB(NT); gpa < GPA0 + SZ_2M; gpa += PAGE_SIZE)
		memset(hva_ptr(gpa_hva(gpa)), 0, PAGE_SIZE);
}

/* An entry the fuzzer may change: not on the kernel path, nor its self-map. */
static void pick_entry(unsigned *k, unsigned *i)
{
	for (;;) {
		*k = below(NT);
		*i = *k >= SPARE0 ? below(4) : *k == PT || *k == PT2 - GPA0 ? below(8) : below(5);
		uint64_t t = TAB(*k);

		if (t == PML4 || t == PML4B || t == PML4C || t == PDPT)
			*i = 1;
		if (!(t == PD && *i == 2))
			return;
	}
}

static uint64_t random_entry(unsigned k)
{
	uint64_t v;

	if (below(8) == 0)
		return 0;
	if (below(2))
		v = TAB(below(NT));
	else
		v = DATA(below(NDATA));
	v |= G_P;
	if (below(10) < 7)
		v |= G_W;
	if (below(10) < 7)
		v |= G_U;
	if (below(2))
		v |= G_A | (below(2) ? G_D : 0);
	if (below(20) == 0)
		v |= G_NX; /* reserved: EFER.NXE is clear */
	if (TAB(k) != PML4 && below(12) == 0)
		v = GPA0 | G_PS | (v & ~G_ADDR); /* a huge page: the whole 2 MiB slot */
	return v;
}

/*
 * The guest's CPU stores @val at GPA @gpa of a table page through its own
 * mapping (GVA_OF_TABLE): directly on a writable shadow leaf, else through
 * the #PF path as virt/shadow.c would. @string: a string store minihv
 * cannot emulate (unprotect and retry). False if the store did not happen.
 */
static bool guest_store(uint64_t gpa, uint64_t val, bool string)
{
	uint64_t gva = GVA_OF_TABLE((gpa - GPA0) >> PAGE_SHIFT) + (gpa & (PAGE_SIZE - 1));
	char why[160];

	for (int tries = 0; tries < 8; tries++) {
		pte_t e = cpu_leaf(gva);

		if ((e & G_P) && (e & G_W)) {
			uint64_t *p = phys_to_virt((e & G_ADDR) + (gpa & (PAGE_SIZE - 1)));

			if (string)
				memset(phys_to_virt(e & G_ADDR), 0, PAGE_SIZE);
			else
				__atomic_store_n(p, val, __ATOMIC_RELAXED);
			return true;
		}
		int r = pf(gva, X86_PF_WRITE | ((e & G_P) ? X86_PF_PROT : 0));
		if (r == SHADOW_RELOAD) {
			load(&smode);
		} else if (r == SHADOW_EMULATE && string) {
			fz.unprotects++;
			if (!shadow_unprotect_gfn(&vm, gfn_of(last_gpa)))
				return false; /* a root in use: virt/shadow.c stops the guest */
		} else if (r == SHADOW_EMULATE) {
			fz.emulated++;
			r = shadow_emulated_write(&vm, last_gpa, val, 8, why, sizeof(why));
			if (r == -EPERM)
				return false; /* the host keeps the page read-only */
			if (!r)
				return true;
		} else if (r == -EPERM) {
			return false;
		} else if (r != SHADOW_RESUME) {
			fail("the guest's own mapping of table %#llx gave %d", (unsigned long long)gpa, r);
			return false;
		}
	}
	fail("a store to table GPA %#llx makes no progress", (unsigned long long)gpa);
	return false;
}

/* The probes: PML4 index 0-1, PDPT 0-1, PD 0-3, PT 0-7. */
#define NPROBES (2 * 2 * 4 * 8)
static uint64_t probe(unsigned n)
{
	return ((uint64_t)(n >> 6) << 39) | ((uint64_t)((n >> 5) & 1) << 30) |
	       ((uint64_t)((n >> 3) & 3) << 21) | ((uint64_t)(n & 7) << 12);
}

/* What the guest's CPU does at @gva for @pfec: 0 frame, 1 #PF, 2 an emulated table write. */
static int cpu_access(uint64_t gva, uint32_t pfec, uint64_t *out)
{
	for (int tries = 0; tries < 8; tries++) {
		pte_t e = cpu_leaf(gva);

		if ((e & G_P) && (!(pfec & X86_PF_WRITE) || (e & G_W)) &&
		    (!(pfec & X86_PF_USER) || (e & G_U))) {
			*out = e & G_ADDR;
			return 0;
		}
		int r = pf(gva, pfec | ((e & G_P) ? X86_PF_PROT : 0));
		switch (r) {
		case SHADOW_REFLECT:
			*out = last_pfec;
			return 1;
		case SHADOW_EMULATE:
			*out = last_gpa & ~(PAGE_SIZE - 1);
			return 2;
		case SHADOW_RELOAD:
			load(&smode);
			break;
		case SHADOW_RESUME:
			break;
		default:
			*out = (uint64_t)r;
			return 3;
		}
	}
	return 4;
}

/* The host frame of guest page @gpa, or ~0 outside RAM. */
static uint64_t frame_of(uint64_t gpa)
{
	if (!memslot_find(&vm.slots, gfn_of(gpa)))
		return ~0ULL;
	return host_pa(gpa & ~(PAGE_SIZE - 1));
}

static bool host_read_only(uint64_t gpa)
{
	struct pt_walk w;

	return !mm_lookup(&mm, gpa_hva(gpa & ~(PAGE_SIZE - 1)), &w) && !(w.prot & PT_PROT_W);
}

/* The shadow path the CPU walks for @gva, for a failure's report. */
static void dump_path(uint64_t gva)
{
	struct shadow_page *sp = sroot;

	for (int level = PT_LEVELS; sp && level >= PT_LEVEL_4K; level--) {
		unsigned i = pt_index(gva, level);
		uint64_t g = 0;

		if (!sp->role.direct && memslot_find(&vm.slots, sp->gfn))
			g = *gpte(sp->gfn << PAGE_SHIFT, i);
		printf("#   level %d: shadow page of gfn %#llx (role %#x%s%s), entry %u = %#llx, built "
		       "from %#llx, the guest's now %#llx\n", level, (unsigned long long)sp->gfn,
		       sp->role.word, sp->unsync ? ", unsync" : "", sp->role.invalid ? ", invalid" : "",
		       i, (unsigned long long)sp->spt[i], (unsigned long long)sp->gptes[i],
		       (unsigned long long)g);
		sp = level > PT_LEVEL_4K && (sp->spt[i] & G_P) ? sp->child[i] : NULL;
	}
}

/* The guest table holding @gva's leaf entry now, or 0 (the guest's walk, read here). */
static uint64_t leaf_table(uint64_t gva)
{
	uint64_t table = smode.cr3 & G_ADDR;

	for (int level = PT_LEVELS; level >= PT_LEVEL_4K; level--) {
		if (!memslot_find(&vm.slots, gfn_of(table)))
			return 0;
		uint64_t e = *gpte(table, pt_index(gva, level));
		if (!(e & G_P))
			return 0;
		if (level == PT_LEVEL_4K || (e & G_PS))
			return table;
		table = e & G_ADDR;
	}
	return 0;
}

static void check_probe(uint64_t gva)
{
	static const uint32_t kinds[] = { 0, X86_PF_WRITE, X86_PF_USER };

	for (unsigned k = 0; k < ARRAY_SIZE(kinds) && !fz.failed; k++) {
		uint64_t gpa = 0, got = 0;
		uint32_t want_pfec = 0;
		int want = shadow_translate(&vm, &smode, gva, kinds[k], &gpa, &want_pfec);
		int r = cpu_access(gva, kinds[k], &got);

		if (getenv("FUZZ_DEBUG")) {
			char why[200] = "";
			if (shadow_check_coherent(&vm, why, sizeof(why))) {
				printf("# after access %#x at %#llx: %s\n", kinds[k],
				       (unsigned long long)gva, why);
				dump_path(gva);
				exit(1);
			}
		}

		fz.checks++;
		if (want == 0 && r == 0 && got == frame_of(gpa))
			continue;
		/* A write to a page the host keeps read-only: the guest stops (STOP_READONLY). */
		if (want == 0 && r == 3 && (int64_t)got == -EPERM && kinds[k] == X86_PF_WRITE &&
		    host_read_only(gpa))
			continue;
		/* ... or to a page whose table the host keeps read-only: no dirty bit can be set. */
		if (want == 0 && r == 3 && (int64_t)got == -EPERM && kinds[k] == X86_PF_WRITE &&
		    leaf_table(gva) && host_read_only(leaf_table(gva)))
			continue;
		/* A guest huge page reaching beyond RAM: the access stops the guest. */
		if (want == 0 && r == 3 && frame_of(gpa) == ~0ULL)
			continue;
		if (want == 0 && r == 2 && kinds[k] == X86_PF_WRITE && got == (gpa & ~(PAGE_SIZE - 1)))
			continue;
		if (want == 1 && r == 1 && got == want_pfec)
			continue;
		/* A table outside RAM (a huge page's piece read as one): both stop the guest. */
		if (want < 0 && r == 3 && (int64_t)got == want)
			continue;
		if (!fz.failed)
			dump_path(gva);
		fail("GVA %#llx access %#x: the guest's walk says %d (GPA %#llx, frame %#llx, "
		     "error %#x), the CPU got %d (%#llx)", (unsigned long long)gva, kinds[k], want,
		     (unsigned long long)gpa, (unsigned long long)(want ? 0 : frame_of(gpa)),
		     want_pfec, r, (unsigned long long)got);
	}
}

static void check_all(void)
{
	for (unsigned n = 0; n < NPROBES && !fz.failed; n++)
		check_probe(probe(n));
}

/*
 * An access of minihv's, made at the start of a host change (holes 4 and
 * 9): none may go through while an invalidation in progress covers its
 * page (on another CPU the change may copy the page at any moment).
 */
struct window_access {
	uint64_t gpa;
	unsigned how; /* 0 vm_write_guest, 1 vm_read_guest, 2 an emulated guest store */
};
static struct window_access window;

static void access_in_window(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct window_access *wa = ctx;
	uint64_t v = 0x1234567890abcdefULL & ~G_P;
	char why[160];
	int ret;

	(void)m, (void)r;
	if (at != MM_STEP_STARTED)
		return;
	if (wa->how == 0)
		ret = vm_write_guest(&vm, wa->gpa, &v, 8);
	else if (wa->how == 1)
		ret = vm_read_guest(&vm, wa->gpa, &v, 8);
	else
		ret = shadow_emulated_write(&vm, wa->gpa, v, 8, why, sizeof(why));
	spin_lock(&vm.mmu_lock);
	bool covered = mmu_invalidate_covers_gfn(&vm.inval, gfn_of(wa->gpa));
	spin_unlock(&vm.mmu_lock);
	if (ret == 0 && covered)
		fail("access %u at GPA %#llx went through while the host was changing its page",
		     wa->how, (unsigned long long)wa->gpa);
}

static void one_op(void)
{
	unsigned k, i, w = below(100);
	uint64_t v, new_pa, old_pa;
	char err[160];

	if (w < 40) {
		pick_entry(&k, &i);
		v = random_entry(k);
		note("guest store table %u[%u] = %#llx", k, i, (unsigned long long)v);
		fz.stores += guest_store(TAB(k) + i * 8, v, false);
	} else if (w < 44) {
		k = SPARE0 + below(NT - SPARE0);
		note("guest clears table %u with a string store", k);
		guest_store(TAB(k), 0, true);
	} else if (w < 54) {
		pick_entry(&k, &i);
		v = random_entry(k);
		note("minihv writes table %u[%u] = %#llx", k, i, (unsigned long long)v);
		if (vm_write_guest(&vm, TAB(k) + i * 8, &v, 8) == 0)
			fz.hv_writes++;
	} else if (w < 70) {
		uint64_t gva = probe(below(NPROBES));

		note("INVLPG %#llx", (unsigned long long)gva);
		shadow_invlpg(&vm, sroot, gva);
		fz.flushes++;
		check_probe(gva);
	} else if (w < 78) {
		/* Any page as a PML4 for a moment: new roots, reclaimed under the bound (hole 11). */
		uint64_t back = smode.cr3;

		smode.cr3 = GPA0 + below(512) * PAGE_SIZE;
		note("CR3 <- %#llx for a moment", (unsigned long long)smode.cr3);
		if (load(&smode))
			fail("CR3 load refused");
		if (vm.smmu.nr_pages > shadow_page_limit(&vm))
			fail("%lu shadow pages after a CR3 load, the bound is %lu", vm.smmu.nr_pages,
			     shadow_page_limit(&vm));
		for (unsigned n = 0; n < 4; n++)
			check_probe(probe(below(NPROBES)));
		smode.cr3 = back;
		if (load(&smode))
			fail("CR3 load refused");
		fz.loads += 2;
	} else if (w < 85) {
		static const uint64_t roots[] = { PML4, PML4B, PML4C };

		smode.cr3 = roots[below(3)];
		note("CR3 <- %#llx", (unsigned long long)smode.cr3);
		if (load(&smode))
			fail("CR3 load refused");
		fz.loads++;
		check_all();
	} else if (w < 87) {
		note("memslot removed (audited without it) and added back");
		T(vm_memslot_remove(&vm, GPA0) == 0);
		char why[200] = "";
		if (shadow_check_coherent(&vm, why, sizeof(why)))
			fail("with the memslot removed: %s", why);
		T(vm_memslot_add(&vm, GPA0, SZ_2M, HVA0, 0, err, sizeof(err)) == 0);
		fz.slots++;
	} else if (w < 93) {
		k = below(NT);
		note("host migrates table page %u, an access at its start", k);
		window.gpa = TAB(k) + below(512) * 8;
		window.how = below(3);
		mm.step_hook = access_in_window;
		mm.step_hook_ctx = &window;
		if (frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0) {
			if (mm_migrate(&mm, gpa_hva(TAB(k)), new_pa, &old_pa) == 0)
				frame_free(&fa, old_pa, FRAME_ORDER_4K);
			else
				frame_free(&fa, new_pa, FRAME_ORDER_4K);
		}
		mm.step_hook = NULL;
		fz.host_changes++;
	} else if (w < 96) {
		k = below(NT);
		bool ro = below(2);
		note("host makes table page %u %s", k, ro ? "read-only" : "writable");
		mm_protect(&mm, gpa_hva(TAB(k)), PAGE_SIZE, ro ? PT_PROT_R : PT_PROT_RW, false);
		fz.host_changes++;
	} else {
		k = below(NDATA);
		note("host unmaps data page %u", k);
		mm_unmap(&mm, gpa_hva(DATA(k)), PAGE_SIZE);
		fz.host_changes++;
	}
	char why[200] = "";
	if (!fz.failed && shadow_check_coherent(&vm, why, sizeof(why)))
		fail("%s", why);
	if (!fz.failed && vm.bugged)
		fail("the VM is marked bugged");
}

static bool fuzz_run(uint64_t seed, unsigned long ops)
{
	memset(&fz, 0, sizeof(fz));
	fz.seed = seed;
	fz.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	svm_fresh(false);
	pf_quiet = true;
	/* Every other seed under a small bound: reclaim (hole 11) in the middle of it all. */
	vm.smmu.limit = seed % 2 ? 0 : 12;
	fuzz_tables();
	T(load(&smode) == 0);
	for (fz.op = 0; fz.op < ops && !fz.failed; fz.op++)
		one_op();
	if (!fz.failed) {
		/* A last full flush, then every probe. */
		T(load(&smode) == 0);
		check_all();
	}
	printf("# fuzz seed %llu: %lu operations, %lu checks; %lu guest stores (%lu emulated, %lu "
	       "string stores unprotected), %lu minihv writes, %lu INVLPGs, %lu CR3 loads, %lu "
	       "memslot cycles, %lu host changes; %lu shadow pages at most, %llu reclaimed\n",
	       (unsigned long long)seed, fz.op, fz.checks, fz.stores, fz.emulated, fz.unprotects,
	       fz.hv_writes, fz.flushes, fz.loads, fz.slots, fz.host_changes, vm.smmu.max_pages,
	       (unsigned long long)vm.stats.shadow_reclaimed);
	svm_done();
	return !fz.failed;
}

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : dflt;
}

/* Three seeds of 10,000 operations each (or FUZZ_SEED / FUZZ_OPS). */
static void test_shadow_fuzz(void)
{
	unsigned long ops = env_ul("FUZZ_OPS", 10000);

	if (getenv("FUZZ_SEED")) {
		T(fuzz_run(env_ul("FUZZ_SEED", 1), ops));
		return;
	}
	for (uint64_t seed = 1; seed <= 3; seed++)
		if (!T(fuzz_run(seed, ops)))
			return;
}

int main(void)
{
	RUN(test_shadow_fuzz);
	return tap_finish();
}
