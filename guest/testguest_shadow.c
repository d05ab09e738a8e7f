/*
 * TG_SHADOW_PT: a guest that manages its own 4-level page tables the way an
 * OS does on bare metal (remap, unmap, write-protect, swap a page table,
 * add a PML4 entry, batch remaps), each change followed by the flush the
 * SDM requires: INVLPG (RCX = 0), a CR3 reload (RCX = 1) or a global
 * flush by toggling CR4.PGE (RCX = 2, Linux's native_flush_tlb_global()). Under shadow
 * paging every one of those is something minihv must notice (an emulated
 * table write, an unsync level-1 table, a resync at the flush), so a stale
 * translation shows up here as a wrong pattern or a missing #PF.
 *
 * RDX = a 1 MiB scratch region of RAM: page tables at its first pages,
 * data frames from page 16 on. Every data frame holds TESTGUEST_PATTERN of
 * its own physical addresses, so "reads frame X" proves where a linear
 * address really goes.
 *
 * Returns 0, or step * 256 + check (step 1 = a ... 8 = h, below):
 *   0x101 mode not 0/1/2; 0x102 scratch misaligned, beyond the stack's 1 GiB
 *         or overlapping code, IDT or stack
 *   0x103 CR3 does not read back the new PML4; 0x104 stack or call broken
 *   0x110+i window page i does not show its first frame
 *   0x201 remapped page shows neither old nor new frame before the flush;
 *   0x202 not the new one after it
 *   0x301-0x304 read of the unmapped page: 1 no #PF, 2 not one #PF at the
 *         access (vector/RIP), 3 CR2, 4 error code (want 0);
 *   0x305-0x308 the same for the write (want error 2);
 *   0x309 the faulting write reached the frame; 0x30a the page remapped
 *         does not read back (or faults)
 *   0x401-0x404 write to the read-only page, as 0x301-0x304 (want error 3);
 *   0x405 a read of it faults or shows the wrong frame; 0x406 the faulting
 *         write reached the frame; 0x407 after W is set again the write is
 *         not seen through the identity map of the frame
 *   0x501+i page i shows neither old nor new frame after the PD entry
 *         changed; 0x510+i not the new one after the flush
 *   0x601 the new PML4 entry's page does not show frame C; 0x602-0x605 its
 *         unmapped neighbour, as 0x301-0x304 (want error 0)
 *   0x701+i page i shows neither old nor new frame before the one flush;
 *         0x710+i not the new one after it
 *   0x801 CR3 does not read back the original; 0x802 stack or call broken;
 *   0x803 the identity map shows the wrong data; 0x804-0x807 512 GiB is
 *         still mapped after the switch back, as 0x301-0x304 (want error 0)
 *   0x901 the PML4 left behind, cleared as data with REP STOSQ (a write
 *         minihv cannot emulate, to a page it shadowed), is not all zero
 * A #PF no check expected stops the guest from the handler with code
 * (CR2 << 16) | 0xff00 | error code.
 */
#include "guest/guest.h"
#include "guest/testguest.h"
#include "guest/testguest_shadow.h"
#include "guest/pf_catch.h"

#define PG 4096ULL
#define SZ_2M (2ULL << 20)
#define SZ_1G (1ULL << 30)
#define SCRATCH (1ULL << 20)
#define PTE_P 1ULL
#define PTE_W 2ULL
#define PTE_PS (1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL
#define CR0_WP (1ULL << 16)
#define CR4_PGE (1ULL << 7)

/* Page indices in the scratch region: tables first, then data frames. */
enum {
	PML4, PDPT, PD_ID, PD_W, PT_W, PT_W2, PDPT_HI, PD_HI, PT_HI, NTABLES,
	F_A = 16, F_B, F_C,
	F_D = 24, /* + i: window page i's first frame (page 0 has A) */
	F_E = 32, /* + i: what PT_W2 maps (step e) */
	F_G = 40, /* + i: step g's batch of remaps */
	F_END = 48,
};

#define WIN 0x40000000ULL    /* 1 GiB: PDPT[1] -> PD_W -> PT_W */
#define NWIN 8               /* window pages mapped */
#define HI 0x8000000000ULL   /* 512 GiB: PML4[1], added in step f */
#define OFF 0x238            /* where accesses land in a page: a sampled word */
#define MAGIC 0x5ade5ade5ade5adeULL

static uint64_t base, mode;

static uint64_t pa(unsigned page)
{
	return base + page * PG;
}

/* A plain MOV store: the kind of write to a shadowed table that minihv emulates. */
static void set_entry(unsigned table, unsigned i, uint64_t v)
{
	__asm__ __volatile__("movq %1, %0" : "=m"(*(volatile uint64_t *)(pa(table) + i * 8))
			     : "r"(v) : "memory");
}

static uint64_t entry(unsigned table, unsigned i)
{
	return *(volatile uint64_t *)(pa(table) + i * 8);
}

static void link(unsigned table, unsigned i, unsigned page)
{
	set_entry(table, i, pa(page) | PTE_P | PTE_W);
}

/* Forget the translations of @n pages from @va as @mode says (and as the SDM requires). */
static void flush(uint64_t va, unsigned n)
{
	uint64_t cr4 = read_cr4();

	if (mode == 0) {
		for (unsigned i = 0; i < n; i++)
			invlpg(va + i * PG);
	} else if (mode == 2) {
		/* Any change of PGE flushes everything, global entries included (SDM 3A 4.10.4.1). */
		write_cr4(cr4 ^ CR4_PGE);
		write_cr4(cr4);
	} else {
		write_cr3(read_cr3());
	}
}

/*
 * Does every sampled word of the page at @va hold frame @f's pattern or
 * frame @f2's? Word by word: before a flush either translation is legal.
 */
static bool shows(uint64_t va, unsigned f, unsigned f2)
{
	static const unsigned sample[] = { 0, OFF / 8, 256, 511 };

	for (unsigned i = 0; i < sizeof(sample) / sizeof(sample[0]); i++) {
		uint64_t w = sample[i] * 8, v = *(volatile uint64_t *)(va + w);

		if (v != TESTGUEST_PATTERN(pa(f) + w) && v != TESTGUEST_PATTERN(pa(f2) + w))
			return false;
	}
	return true;
}

/* ---- The steps ---- */

/* Calls and the stack still work: a frame of its own, written and read back. */
static __attribute__((noinline)) bool stack_ok(uint64_t seed)
{
	volatile uint64_t a[16];
	uint64_t s = 0;

	for (unsigned i = 0; i < 16; i++)
		a[i] = seed + i;
	for (unsigned i = 0; i < 16; i++)
		s += a[i];
	return s == 16 * seed + 120;
}

/* a: data frames, then the tables (not yet page tables, so plain RAM). */
static void build(uint64_t ident)
{
	for (unsigned f = F_A; f < F_END; f++)
		for (uint64_t w = 0; w < PG; w += 8)
			*(volatile uint64_t *)(pa(f) + w) = TESTGUEST_PATTERN(pa(f) + w);
	for (unsigned t = 0; t < NTABLES; t++)
		for (unsigned i = 0; i < 512; i++)
			set_entry(t, i, 0);
	link(PML4, 0, PDPT);
	link(PDPT, 0, PD_ID);
	for (uint64_t a = 0; a < ident; a += SZ_2M)
		set_entry(PD_ID, (unsigned)(a / SZ_2M), a | PTE_P | PTE_W | PTE_PS);
	link(PDPT, 1, PD_W);
	link(PD_W, 0, PT_W);
	for (unsigned i = 0; i < NWIN; i++) {
		link(PT_W, i, i ? F_D + i : F_A);
		link(PT_W2, i, F_E + i);
	}
	/* Step f's chain, reachable only once PML4[1] points at it. */
	link(PDPT_HI, 0, PD_HI);
	link(PD_HI, 0, PT_HI);
	link(PT_HI, 0, F_C);
}

static long step_a(uint64_t *cr3)
{
	volatile uint64_t canary = MAGIC;
	uint64_t sp = (uint64_t)&canary, code = (uint64_t)tg_shadow_pt, tab = pfc_idt_address();
	/* Identity-map up to the stack's 2 MiB page: [0, 4 MiB) with the test's 4 MiB. */
	uint64_t ident = (sp + SZ_2M) & ~(SZ_2M - 1);

	if (mode > 2)
		return 0x101;
	if ((base & (PG - 1)) || ident > SZ_1G || base + SCRATCH > (sp & ~0xffffULL) ||
	    (code >= base && code < base + SCRATCH) || (tab >= base && tab < base + SCRATCH))
		return 0x102;
	build(ident);
	*cr3 = read_cr3();
	write_cr3(pa(PML4));
	if (read_cr3() != pa(PML4))
		return 0x103;
	if (canary != MAGIC || !stack_ok(sp))
		return 0x104;
	for (unsigned i = 0; i < NWIN; i++)
		if (!shows(WIN + i * PG, i ? F_D + i : F_A, i ? F_D + i : F_A))
			return 0x110 + i;
	return 0;
}

/* b: a remapped PTE may show either frame until the flush, then only the new one. */
static long step_b(void)
{
	link(PT_W, 0, F_B);
	if (!shows(WIN, F_A, F_B))
		return 0x201;
	flush(WIN, 1);
	return shows(WIN, F_B, F_B) ? 0 : 0x202;
}

/* c: not present, flushed: read and write fault (error 0, 2) and change nothing. */
static long step_c(void)
{
	uint64_t va = WIN + PG + OFF;
	long r;

	set_entry(PT_W, 1, entry(PT_W, 1) & ~PTE_P);
	flush(WIN + PG, 1);
	if ((r = pfc_expect_pf(va, false, 0)))
		return 0x300 + r;
	if ((r = pfc_expect_pf(va, true, 2)))
		return 0x304 + r;
	if (!shows(pa(F_D + 1), F_D + 1, F_D + 1))
		return 0x309;
	link(PT_W, 1, F_D + 1);
	flush(WIN + PG, 1);
	uint64_t n = pfc_seen.count;
	return shows(WIN + PG, F_D + 1, F_D + 1) && pfc_seen.count == n ? 0 : 0x30a;
}

/* d: with CR0.WP a read-only page refuses supervisor writes (error 3), then W again. */
static long step_d(void)
{
	uint64_t va = WIN + 2 * PG + OFF, frame = pa(F_D + 2);
	long r;

	write_cr0(read_cr0() | CR0_WP);
	set_entry(PT_W, 2, frame | PTE_P);
	flush(WIN + 2 * PG, 1);
	if ((r = pfc_expect_pf(va, true, 3)))
		return 0x400 + r;
	uint64_t n = pfc_seen.count;
	if (!shows(WIN + 2 * PG, F_D + 2, F_D + 2) || pfc_seen.count != n)
		return 0x405;
	if (!shows(frame, F_D + 2, F_D + 2)) /* through the identity map */
		return 0x406;
	link(PT_W, 2, F_D + 2);
	flush(WIN + 2 * PG, 1);
	*(volatile uint64_t *)va = MAGIC; /* a #PF here exits from the handler */
	if (pfc_seen.count != n || *(volatile uint64_t *)(frame + OFF) != MAGIC)
		return 0x407;
	*(volatile uint64_t *)(frame + OFF) = TESTGUEST_PATTERN(frame + OFF);
	return 0;
}

/* e: the window's PD entry moves to PT_W2: every page follows it. */
static long step_e(void)
{
	link(PD_W, 0, PT_W2);
	for (unsigned i = 0; i < NWIN; i++)
		if (!shows(WIN + i * PG, i ? F_D + i : F_B, F_E + i))
			return 0x501 + i;
	flush(WIN, NWIN);
	for (unsigned i = 0; i < NWIN; i++)
		if (!shows(WIN + i * PG, F_E + i, F_E + i))
			return 0x510 + i;
	return 0;
}

/* f: a new PML4 entry (the root itself changes) maps 512 GiB to frame C only. */
static long step_f(void)
{
	long r;

	link(PML4, 1, PDPT_HI);
	flush(HI, 1);
	if (!shows(HI, F_C, F_C))
		return 0x601;
	r = pfc_expect_pf(HI + PG + OFF, false, 0);
	return r ? 0x601 + r : 0;
}

/* g: eight remaps in one table, then one flush (INVLPG of each page, or one CR3 load). */
static long step_g(void)
{
	for (unsigned i = 0; i < NWIN; i++)
		link(PT_W2, i, F_G + i);
	for (unsigned i = 0; i < NWIN; i++)
		if (!shows(WIN + i * PG, F_E + i, F_G + i))
			return 0x701 + i;
	flush(WIN, NWIN);
	for (unsigned i = 0; i < NWIN; i++)
		if (!shows(WIN + i * PG, F_G + i, F_G + i))
			return 0x710 + i;
	return 0;
}

/* h: the entry tables again: identity map intact, 512 GiB unmapped once more. */
static long step_h(uint64_t cr3, uint64_t cr0)
{
	long r;

	write_cr3(cr3);
	write_cr0(cr0);
	if (read_cr3() != cr3)
		return 0x801;
	if (!stack_ok(cr3))
		return 0x802;
	if (!shows(pa(F_A), F_A, F_A) || !shows(pa(F_G + 7), F_G + 7, F_G + 7))
		return 0x803;
	r = pfc_expect_pf(HI + OFF, false, 0);
	return r ? 0x803 + r : 0;
}

/* i: a table page no longer in use, reused as data: cleared with a string store. */
static long step_i(void)
{
	volatile uint64_t *t = (volatile uint64_t *)pa(PML4);
	uint64_t *p = (uint64_t *)pa(PML4), n = PG / 8;

	__asm__ __volatile__("rep stosq" : "+D"(p), "+c"(n) : "a"(0ULL) : "memory");
	for (unsigned i = 0; i < PG / 8; i++)
		if (t[i])
			return 0x901;
	return 0;
}

long tg_shadow_pt(uint64_t scratch, uint64_t flush_mode)
{
	uint64_t cr0 = read_cr0(), cr3 = 0;
	long r;

	base = scratch;
	mode = flush_mode;
	pfc_load_tables();
	if ((r = step_a(&cr3)) || (r = step_b()) || (r = step_c()) || (r = step_d()) ||
	    (r = step_e()) || (r = step_f()) || (r = step_g())) {
		if (cr3) /* leave as it came, even on failure */
			write_cr3(cr3);
		write_cr0(cr0);
		return r;
	}
	r = step_h(cr3, cr0);
	return r ? r : step_i();
}
