/*
 * TG_PT_FUZZ: a guest that changes its own page tables at random, as no OS
 * would but as every OS may, and checks after each flush the SDM requires
 * that every access through them goes where its own software walk says
 * (issue 21: the shadow MMU's fuzzer inside a real guest).
 *
 * RDX = a region of RAM (2 MiB, aligned; bit 0 set: yield to the host every
 * PTF_YIELD_EVERY operations, which may then migrate, unmap or re-slot the
 * region's pages), RCX = seed << 32 | operations. Region layout (pages):
 *   0, 1  two PML4s (A, B): entry 0 = the identity map of the first GiB
 *         (PDPT K -> the loader's 2 MiB page directory), entry 1 = fuzzed
 *   2     PDPT K
 *   3-15  13 tables the fuzzer links freely, at any level, even to themselves
 *   16-63 48 data frames (any of which the fuzzer may also use as a table:
 *         their words are patterns with the present bit clear)
 *   255   struct ptf_report (PTF_REPORT): what the failing check saw
 * Probes: linear 512 GiB + l3 GiB + l2 * 2 MiB + l1 * 4 KiB, l3 0-1, l2 0-3,
 * l1 0-7 (64). Operations: an entry of a table (0-7) or of a PML4 (1)
 * rewritten with a plain store; INVLPG of a probe (then it is checked);
 * CR3 switch or reload, CR4.PGE toggle (then all are checked); a table
 * cleared with REP STOSQ; HC_STATS written over table entries (minihv's
 * own write); a yield. A probe is checked by reading it (and writing its
 * last word where the walk allows it): the value must be what the
 * identity map shows at the GPA of the walk, or the #PF must come with the
 * walk's error code. Returns 0, or the failing operation's number + 1.
 */
#include "guest/guest.h"
#include "guest/testguest.h"
#include "guest/testguest_shadow.h"
#include "guest/pf_catch.h"

#define PG 4096ULL
#define P 1ULL
#define W 2ULL
#define PS (1ULL << 7)
#define AD (3ULL << 5)
#define ADDR 0x000ffffffffff000ULL
#define CR0_WP (1ULL << 16)
#define CR4_PGE (1ULL << 7)
#define LOADER_PD 0x3000ULL /* boot/loader.h's GUEST_PD: [0, 1 GiB) in 2 MiB pages */
#define PML4A 0
#define PML4B 1
#define PDPTK 2
#define FT0 3 /* the fuzzed tables: 3 .. 15 */
#define NFT 13
#define DF0 16 /* the data frames: 16 .. 63 */
#define NDF 48
#define WIN (1ULL << 39)
#define NPROBES 64
#define LAST_WORD (PG - 8) /* entry 511: never on a probe's walk */

enum walk_result { W_PRESENT, W_FAULT, W_UNSAFE };

/* One vCPU's fuzzer (on its stack: vCPUs share the image's globals). */
struct ptf {
	uint64_t base, rng, ram_end, op;
};

static uint64_t rnd(struct ptf *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned below(struct ptf *f, unsigned n)
{
	return (unsigned)(rnd(f) % n);
}

/* RAM the walk may lead to: the first @ram_end bytes, and this region. */
static bool in_ram(const struct ptf *f, uint64_t gpa)
{
	return gpa + PG <= f->ram_end || (gpa >= f->base && gpa + PG <= f->base + PTF_REGION);
}

static uint64_t pa(const struct ptf *f, unsigned page)
{
	return f->base + page * PG;
}

static volatile uint64_t *word(uint64_t gpa)
{
	return (volatile uint64_t *)gpa; /* the identity map */
}

static uint64_t probe(unsigned n)
{
	return WIN | ((uint64_t)(n >> 5) << 30) | ((uint64_t)((n >> 3) & 3) << 21) |
	       ((uint64_t)(n & 7) << 12);
}

/*
 * The guest's own walk of @va from CR3: W_PRESENT with the GPA and whether
 * every level allows writes, W_FAULT if an entry is not present, W_UNSAFE
 * where the access would leave RAM (minihv would stop the guest: skipped)
 * or meet a 1 GiB page (not every CPU model has them).
 */
static enum walk_result walk(const struct ptf *f, uint64_t va, uint64_t *gpa, bool *writable)
{
	uint64_t table = read_cr3() & ADDR;

	*writable = true;
	for (int level = 4; level >= 1; level--) {
		if (!in_ram(f, table))
			return W_UNSAFE;
		uint64_t e = *word(table + ((va >> (12 + 9 * (level - 1))) & 511) * 8);

		if (!(e & P))
			return W_FAULT;
		*writable &= !!(e & W);
		if (level == 3 && (e & PS))
			return W_UNSAFE;
		if (level == 2 && (e & PS)) {
			*gpa = (e & ADDR & ~((2ULL << 20) - 1)) | (va & ((2ULL << 20) - 1));
			return in_ram(f, *gpa & ~(PG - 1)) ? W_PRESENT : W_UNSAFE;
		}
		table = e & ADDR;
		if (level == 1) {
			*gpa = table | (va & (PG - 1));
			return in_ram(f, table) ? W_PRESENT : W_UNSAFE;
		}
	}
	return W_UNSAFE;
}

static long failed(const struct ptf *f, uint64_t va, uint64_t kind, uint64_t want, uint64_t got)
{
	volatile struct ptf_report *r = (volatile struct ptf_report *)(f->base + PTF_REPORT);

	r->op = f->op;
	r->va = va;
	r->kind = kind;
	r->want = want;
	r->got = got;
	r->cr3 = read_cr3();
	return (long)f->op + 1;
}

/* One probe, after a flush: 0, or the failure. @write: also its last word, where allowed. */
static long check(struct ptf *f, uint64_t va, bool write)
{
	uint64_t gpa, got;
	bool writable;
	enum walk_result r = walk(f, va, &gpa, &writable);

	if (r == W_UNSAFE)
		return 0;
	if (r == W_FAULT) {
		long e = pfc_expect_pf(va + LAST_WORD, false, 0);
		return e ? failed(f, va, PTF_READ_NO_PF, 0, (uint64_t)e) : 0;
	}
	/* Through the probe first: the walk it causes may set accessed bits in that page. */
	if (!pfc_read64(va, &got))
		return failed(f, va, PTF_READ_PF, gpa, pfc_seen.error);
	uint64_t want = *word(gpa);
	if ((got ^ want) & ~AD)
		return failed(f, va, PTF_READ_VALUE, gpa, got);
	if (!write)
		return 0;
	if (!writable) {
		long e = pfc_expect_pf(va + LAST_WORD, true, 3);
		return e ? failed(f, va, PTF_WRITE_NO_PF, gpa, (uint64_t)e) : 0;
	}
	uint64_t v = rnd(f);
	if (!pfc_write64(va + LAST_WORD, v))
		return failed(f, va, PTF_WRITE_PF, gpa, pfc_seen.error);
	return *word(gpa - (gpa & (PG - 1)) + LAST_WORD) == v ? 0
							    : failed(f, va, PTF_WRITE_LOST, gpa, v);
}

static long check_all(struct ptf *f)
{
	long r = 0;

	for (unsigned n = 0; n < NPROBES && !r; n++)
		r = check(f, probe(n), below(f, 8) == 0);
	return r;
}

/* A random entry: mostly a table or a data frame of the region, sometimes a 2 MiB page. */
static uint64_t random_entry(struct ptf *f, bool pml4)
{
	uint64_t v;
	unsigned k = below(f, 100);

	if (k < 12)
		return 0;
	if (k < 55)
		v = pa(f, FT0 + below(f, NFT));
	else if (k < 95 || pml4)
		v = pa(f, DF0 + below(f, NDF));
	else
		v = PS; /* GPA 0: the image's 2 MiB page at PD level, page 0 at PT level */
	v |= P | (below(f, 10) < 7 ? W : 0) | (below(f, 2) ? AD : 0);
	return v;
}

static void set(uint64_t gpa, uint64_t v)
{
	__asm__ __volatile__("movq %1, %0" : "=m"(*word(gpa)) : "r"(v) : "memory");
}

static void init(const struct ptf *f)
{
	for (unsigned p = 0; p < FT0 + NFT; p++)
		for (unsigned i = 0; i < 512; i++)
			set(pa(f, p) + i * 8, 0);
	for (unsigned d = DF0; d < DF0 + NDF; d++)
		for (uint64_t w = 0; w < PG; w += 8)
			*word(pa(f, d) + w) = TESTGUEST_PATTERN(pa(f, d) + w) & ~P;
	set(pa(f, PDPTK), LOADER_PD | P | W);
	set(pa(f, PML4A), pa(f, PDPTK) | P | W);
	set(pa(f, PML4B), pa(f, PDPTK) | P | W);
	set(pa(f, PML4A) + 8, pa(f, FT0) | P | W);
	set(pa(f, PML4B) + 8, pa(f, FT0 + 1) | P | W);
}

static long one_op(struct ptf *f, bool yields)
{
	unsigned k = below(f, 100);

	if (k < 45) {
		bool pml4 = below(f, 8) == 0;
		uint64_t e = pml4 ? pa(f, below(f, 2)) + 8
				  : pa(f, FT0 + below(f, NFT)) + below(f, 8) * 8;
		set(e, random_entry(f, pml4));
		return 0;
	}
	if (k < 60) {
		uint64_t va = probe(below(f, NPROBES));
		invlpg(va);
		return check(f, va, true);
	}
	if (k < 72) {
		write_cr3(pa(f, below(f, 2)));
		return check_all(f);
	}
	if (k < 80) {
		uint64_t cr4 = read_cr4();
		write_cr4(cr4 ^ CR4_PGE);
		write_cr4(cr4);
		return check_all(f);
	}
	if (k < 84) {
		uint64_t *p = (uint64_t *)pa(f, FT0 + below(f, NFT)), n = PG / 8;
		__asm__ __volatile__("rep stosq" : "+D"(p), "+c"(n) : "a"(0ULL) : "memory");
		return 0;
	}
	if (k < 90) {
		/* minihv's own write over table entries: the exit count, as an entry. */
		hypercall(HC_STATS, pa(f, FT0 + below(f, NFT)) + below(f, 8) * 8, 8);
		return 0;
	}
	if (k < 94 && yields) {
		hypercall(HC_YIELD, f->op, 0);
		return 0;
	}
	write_cr3(read_cr3());
	return check_all(f);
}

long tg_pt_fuzz(uint64_t region, uint64_t arg2, uint64_t ram)
{
	struct ptf fz = { .base = region & ~(PG - 1), .ram_end = ram }, *f = &fz;
	uint64_t cr3 = read_cr3(), cr0 = read_cr0(), ops = arg2 & 0xffffffffULL;
	bool yields = region & 1;
	long r = 0;

	f->rng = ((arg2 >> 32) + 1) * 0x9e3779b97f4a7c15ULL;
	if (f->base & (PTF_REGION - 1))
		return -1;
	pfc_load_tables();
	write_cr0(cr0 | CR0_WP);
	init(f);
	write_cr3(pa(f, PML4A));
	for (f->op = 0; f->op < ops && !r; f->op++)
		r = one_op(f, yields);
	write_cr3(cr3);
	write_cr0(cr0);
	return r;
}
