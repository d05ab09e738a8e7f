/*
 * The host's changes to a running Linux guest's RAM (linux_mix.h): the
 * mix of tests/kernel/test_smp_stress.c against pages a real kernel uses,
 * picked at random among those the host maps (all of a Linux guest's RAM
 * at first, boot/linux.c; a page the mix unmapped until the guest touches
 * it again). None of them
 * may lose the guest's data: a migrate copies, a write-protect is undone,
 * and the two unmaps keep what the page held (zeroes, which the next
 * access faults in again; or a copy, put in place before the unmap ends).
 */
#include "tests/kernel/linux_mix.h"
#include "tests/kernel/mix_util.h"
#include "lib/lib.h"

static const char *const mix_names[MIX_OPS] = {
	"migrate", "protect", "numa", "collapse", "split", "age", "unmap0", "swap",
};

#define MIX_NUMA_PAGES 16
#define MIX_AGE_SPAN (16ULL << 20)
#define MIX_PICK_TRIES 32

void linux_mix_init(struct linux_mix *m, struct vm *vm, uint64_t seed, uint64_t lo, uint64_t hi)
{
	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->rng = seed;
	m->lo = lo;
	m->hi = hi;
}

static uint64_t mix_hva(struct linux_mix *m, uint64_t gpa)
{
	return memslots_page_hva(&m->vm->slots, gpa);
}

/* A random page of [lo, hi) that the host maps (the guest has touched it). */
static bool pick(struct linux_mix *m, uint64_t *hva, struct pt_walk *w)
{
	uint64_t pages = (m->hi - m->lo) >> PAGE_SHIFT;

	for (int i = 0; i < MIX_PICK_TRIES; i++) {
		*hva = mix_hva(m, m->lo + ((mix_rnd(&m->rng) % pages) << PAGE_SHIFT));
		if (!mm_lookup(&host_mm, *hva, w))
			return true;
	}
	m->no_page++;
	return false;
}

static bool all_zero(const void *p)
{
	const uint64_t *q = p;

	for (size_t i = 0; i < PAGE_SIZE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

/*
 * Write-protect the page at @hva (a 2 MiB page around it is split) and
 * give its frame: from then on only the host changes what it holds.
 */
static int freeze(uint64_t hva, uint64_t *pa)
{
	struct pt_walk w;
	long r = mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_R, false);

	if (r < 0)
		return (int)r;
	if (mm_lookup(&host_mm, hva, &w) || w.level != PT_LEVEL_4K) {
		mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_RW, false);
		return -ENOENT;
	}
	*pa = ALIGN_DOWN(w.pa, PAGE_SIZE);
	return 0;
}

/*
 * A page of zeroes, really unmapped: the memslot stays, the guest's next
 * access maps a fresh zeroed page (mm_fault_in()), so nothing is lost.
 * Refused (-EEXIST) for a page holding anything else.
 */
static int unmap_zero(uint64_t hva)
{
	uint64_t pa;
	int r = freeze(hva, &pa);

	if (r)
		return r;
	if (!all_zero(phys_to_virt(pa))) {
		mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_RW, false);
		return -EEXIST;
	}
	long n = mm_unmap(&host_mm, hva, PAGE_SIZE);
	if (n != 1) {
		mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_RW, false);
		return n < 0 ? (int)n : -EIO;
	}
	mix_free_poisoned(pa); /* the unmap's shootdown is over: nobody maps it */
	return 0;
}

/*
 * MIX_SWAP's step hook: once the unmap has emptied the page and before its
 * end(), map the copy there (the unmap still claims the page: a fault-in
 * waits, a secondary-MMU fault retries).
 */
static void swap_in(struct mm *mm, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct linux_mix *m = ctx;

	if (at != MM_STEP_CHANGED || r->event != MMU_EV_UNMAP || m->swap_hva < r->start ||
	    m->swap_hva >= r->end)
		return;
	spin_lock(&mm->lock);
	m->swap_err = pt_map(&mm->pt, m->swap_hva, m->swap_pa, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K);
	spin_unlock(&mm->lock);
	m->swapped = !m->swap_err;
}

/*
 * A page holding data, unmapped (MMU_EV_UNMAP: every secondary MMU zaps
 * it) and swapped in from a copy on a fresh frame within the same change;
 * the old frame is poisoned.
 */
static int swap(struct linux_mix *m, uint64_t hva)
{
	uint64_t fresh, old;
	int r = frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh);

	if (r)
		return r;
	r = freeze(hva, &old);
	if (r) {
		frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
		return r;
	}
	memcpy(phys_to_virt(fresh), phys_to_virt(old), PAGE_SIZE);
	m->swap_hva = hva;
	m->swap_pa = fresh;
	m->swapped = false;
	host_mm.step_hook_ctx = m;
	host_mm.step_hook = swap_in;
	long n = mm_unmap(&host_mm, hva, PAGE_SIZE);
	host_mm.step_hook = NULL;
	if (!m->swapped)
		frame_free(&phys_frames, fresh, FRAME_ORDER_4K);
	if (!m->swapped && n == 1) {
		/* No table page for the copy: the guest's next access finds zeroes. */
		ksnprintf(m->why, sizeof(m->why), "swap: the copy of the page at hva %#llx could "
			  "not be mapped (%d): its data is lost", (unsigned long long)hva, m->swap_err);
		m->lost = true;
		mix_free_poisoned(old);
		return m->swap_err;
	}
	if (!m->swapped) { /* the unmap was refused: nothing changed but the protection */
		mm_protect(&host_mm, hva, PAGE_SIZE, PT_PROT_RW, false);
		return n < 0 ? (int)n : -EIO;
	}
	mix_free_poisoned(old);
	return 0;
}

/* A block collapsed lately, else the block of a page the host maps. */
static bool pick_block(struct linux_mix *m, uint64_t *hva, bool prefer_huge)
{
	struct pt_walk w;

	if (prefer_huge && m->nhuge) {
		*hva = m->huge[mix_rnd(&m->rng) % MIN(m->nhuge, MIX_HUGE_KEPT)];
		return true;
	}
	if (!pick(m, hva, &w))
		return false;
	*hva = ALIGN_DOWN(*hva, 1ULL << 21);
	return true;
}

static int one_change(struct linux_mix *m, unsigned op)
{
	uint64_t hva;
	struct pt_walk w;
	long r;

	if (op == MIX_COLLAPSE || op == MIX_SPLIT) {
		if (!pick_block(m, &hva, op == MIX_SPLIT))
			return -ENOENT;
		if (op == MIX_SPLIT)
			return mm_split(&host_mm, hva, PT_LEVEL_2M);
		r = mm_collapse(&host_mm, hva);
		if (!r)
			m->huge[m->nhuge++ % MIX_HUGE_KEPT] = hva;
		return (int)r;
	}
	if (op == MIX_AGE) {
		uint64_t spans = (m->hi - m->lo) / MIX_AGE_SPAN;

		mm_clear_young(&host_mm, mix_hva(m, m->lo + (mix_rnd(&m->rng) % spans) * MIX_AGE_SPAN),
			       MIX_AGE_SPAN);
		return 0;
	}
	if (!pick(m, &hva, &w))
		return -ENOENT;
	switch (op) {
	case MIX_MIGRATE:
		return mix_migrate(hva); /* -EINVAL inside a 2 MiB page */
	case MIX_PROTECT:
		r = mix_protect_cycle(hva);
		return r < 0 ? (int)r : 0;
	case MIX_NUMA:
		r = mix_numa(hva, MIX_NUMA_PAGES);
		return r < 0 ? (int)r : r ? 0 : -ENOENT; /* every page hinted already */
	case MIX_UNMAP_ZERO:
		return unmap_zero(hva);
	case MIX_SWAP:
		return swap(m, hva);
	}
	return -EINVAL;
}

bool linux_mix_step(struct linux_mix *m)
{
	unsigned op = (unsigned)(mix_rnd(&m->rng) % MIX_OPS);

	if (one_change(m, op))
		m->refused[op]++; /* no page, not 4 KiB, not zero, no full block: fine */
	else
		m->done[op]++;
	m->ops++;
	uint64_t t = rdtsc();
	if (!m->lost)
		m->bad = mix_incoherent(m->vm, m->why, sizeof(m->why));
	m->check_tsc += rdtsc() - t;
	return m->bad == 0 && !m->lost;
}

void linux_mix_counts(const struct linux_mix *m, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned op = 0; op < MIX_OPS && n < len; op++)
		n += (size_t)ksnprintf(buf + n, len - n, "%s%s %lu/%lu", op ? ", " : "",
				       mix_names[op], m->done[op], m->refused[op]);
}
