/*
 * `make bench`: the invalidation mix. A guest writes one byte to every 4 KiB
 * page of [1 GiB, 1 GiB + 4 MiB) and yields after each round
 * (TG_TOUCH_YIELD); between rounds the host changes the backing with the
 * mm_* operations of tests/kernel/test_guest_inval.c. Per kind of event: the
 * notifier batches, the EPT leaves zapped, the INVEPTs and the fault retries
 * (during the event and the guest's next round), next to the minimum that
 * event allowed, computed from the EPT as it was just before it:
 *   zaps:    the EPT leaves over a host page the event changed for the guest
 *            (unmapped, moved to another frame, write access taken from a
 *            writable leaf, NUMA-hinted), found by comparing the host page
 *            tables before and after it: a split or an added right changes
 *            nothing the guest sees, and needs no zap;
 *   INVEPT:  one per batch that zapped something, none otherwise (aging: one
 *            per batch that cleared an accessed bit, which the CPU only sets
 *            again on a fresh walk);
 *   retries: one per fault whose page an invalidation covered while the fault
 *            ran, none for a fault outside every in-progress range.
 * Events run while the guest is paused, so only the race rows, where the host
 * acts from inside a fault (vm->fault_hook), can retry. Counts are
 * deterministic; printed, never asserted (the tests assert exact counts).
 */
#include "boot/bench.h"
#include "vmx/vmx.h"
#include "ept/vm.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "guest/testguest.h"

#define SZ_1G (1ULL << 30)
#define SZ_2M (2ULL << 20)
#define GPA_A SZ_1G              /* 2 MiB, 4 KiB host pages: collapses */
#define GPA_B (SZ_1G + SZ_2M)    /* 2 MiB, one 2 MiB host page: splits */
#define GPA_C (SZ_1G + 2 * SZ_2M) /* 2 MiB the guest never touches: races elsewhere */
#define PAGE(base, i) ((base) + (uint64_t)(i) * PAGE_SIZE)

enum row {
	ROW_MIGRATE, ROW_PROTECT, ROW_NUMA, ROW_UNMAP, ROW_COLLAPSE, ROW_SPLIT, ROW_AGING,
	ROW_RACE_SAME, ROW_RACE_ENDED, ROW_RACE_RUNNING, ROWS,
};

static const char *const row_names[ROWS] = {
	"migrate", "protect", "protect-numa", "unmap", "collapse", "split", "aging",
	"race-same-page", "race-other-ended", "race-other-running",
};

enum op { OP_MIGRATE, OP_PROTECT, OP_NUMA, OP_UNMAP, OP_COLLAPSE, OP_SPLIT, OP_AGE, OP_HOLD };

struct counts {
	uint64_t batches, zaps, zaps_min, invept, invept_min, retries, retries_min, faults;
};

/* An event run from inside the guest's fault on @gpa, after its host walk. */
struct race {
	uint64_t gpa;
	enum row row;
	enum op op;
	uint64_t ev_gpa, ev_size;
	bool fired;
};

struct bench {
	struct guest g;
	struct counts row[ROWS];
	uint64_t round;        /* the guest's last yield */
	uint64_t event_invept; /* INVEPTs host_event() counted, not to count twice */
	struct race race;
	struct mmu_range held; /* OP_HOLD: started, ended after the round */
	bool failed;
};

struct must {
	bool accessed;         /* count only the leaves with the accessed bit */
	long n;
};

static bool must_one(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct must *m = ctx;
	pte_t e = READ_ONCE(*entry);

	(void)gpa, (void)level;
	m->n += !m->accessed || (e & EPT_ACCESSED);
	return true;
}

/*
 * Leaves present over what host [hva, hva + size) backs, in every memslot
 * (partly covered pages count, as the notifier counts them).
 */
static long must_count(struct vm *vm, uint64_t hva, uint64_t size, bool accessed)
{
	struct must m = { accessed, 0 };

	for (unsigned i = 0; i < vm->slots.n; i++) {
		const struct memslot *s = &vm->slots.slot[i];
		uint64_t a = MAX(hva, s->hva), e = MIN(hva + size, s->hva + (s->npages << PAGE_SHIFT));

		if (a >= e)
			continue;
		uint64_t off = ALIGN_DOWN(a - s->hva, PAGE_SIZE);
		pt_for_each_leaf(&vm->ept, (s->base_gfn << PAGE_SHIFT) + off,
				 ALIGN_UP(e - s->hva, PAGE_SIZE) - off, must_one, &m);
	}
	return m.n;
}

static uint64_t gpa_hva(struct vm *vm, uint64_t gpa)
{
	return memslots_page_hva(&vm->slots, gpa);
}

/* A 4 KiB page of the 2 MiB block an event falls in, as the host and EPT map it. */
struct page_state {
	bool mapped;
	uint64_t pa;
	unsigned prot;
	pte_t *leaf;   /* the EPT leaf over its gfn, NULL if none */
	bool leaf_w;
};

static struct page_state pages_before[PT_ENTRIES];

/*
 * The 2 MiB block of @gpa, where every event here stays. The slots map
 * 2 MiB-aligned guest blocks to 2 MiB-aligned host blocks, so page i is at
 * both bases + i pages.
 */
static void block_state(struct vm *vm, uint64_t gpa, struct page_state *ps)
{
	uint64_t hva = ALIGN_DOWN(gpa_hva(vm, gpa), SZ_2M);

	gpa = ALIGN_DOWN(gpa, SZ_2M);
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		struct pt_walk w;
		int level;

		ps[i].mapped = pt_lookup(&host_mm.pt, hva + i * PAGE_SIZE, &w) == 0;
		ps[i].pa = ps[i].mapped ? ALIGN_DOWN(w.pa, PAGE_SIZE) : 0;
		ps[i].prot = ps[i].mapped ? w.prot : 0;
		ps[i].leaf = pt_find_leaf(&vm->ept, gpa + i * PAGE_SIZE, &level);
		ps[i].leaf_w = ps[i].leaf && (READ_ONCE(*ps[i].leaf) & EPT_W);
	}
}

/* EPT leaves that had to go: over a page the event changed for the guest. */
static long must_zap(const struct page_state *before, const struct page_state *after)
{
	const pte_t *last = NULL;
	long n = 0;

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		const struct page_state *b = &before[i], *a = &after[i];
		bool changed = !a->mapped || a->pa != b->pa ||
			       (b->leaf_w && !(a->prot & PT_PROT_W)) ||
			       ((a->prot & PT_PROT_NUMA) && !(b->prot & PT_PROT_NUMA));

		if (b->leaf && changed && b->leaf != last) {
			n++; /* a 2 MiB leaf counts once, whichever of its pages changed */
			last = b->leaf;
		}
	}
	return n;
}

static void failed(struct bench *b, const char *what, long r)
{
	if (!b->failed)
		printk("bench: inval: %s failed (%ld); the figures below are incomplete\n", what, r);
	b->failed = true;
}

/*
 * One host event on the backing of guest-physical [gpa, gpa + size) (one
 * memslot): run it and count it in @r. One switch over the event kinds, kept
 * whole so each event's bracket reads in one place (over 60 lines).
 */
static void host_event(struct bench *b, enum row r, enum op op, uint64_t gpa, uint64_t size,
		       unsigned prot)
{
	struct vm *vm = &b->g.vm;
	struct counts *c = &b->row[r];
	uint64_t hva = gpa_hva(vm, gpa), fresh, old;
	uint64_t zaps0 = vm->stats.ept_zaps, invept0 = vm->stats.invept;
	long must, ret = 0;
	bool flush_needed = false;

	if (op == OP_AGE && vm->ept_ad) {
		must = 0; /* accessed bits are cleared in place */
		flush_needed = must_count(vm, hva, size, true) > 0;
	} else if (op == OP_AGE || op == OP_HOLD) {
		/* Aging without A/D bits zaps what it reports; a held unmap zaps all. */
		must = must_count(vm, hva, size, false);
	} else {
		must = 0; /* counted after the event, against this */
		block_state(vm, gpa, pages_before);
	}

	switch (op) {
	case OP_MIGRATE:
		if ((ret = frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh)))
			break;
		if ((ret = mm_migrate(&host_mm, hva, fresh, &old)))
			frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
		else
			frame_free(&phys_frames, old, FRAME_ORDER_4K);
		break;
	case OP_PROTECT:
	case OP_NUMA:
		ret = mm_protect(&host_mm, hva, size, prot, op == OP_NUMA);
		break;
	case OP_UNMAP:
		ret = mm_unmap(&host_mm, hva, size);
		break;
	case OP_COLLAPSE:
		ret = mm_collapse(&host_mm, hva);
		break;
	case OP_SPLIT:
		ret = mm_split(&host_mm, hva, PT_LEVEL_2M);
		break;
	case OP_AGE:
		mm_clear_young(&host_mm, hva, size);
		break;
	case OP_HOLD:
		/* The host half-way through a change: start() now, end() after the round. */
		b->held = (struct mmu_range){ hva, hva + size, MMU_EV_UNMAP, 0 };
		vm->mn.ops->invalidate_range_start(&vm->mn, &b->held);
		break;
	}
	if (ret < 0)
		failed(b, row_names[r], ret);
	if (op != OP_AGE && op != OP_HOLD) {
		static struct page_state after[PT_ENTRIES];

		block_state(vm, gpa, after);
		must = must_zap(pages_before, after);
	}

	uint64_t zaps = vm->stats.ept_zaps - zaps0, invept = vm->stats.invept - invept0;
	c->batches++;
	c->zaps += zaps;
	c->zaps_min += (uint64_t)must;
	c->invept += invept;
	c->invept_min += op == OP_AGE ? flush_needed || zaps : zaps > 0;
	b->event_invept += invept;
}

static void race_hook(struct vm *vm, enum fault_step step, void *ctx)
{
	struct bench *b = ctx;
	struct race *rc = &b->race;

	(void)vm;
	if (step != FAULT_STEP_WALKED || rc->fired ||
	    ALIGN_DOWN(b->g.vcpu.last_fault_gpa, PAGE_SIZE) != rc->gpa)
		return;
	rc->fired = true;
	/* This fault must retry only if the event covers its page. */
	b->row[rc->row].retries_min += rc->gpa >= rc->ev_gpa && rc->gpa < rc->ev_gpa + rc->ev_size;
	host_event(b, rc->row, rc->op, rc->ev_gpa, rc->ev_size, PT_PROT_RW);
}

/* Resume the guest until its next yield (or write fault); count its faults in @r. */
static enum vcpu_stop guest_round(struct bench *b, enum row r)
{
	struct vm *vm = &b->g.vm;
	struct counts *c = &b->row[r];
	uint64_t faults0 = vm->stats.ept_violations, retries0 = vm->stats.ept_retries;
	uint64_t invept0 = vm->stats.invept, ev0 = b->event_invept;

	if (b->failed || !vcpu_resume(&b->g.vcpu))
		return STOP_NONE;
	enum vcpu_stop s = guest_run(&b->g);
	if (s == STOP_YIELD && b->g.vcpu.exit_code != (long)++b->round)
		failed(b, "the guest's round count", b->g.vcpu.exit_code);
	else if (s != STOP_YIELD && s != STOP_MEMORY_FAULT)
		failed(b, "the guest", s);
	c->faults += vm->stats.ept_violations - faults0;
	c->retries += vm->stats.ept_retries - retries0;
	/* Faults never need a flush (they fill empty entries): minimum 0. */
	c->invept += vm->stats.invept - invept0 - (b->event_invept - ev0);
	return s;
}

/*
 * A race: zap @page (a protect-numa event) so the guest faults on it, and run
 * @op on [gpa, gpa + size) inside that fault.
 */
static void race(struct bench *b, enum row r, uint64_t page, enum op op, uint64_t gpa,
		 uint64_t size)
{
	host_event(b, ROW_NUMA, OP_NUMA, page, PAGE_SIZE, PT_PROT_RW);
	b->race = (struct race){ page, r, op, gpa, size, false };
	b->g.vm.fault_hook = race_hook;
	b->g.vm.fault_hook_ctx = b;
	guest_round(b, r);
	b->g.vm.fault_hook = NULL;
	if (!b->race.fired)
		failed(b, row_names[r], -ENOENT);
	if (op == OP_HOLD)
		b->g.vm.mn.ops->invalidate_range_end(&b->g.vm.mn, &b->held);
}

static void script(struct bench *b)
{
	/* Migrate a page twice in one pause: the second finds nothing mapped. */
	host_event(b, ROW_MIGRATE, OP_MIGRATE, PAGE(GPA_A, 5), PAGE_SIZE, 0);
	guest_round(b, ROW_MIGRATE);
	host_event(b, ROW_MIGRATE, OP_MIGRATE, PAGE(GPA_A, 6), PAGE_SIZE, 0);
	host_event(b, ROW_MIGRATE, OP_MIGRATE, PAGE(GPA_A, 6), PAGE_SIZE, 0);
	guest_round(b, ROW_MIGRATE);

	/* Read-only: the guest's write stops it; write access back; then an added right. */
	host_event(b, ROW_PROTECT, OP_PROTECT, PAGE(GPA_A, 0), 16 * PAGE_SIZE, PT_PROT_R);
	if (guest_round(b, ROW_PROTECT) == STOP_MEMORY_FAULT) {
		host_event(b, ROW_PROTECT, OP_PROTECT, PAGE(GPA_A, 0), 16 * PAGE_SIZE, PT_PROT_RW);
		guest_round(b, ROW_PROTECT);
	} else {
		failed(b, "a write to a write-protected page", 0);
	}
	host_event(b, ROW_PROTECT, OP_PROTECT, PAGE(GPA_A, 16), 16 * PAGE_SIZE, PT_PROT_RWX);
	guest_round(b, ROW_PROTECT);

	/* NUMA hinting on 64 small leaves and on the 2 MiB leaf. */
	host_event(b, ROW_NUMA, OP_NUMA, PAGE(GPA_A, 64), 64 * PAGE_SIZE, PT_PROT_RW);
	host_event(b, ROW_NUMA, OP_NUMA, GPA_B, SZ_2M, PT_PROT_RW);
	guest_round(b, ROW_NUMA);

	/* Unmap: the fault maps fresh backing. Unmapping what EPT never mapped costs nothing. */
	host_event(b, ROW_UNMAP, OP_UNMAP, PAGE(GPA_A, 100), 4 * PAGE_SIZE, 0);
	host_event(b, ROW_UNMAP, OP_UNMAP, PAGE(GPA_C, 511), PAGE_SIZE, 0);
	guest_round(b, ROW_UNMAP);

	host_event(b, ROW_COLLAPSE, OP_COLLAPSE, GPA_A, SZ_2M, 0);
	guest_round(b, ROW_COLLAPSE);
	host_event(b, ROW_SPLIT, OP_SPLIT, GPA_B, SZ_2M, 0);
	guest_round(b, ROW_SPLIT);

	/* Age both slots twice in one pause: the second pass finds nothing young. */
	for (int pass = 0; pass < 2; pass++) {
		host_event(b, ROW_AGING, OP_AGE, GPA_A, SZ_2M, 0);
		host_event(b, ROW_AGING, OP_AGE, GPA_B, SZ_2M, 0);
	}
	guest_round(b, ROW_AGING);

	/* On B, split to 4 KiB pages by now: a zapped page costs one fault, nothing more. */
	race(b, ROW_RACE_SAME, PAGE(GPA_B, 0), OP_NUMA, PAGE(GPA_B, 0), PAGE_SIZE);
	race(b, ROW_RACE_ENDED, PAGE(GPA_B, 1), OP_NUMA, GPA_C, PAGE_SIZE);
	race(b, ROW_RACE_RUNNING, PAGE(GPA_B, 2), OP_HOLD, GPA_C, SZ_2M);
}

static void print_row(const char *name, const struct counts *c)
{
	printk("bench: inval %s: batches %llu, zaps %llu (minimum %llu), invept %llu (minimum %llu), "
	       "retries %llu (minimum %llu), guest faults %llu\n", name,
	       (unsigned long long)c->batches, (unsigned long long)c->zaps,
	       (unsigned long long)c->zaps_min, (unsigned long long)c->invept,
	       (unsigned long long)c->invept_min, (unsigned long long)c->retries,
	       (unsigned long long)c->retries_min, (unsigned long long)c->faults);
}

void bench_inval(void)
{
	static struct bench b; /* a whole struct guest: off the stack */
	static const struct { uint64_t gpa; int level; } ram[] = {
		{ GPA_A, PT_LEVEL_4K }, { GPA_B, PT_LEVEL_2M }, { GPA_C, PT_LEVEL_4K },
	};
	char err[200];

	memset(&b, 0, sizeof(b));
	if (bench_guest(&b.g, TG_TOUCH_YIELD, GPA_A, 2 * SZ_2M))
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(ram); i++) {
		int r = vm_add_ram(&b.g.vm, ram[i].gpa, SZ_2M, ram[i].level, 0, 0, err, sizeof(err));

		if (r) {
			printk("bench: inval: %s\n", err);
			goto out;
		}
	}
	if (guest_run(&b.g) != STOP_YIELD || b.g.vcpu.exit_code != 1) {
		printk("bench: inval: the guest did not finish its first round\n");
		goto out;
	}
	b.round = 1;
	script(&b);

	struct counts total = { 0 };
	for (unsigned r = 0; r < ROWS; r++) {
		const struct counts *c = &b.row[r];

		print_row(row_names[r], c);
		total.batches += c->batches;
		total.zaps += c->zaps;
		total.zaps_min += c->zaps_min;
		total.invept += c->invept;
		total.invept_min += c->invept_min;
		total.retries += c->retries;
		total.retries_min += c->retries_min;
		total.faults += c->faults;
	}
	print_row("total", &total);
	long bad = ept_check_coherent(&b.g.vm, err, sizeof(err));
	if (bad)
		printk("bench: inval: %ld incoherent EPT leaves at the end: %s\n", bad, err);
out:
	guest_destroy(&b.g);
}
