/*
 * The host's changes to a running Linux guest's RAM (tests/kernel/linux_mix.c),
 * made one at a time from a CPU other than the guest's, each followed by
 * the coherence check (tests/kernel/test_linux.c, linux_e2e).
 */
#ifndef MINIHV_TEST_LINUX_MIX_H
#define MINIHV_TEST_LINUX_MIX_H

#include "ept/vm.h"

enum {
	MIX_MIGRATE,    /* a page to a fresh frame, the old one poisoned */
	MIX_PROTECT,    /* a page read-only, then read-write again */
	MIX_NUMA,       /* NUMA hinting on 16 pages */
	MIX_COLLAPSE,   /* a 2 MiB block of 4 KiB pages into one 2 MiB page */
	MIX_SPLIT,      /* a 2 MiB page back into 4 KiB pages */
	MIX_AGE,        /* clear the accessed bits of 16 MiB */
	MIX_UNMAP_ZERO, /* unmap a page that holds zeroes: the next access maps a zeroed one */
	MIX_SWAP,       /* unmap a page holding data, mapped again from a copy within the unmap */
	MIX_OPS
};

#define MIX_HUGE_KEPT 8

struct linux_mix {
	struct vm *vm;
	uint64_t rng, lo, hi;     /* the guest-physical range the changes pick from */
	unsigned long ops, done[MIX_OPS], refused[MIX_OPS];
	unsigned long no_page;    /* picks that found no page the host maps */
	uint64_t check_tsc;       /* TSC spent in the coherence checks */
	uint64_t huge[MIX_HUGE_KEPT]; /* blocks collapsed lately, for MIX_SPLIT */
	unsigned nhuge;
	/* MIX_SWAP's page, mapped again by the unmap's step hook before its end(). */
	uint64_t swap_hva, swap_pa;
	int swap_err;
	bool swapped;
	bool lost;                /* a change lost the guest's data (@why says which) */
	long bad;                 /* leaves the last check found incoherent */
	char why[200];
};

/* A mix over guest-physical [@lo, @hi) of @vm, seeded with @seed. */
void linux_mix_init(struct linux_mix *m, struct vm *vm, uint64_t seed, uint64_t lo, uint64_t hi);
/*
 * One change chosen at random, then ept_check_coherent() (the shadow
 * auditor with shadow paging) under mmu_lock. False once that check
 * failed (@m->bad) or a change lost data (@m->lost): @m->why says how.
 */
bool linux_mix_step(struct linux_mix *m);
/* "migrate 12/3 protect ..." (done/refused per change) into @buf. */
void linux_mix_counts(const struct linux_mix *m, char *buf, size_t len);

#endif
