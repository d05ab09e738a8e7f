/*
 * TG_SHADOW_BENCH (make bench): a first touch through the guest's own 4 KiB
 * page tables, as an OS maps memory: write a page table's 512 entries,
 * reload CR3, touch every page; then remap all of them @rounds - 1 more
 * times. Under shadow paging the first round writes a table nobody shadows
 * yet; every later round writes a shadowed one: one write-protect fault
 * that leaves it unsync, or 512 emulated writes without unsync.
 *
 * RDX = scratch: 3 pages of RAM for a PML4, a PDPT and a PD, and a fourth
 * for the page table; RCX = rounds. The window at linear 4 GiB maps
 * guest-physical [1 GiB, 1 GiB + 4 MiB), which the host adds: round r maps
 * page i to frame i + (r & 1) * 512. [0, 4 GiB) stays identity-mapped
 * through the loader's tables, so the frames are checked from there.
 * Returns 0, or 0x100 + r when a frame of round r missed its write.
 */
#include "guest/guest.h"
#include "guest/testguest.h"
#include "guest/testguest_shadow.h"

#define PG 4096ULL
#define ADDR 0x000ffffffffff000ULL
#define WIN (4ULL << 30)
#define FRAMES (1ULL << 30)
#define NPTE 512

static void store(uint64_t pa, uint64_t v)
{
	/* A plain MOV, the store minihv emulates when it does not unsync. */
	__asm__ __volatile__("movq %1, %0" : "=m"(*(volatile uint64_t *)pa) : "r"(v) : "memory");
}

long tg_shadow_bench(uint64_t scratch, uint64_t rounds)
{
	uint64_t pml4 = scratch, pdpt = scratch + PG, pd = scratch + 2 * PG, pt = scratch + 3 * PG;
	uint64_t old_cr3 = read_cr3();
	const volatile uint64_t *old_pdpt =
		(const volatile uint64_t *)(*(volatile uint64_t *)(old_cr3 & ADDR) & ADDR);
	long r = 0;

	for (unsigned i = 0; i < NPTE; i++) {
		store(pml4 + i * 8, 0);
		store(pdpt + i * 8, i < 4 ? old_pdpt[i] : 0); /* the loader's [0, 4 GiB) */
		store(pd + i * 8, 0);
	}
	store(pml4, pdpt | 3);
	store(pdpt + 4 * 8, pd | 3);
	store(pd, pt | 3);
	for (uint64_t round = 0; round < rounds && !r; round++) {
		uint64_t first = FRAMES + (round & 1) * NPTE * PG;

		for (unsigned i = 0; i < NPTE; i++)
			store(pt + i * 8, (first + i * PG) | 3);
		write_cr3(pml4);
		for (unsigned i = 0; i < NPTE; i++)
			*(volatile uint64_t *)(WIN + i * PG) = round + 1;
		for (unsigned i = 0; i < NPTE && !r; i++)
			if (*(volatile uint64_t *)(first + i * PG) != round + 1)
				r = 0x100 + (long)round;
	}
	write_cr3(old_cr3);
	return r;
}
