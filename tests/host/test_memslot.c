/*
 * Host unit tests for ept/memslot.c: refusals with their messages, lookup at
 * the edges, removal, generations, gfn -> hva, the leaf-level choice, and
 * the index: slot[] in the order added, sorted[] by gfn, the last-used hint
 * (a stale one never gives a wrong answer), all checked against a linear
 * scan over random adds and removals of up to MEMSLOT_MAX slots.
 */
#include "tests/host/xorshift.h"
#include <stdio.h>
#include <string.h>
#include "lib/kerrno.h"
#include "ept/memslot.h"
#include "tests/host/hostshim.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define GFN(gpa) ((uint64_t)(gpa) >> 12)

static struct memslots ms;
static char err[200];
static uint64_t storage[MEMSLOTS_STORAGE / 8], storage_before[MEMSLOTS_STORAGE / 8];

static void reset(void)
{
	memset(storage, 0xa5, sizeof(storage)); /* nothing may read a slot before it is set */
	memslots_setup(&ms, storage);
}

/* Add and expect @want; a refusal must leave a message and change nothing. */
static int add(uint64_t gpa, uint64_t size, uint64_t hva, int want)
{
	struct memslots before;

	memcpy(&before, &ms, sizeof(ms));
	memcpy(storage_before, storage, sizeof(storage));

	memset(err, 0, sizeof(err));
	int r = memslot_add(&ms, gpa, size, hva, 0, err, sizeof(err));
	if (r != want) {
		printf("# add [%#llx, +%#llx) hva %#llx: %d, want %d (%s)\n",
		       (unsigned long long)gpa, (unsigned long long)size,
		       (unsigned long long)hva, r, want, err);
		return 0;
	}
	if (r && (!err[0] || memcmp(&before, &ms, sizeof(ms)) ||
		  memcmp(storage_before, storage, sizeof(storage)))) {
		printf("# add refused (%d) without a message or changed the slots\n", r);
		return 0;
	}
	return 1;
}

static void test_add_einval(void)
{
	reset();
	T(-EINVAL == -22);
	T(add(0, 0, 0x100000, -EINVAL));                      /* empty */
	T(strstr(err, "aligned") != NULL);
	T(add(0x800, 4 * KiB, 0x100000, -EINVAL));            /* gpa */
	T(add(0x1000, 4 * KiB + 1, 0x100000, -EINVAL));       /* size */
	T(add(0x1000, 2 * KiB, 0x100000, -EINVAL));
	T(add(0x1000, 4 * KiB, 0x100010, -EINVAL));           /* hva */
	T(add(~0xfffULL, 8 * KiB, 0x100000, -EINVAL));        /* wraps */
	T(add(~0xfffULL, 4 * KiB, 0x100000, -EINVAL));        /* ends at 2^64 */
	T(ms.n == 0 && ms.generation == 0);
	/* A message that does not fit is cut, not overrun (ASan watches). */
	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	T(memslot_add(&ms, 1, 1, 1, 0, tiny, sizeof(tiny)) == -EINVAL);
	T(tiny[0] && strlen(tiny) == sizeof(tiny) - 1);
}

static void test_add_eexist(void)
{
	reset();
	T(-EEXIST == -17);
	T(add(4 * MiB, 4 * MiB, 0x10000000, 0) && ms.n == 1);   /* [4M, 8M) */
	T(add(4 * MiB, 4 * MiB, 0x20000000, -EEXIST));          /* same */
	T(strstr(err, "overlaps") != NULL);
	T(add(2 * MiB, 2 * MiB + 4 * KiB, 0x20000000, -EEXIST)); /* tail over the start */
	T(add(8 * MiB - 4 * KiB, 4 * MiB, 0x20000000, -EEXIST)); /* head over the end */
	T(add(5 * MiB, 4 * KiB, 0x20000000, -EEXIST));           /* inside */
	T(add(8 * MiB - 4 * KiB, 4 * KiB, 0x20000000, -EEXIST)); /* last page */
	T(add(4 * MiB, 4 * KiB, 0x20000000, -EEXIST));           /* first page */
	T(add(0, 64 * MiB, 0x20000000, -EEXIST));                /* contains it */
	/* Adjacent at either end is fine. */
	T(add(2 * MiB, 2 * MiB, 0x20000000, 0));
	T(add(8 * MiB, 4 * KiB, 0x30000000, 0));
	T(ms.n == 3);
	/* Overlap with a slot other than the first. */
	T(add(8 * MiB, 8 * KiB, 0x40000000, -EEXIST));
	T(add(MiB, 2 * MiB, 0x40000000, -EEXIST));
	T(add(MiB, MiB, 0x40000000, 0));
	T(ms.n == 4 && ms.generation == 4);
}

static void test_add_enospc(void)
{
	reset();
	T(-ENOSPC == -28 && MEMSLOT_MAX >= 500);
	for (int i = 0; i < MEMSLOT_MAX; i++)
		T(add((uint64_t)i * 16 * MiB, 4 * MiB, 0x100000000ULL + (uint64_t)i * GiB, 0));
	T(ms.n == MEMSLOT_MAX && ms.generation == MEMSLOT_MAX);
	T(add(16 * GiB, 4 * MiB, 0x800000000ULL, -ENOSPC));
	T(strstr(err, "slots") != NULL);
	/* Overlap is still reported as such when full. */
	T(add(0, 4 * KiB, 0x800000000ULL, -EEXIST));
	/* One removed: room again. */
	T(memslot_remove(&ms, 3 * 16 * MiB) == 0 && ms.n == MEMSLOT_MAX - 1);
	T(add(16 * GiB, 4 * MiB, 0x800000000ULL, 0) && ms.n == MEMSLOT_MAX);
	/* The last slot moved into the hole; the new one is last. */
	T(memslot_find(&ms, GFN((MEMSLOT_MAX - 1) * 16 * MiB)) == &ms.slot[3]);
	T(memslot_find(&ms, GFN(16 * GiB)) == &ms.slot[MEMSLOT_MAX - 1]);
	/* Without storage (a VM before memslots_alloc()): nothing fits, nothing is found. */
	memset(&ms, 0, sizeof(ms));
	T(add(0, 4 * KiB, 0x1000, -ENOSPC) && memslot_find(&ms, 0) == NULL);
	T(memslot_remove(&ms, 0) == -ENOENT);
}

static void test_find(void)
{
	reset();
	T(memslot_find(&ms, 0) == NULL);
	T(add(GiB, 2 * MiB, 0x7f0000000000ULL, 0));
	T(add(16 * MiB, 4 * KiB, 0x7f1000000000ULL, 0));
	struct memslot *a = memslot_find(&ms, GFN(GiB));

	T(a && a->base_gfn == GFN(GiB) && a->npages == 512 && a->hva == 0x7f0000000000ULL);
	T(a->flags == 0 && a->ept_violations == 0);
	T(memslot_find(&ms, GFN(GiB + 2 * MiB) - 1) == a);   /* last gfn */
	T(memslot_find(&ms, GFN(GiB) - 1) == NULL);          /* just below */
	T(memslot_find(&ms, GFN(GiB + 2 * MiB)) == NULL);    /* just above */
	struct memslot *b = memslot_find(&ms, GFN(16 * MiB));
	T(b && b != a && b->npages == 1);
	T(memslot_find(&ms, GFN(16 * MiB) + 1) == NULL && memslot_find(&ms, GFN(16 * MiB) - 1) == NULL);
	T(memslot_find(&ms, ~0ULL) == NULL && memslot_find(&ms, 0) == NULL);

	/* gfn -> hva. */
	T(memslot_gfn_to_hva(a, GFN(GiB)) == 0x7f0000000000ULL);
	T(memslot_gfn_to_hva(a, GFN(GiB) + 1) == 0x7f0000001000ULL);
	T(memslot_gfn_to_hva(a, GFN(GiB + 2 * MiB) - 1) == 0x7f00001ff000ULL);
	T(memslot_gfn_to_hva(b, GFN(16 * MiB)) == 0x7f1000000000ULL);

	/* Flags are kept; a re-added slot starts with zero statistics. */
	T(memslot_add(&ms, 32 * MiB, 4 * KiB, 0x1000, MEMSLOT_READONLY, err, sizeof(err)) == 0);
	struct memslot *c = memslot_find(&ms, GFN(32 * MiB));
	T(c && c->flags == MEMSLOT_READONLY);
	c->ept_violations = 5;
	T(memslot_remove(&ms, 32 * MiB) == 0);
	T(memslot_add(&ms, 32 * MiB, 4 * KiB, 0x1000, 0, err, sizeof(err)) == 0);
	c = memslot_find(&ms, GFN(32 * MiB));
	T(c && c->flags == 0 && c->ept_violations == 0);
}

static void test_remove_generation(void)
{
	reset();
	T(add(0, 4 * MiB, 0x10000000, 0) && ms.generation == 1);
	T(add(8 * MiB, 4 * MiB, 0x20000000, 0) && ms.generation == 2);
	T(add(16 * MiB, 4 * MiB, 0x30000000, 0) && ms.generation == 3);
	/* Refusals and failed removals do not count. */
	T(add(0, 4 * KiB, 0, -EEXIST) && add(1, 1, 1, -EINVAL) && ms.generation == 3);
	T(memslot_remove(&ms, 4 * MiB) == -ENOENT && ms.generation == 3);
	T(memslot_remove(&ms, 8 * MiB + 4 * KiB) == -ENOENT);  /* inside, not the start */
	/* Remove the first: the others are still found. */
	T(memslot_remove(&ms, 0) == 0 && ms.n == 2 && ms.generation == 4);
	T(memslot_find(&ms, 0) == NULL && memslot_find(&ms, GFN(4 * MiB) - 1) == NULL);
	struct memslot *s = memslot_find(&ms, GFN(16 * MiB) + 3);
	T(s && s->base_gfn == GFN(16 * MiB) && s->hva == 0x30000000);
	s = memslot_find(&ms, GFN(8 * MiB));
	T(s && s->hva == 0x20000000);
	T(memslot_remove(&ms, 0) == -ENOENT && ms.generation == 4);
	/* Its range is free again. */
	T(add(0, 8 * MiB, 0x40000000, 0) && ms.generation == 5);
	T(memslot_remove(&ms, 16 * MiB) == 0 && memslot_remove(&ms, 8 * MiB) == 0);
	T(memslot_remove(&ms, 0) == 0 && ms.n == 0 && ms.generation == 8);
	T(memslot_find(&ms, GFN(8 * MiB)) == NULL);
}

static void test_max_level_1g(void)
{
	reset();
	/* 1 GiB at gpa 1 GiB, hva congruent modulo 1 GiB. */
	T(add(GiB, GiB, 0x7f0040000000ULL, 0));
	struct memslot *s = memslot_find(&ms, GFN(GiB));
	T(s != NULL);
	if (!s)
		return;
	uint64_t gfns[] = { GFN(GiB), GFN(GiB) + 1, GFN(GiB + 0x12345000), GFN(2 * GiB) - 1 };
	for (unsigned i = 0; i < sizeof(gfns) / sizeof(gfns[0]); i++) {
		T(memslot_max_level(s, gfns[i], 3) == 3);
		T(memslot_max_level(s, gfns[i], 2) == 2);
		T(memslot_max_level(s, gfns[i], 1) == 1);
	}
	/* Congruent modulo 2 MiB only: 2M at most. */
	T(add(4 * GiB, GiB, 0x7f0000200000ULL, 0));
	s = memslot_find(&ms, GFN(4 * GiB));
	T(s && memslot_max_level(s, GFN(4 * GiB), 3) == 2);
	T(s && memslot_max_level(s, GFN(5 * GiB) - 1, 3) == 2);
	/* 2 GiB at 1 GiB alignment: both 1 GiB blocks qualify. */
	T(add(8 * GiB, 2 * GiB, 0x7e0000000000ULL, 0));
	s = memslot_find(&ms, GFN(8 * GiB));
	T(s && memslot_max_level(s, GFN(9 * GiB), 3) == 3 &&
	  memslot_max_level(s, GFN(10 * GiB) - 1, 3) == 3);
	/* Less than 1 GiB: no 1 GiB block fits. */
	T(add(16 * GiB, GiB - 2 * MiB, 0x7d0000000000ULL, 0));
	s = memslot_find(&ms, GFN(16 * GiB));
	T(s && memslot_max_level(s, GFN(16 * GiB), 3) == 2);
	T(s && memslot_max_level(s, GFN(17 * GiB - 2 * MiB) - 1, 3) == 2);
}

static void test_max_level_skew(void)
{
	reset();
	/* hva skewed by 4 KiB: not congruent modulo 2 MiB anywhere. */
	T(add(GiB, GiB, 0x7f0040000000ULL + 4 * KiB, 0));
	struct memslot *s = memslot_find(&ms, GFN(GiB));
	T(s != NULL);
	if (!s)
		return;
	for (uint64_t gpa = GiB; gpa < 2 * GiB; gpa += 64 * MiB + 12 * KiB) {
		if (memslot_max_level(s, GFN(gpa), 3) != 1 || memslot_max_level(s, GFN(gpa), 2) != 1) {
			T(!"skewed slot mapped above 4K");
			break;
		}
	}
	T(memslot_max_level(s, GFN(2 * GiB) - 1, 3) == 1);
	/* Skewed by 2 MiB: 2M is fine, 1G is not. */
	T(add(4 * GiB, GiB, 0x7f0040000000ULL + 2 * MiB, 0));
	s = memslot_find(&ms, GFN(4 * GiB));
	T(s && memslot_max_level(s, GFN(4 * GiB), 3) == 2);
	T(s && memslot_max_level(s, GFN(4 * GiB + 6 * MiB + 4 * KiB), 3) == 2);
}

static void test_max_level_partial(void)
{
	reset();
	/* [1M, 5M): only [2M, 4M) is a whole 2M block inside the slot. */
	T(add(MiB, 4 * MiB, 0x7f0000100000ULL, 0));
	struct memslot *s = memslot_find(&ms, GFN(MiB));
	T(s != NULL);
	if (!s)
		return;
	for (uint64_t gfn = GFN(MiB); gfn < GFN(5 * MiB); gfn++) {
		int want = gfn >= GFN(2 * MiB) && gfn < GFN(4 * MiB) ? 2 : 1;

		if (memslot_max_level(s, gfn, 3) != want || memslot_max_level(s, gfn, 2) != want) {
			printf("# gfn %#llx: level %d, want %d\n", (unsigned long long)gfn,
			       memslot_max_level(s, gfn, 3), want);
			T(0);
			break;
		}
		if (memslot_max_level(s, gfn, 1) != 1) {
			T(0);
			break;
		}
	}
	T(memslot_max_level(s, GFN(2 * MiB) - 1, 3) == 1 && memslot_max_level(s, GFN(2 * MiB), 3) == 2);
	T(memslot_max_level(s, GFN(4 * MiB) - 1, 3) == 2 && memslot_max_level(s, GFN(4 * MiB), 3) == 1);
	/* A 2M-aligned slot that ends 4K short of a block boundary. */
	T(add(8 * MiB, 4 * MiB - 4 * KiB, 0x7f0000800000ULL, 0));
	s = memslot_find(&ms, GFN(8 * MiB));
	T(s && memslot_max_level(s, GFN(8 * MiB), 3) == 2);
	T(s && memslot_max_level(s, GFN(10 * MiB), 3) == 1);
	T(s && memslot_max_level(s, GFN(12 * MiB) - 2, 3) == 1);
}

/* sorted[] is a permutation of [0, n) in strictly ascending base_gfn. */
static bool index_ok(void)
{
	bool seen[MEMSLOT_MAX] = { false };

	for (unsigned i = 0; i < ms.n; i++) {
		if (ms.sorted[i] >= ms.n || seen[ms.sorted[i]])
			return false;
		seen[ms.sorted[i]] = true;
		if (i && ms.slot[ms.sorted[i - 1]].base_gfn >= ms.slot[ms.sorted[i]].base_gfn)
			return false;
	}
	return true;
}

/* What memslot_find() must answer: a scan of every slot. */
static struct memslot *find_linear(uint64_t gfn)
{
	for (unsigned i = 0; i < ms.n; i++)
		if (gfn >= ms.slot[i].base_gfn && gfn - ms.slot[i].base_gfn < ms.slot[i].npages)
			return &ms.slot[i];
	return NULL;
}

static void test_order_and_hint(void)
{
	reset();
	/* Added out of gfn order: slot[] keeps the order of adding, sorted[] the gfn order. */
	T(add(8 * MiB, 4 * MiB, 0x10000000, 0));
	T(add(0, 4 * MiB, 0x20000000, 0));
	T(add(32 * MiB, 4 * MiB, 0x30000000, 0));
	T(add(16 * MiB, 4 * MiB, 0x40000000, 0));
	T(ms.slot[0].hva == 0x10000000 && ms.slot[1].hva == 0x20000000 && index_ok());
	T(ms.sorted[0] == 1 && ms.sorted[1] == 0 && ms.sorted[2] == 3 && ms.sorted[3] == 2);
	/* A hit leaves the hint on its slot; a miss leaves it alone. */
	T(memslot_find(&ms, GFN(16 * MiB) + 5) == &ms.slot[3] && ms.last_used == 3);
	T(memslot_find(&ms, GFN(4 * MiB)) == NULL && ms.last_used == 3);
	T(memslot_find(&ms, GFN(16 * MiB)) == &ms.slot[3]);
	/* A stale hint (another slot, past n, garbage) costs a search, not a wrong answer. */
	ms.last_used = 0;
	T(memslot_find(&ms, GFN(32 * MiB)) == &ms.slot[2] && ms.last_used == 2);
	ms.last_used = 7;
	T(memslot_find(&ms, GFN(MiB)) == &ms.slot[1] && ms.last_used == 1);
	ms.last_used = ~0u;
	T(memslot_find(&ms, GFN(8 * MiB)) == &ms.slot[0]);
	/* A caller's own hint (a vCPU's) is used and set, the shared one left alone. */
	unsigned mine = 3, shared = ms.last_used;
	T(memslot_find_hint(&ms, GFN(32 * MiB), &mine) == &ms.slot[2] && mine == 2);
	T(memslot_find_hint(&ms, GFN(32 * MiB) + 1, &mine) == &ms.slot[2] && ms.last_used == shared);
	/* Removing slot[1] moves the last (slot[3]) into its place; the hint to 3 is stale. */
	T(memslot_find(&ms, GFN(16 * MiB)) == &ms.slot[3]);
	T(memslot_remove(&ms, 0) == 0 && ms.n == 3 && index_ok());
	T(ms.slot[1].base_gfn == GFN(16 * MiB) && ms.slot[1].hva == 0x40000000);
	T(memslot_find(&ms, GFN(16 * MiB)) == &ms.slot[1] && memslot_find(&ms, 0) == NULL);
	T(memslot_find(&ms, GFN(8 * MiB)) == &ms.slot[0] && memslot_find(&ms, GFN(32 * MiB)) == &ms.slot[2]);
	/* Removing the last one moves nothing. */
	T(memslot_remove(&ms, 32 * MiB) == 0 && ms.n == 2 && index_ok());
	T(ms.slot[0].base_gfn == GFN(8 * MiB) && ms.slot[1].base_gfn == GFN(16 * MiB));
	T(memslot_find(&ms, GFN(32 * MiB)) == NULL);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n)
{
	return xorshift_below(&rnd_state, n);
}

/*
 * Random adds (some overlapping, refused) and removals over 4096 2 MiB
 * blocks, up to a full array; after each, every answer against the scan.
 */
static void test_against_scan(void)
{
	reset();
	int bad = 0, full = 0, refused = 0;

	for (int op = 0; op < 20000 && !bad; op++) {
		uint64_t gen = ms.generation;
		unsigned n = ms.n;

		if (rnd(4) || !ms.n) {
			uint64_t gpa = rnd(4096) * 2 * MiB + rnd(4) * 4 * KiB;
			uint64_t size = (1 + rnd(3)) * 4 * KiB + rnd(2) * 2 * MiB;
			bool overlaps = false;

			for (uint64_t g = GFN(gpa); g < GFN(gpa + size) && !overlaps; g++)
				overlaps = find_linear(g) != NULL;
			int want = overlaps ? -EEXIST : ms.n == MEMSLOT_MAX ? -ENOSPC : 0;
			bad += !add(gpa, size, 0x100000000ULL + gpa, want);
			full += want == -ENOSPC;
			refused += want == -EEXIST;
			bad += want ? ms.generation != gen : ms.generation != gen + 1 || ms.n != n + 1 ||
				      ms.slot[n].base_gfn != GFN(gpa);
		} else {
			struct memslot *victim = &ms.slot[rnd(ms.n)];
			uint64_t base = victim->base_gfn;

			/* Inside a slot but not its start: not a slot to remove. */
			if (victim->npages > 1)
				bad += memslot_remove(&ms, (base + 1) << 12) != -ENOENT ||
				       ms.generation != gen;
			bad += memslot_remove(&ms, base << 12) != 0 || ms.n != n - 1 ||
			       ms.generation != gen + 1 || find_linear(base) != NULL;
		}
		bad += !index_ok();
		for (int probe = 0; probe < 16; probe++) {
			uint64_t gfn = GFN(rnd(4096) * 2 * MiB) + rnd(1024);
			if (rnd(4) == 0)
				ms.last_used = (unsigned)rnd(MEMSLOT_MAX + 2);
			if (memslot_find(&ms, gfn) != find_linear(gfn)) {
				printf("# gfn %#llx: find and the scan disagree (op %d)\n",
				       (unsigned long long)gfn, op);
				bad++;
				break;
			}
		}
	}
	printf("# %d adds refused as overlapping, %d as full; %u slots at the end\n", refused, full,
	       ms.n);
	T(bad == 0 && refused > 0 && full > 0);
}

int main(void)
{
	RUN(test_add_einval);
	RUN(test_add_eexist);
	RUN(test_add_enospc);
	RUN(test_find);
	RUN(test_remove_generation);
	RUN(test_max_level_1g);
	RUN(test_max_level_skew);
	RUN(test_max_level_partial);
	RUN(test_order_and_hint);
	RUN(test_against_scan);
	return tap_finish();
}
