/*
 * The kernel's primary MMU instance: the host page tables, a struct mm whose
 * TLB flush is invlpg / a CR3 reload. All host-mapping changes go through
 * the mm_* operations (mm/mm.c) and so through the notifiers.
 */
#include "mm/hostpt.h"
#include "mm/x86pt.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

/* Every frame of physical RAM: set up by kmain from the memory map (mm/memmap.c). */
struct frame_alloc phys_frames;

struct mm host_mm;

/* Flushing page by page beats a full flush only for small ranges. */
#define FLUSH_ALL_THRESHOLD (64 * PAGE_SIZE)

unsigned host_leaf_levels(void)
{
	unsigned levels = (1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M);

	if (cpuid(0x80000001).edx & CPUID_80000001_EDX_PDPE1GB)
		levels |= 1u << PT_LEVEL_1G;
	return levels;
}

struct flush_req {
	uint64_t va, size;
};

static void flush_local(void *arg)
{
	const struct flush_req *f = arg;

	this_cpu_local()->tlb_flushes++;
	if (f->size > FLUSH_ALL_THRESHOLD) {
		write_cr3(read_cr3()); /* no global pages: this flushes everything */
		return;
	}
	for (uint64_t off = 0; off < f->size; off += PAGE_SIZE)
		invlpg(f->va + off);
}

/*
 * A TLB shootdown: this CPU and, by IPI, every other online CPU forget
 * [va, va + size), and it returns only when all of them have. Any CPU may
 * have cached the old translation (the host page tables are shared), and a
 * page or page-table page is freed only after this returns
 * (../shared/DESIGN.md, "Freeing order"). A CPU that walks with interrupts
 * off holds its IPI back, and so the tables it walks (seed 003).
 */
static void flush_range(uint64_t va, uint64_t size)
{
	struct flush_req f = { va, size };

	flush_local(&f);
	smp_call_many(cpu_online_mask, flush_local, &f, true);
}

int hostpt_init(uint64_t direct_map_end)
{
	x86_pt_nx = rdmsr(MSR_EFER) & EFER_NXE;
	int r = pt_init(&host_mm.pt, &x86_pt_fmt, &phys_frames, host_leaf_levels());
	if (r)
		return r;
	/* The direct map is executable: it holds the kernel text. */
	r = pt_map_best(&host_mm.pt, 0, 0, ALIGN_UP(direct_map_end, pt_level_size(PT_LEVEL_2M)),
			PT_PROT_RWX);
	if (r)
		return r;
	spin_lock_init(&host_mm.lock, LOCK_RANK_MM, "host_mm.lock");
	rwlock_init(&host_mm.notifier_lock, LOCK_RANK_NOTIFIERS, "host_mm.notifier_lock");
	/* Table pages wait for the shootdown after the change that dropped them (mm/mm.c). */
	host_mm.pt.defer_frees = true;
	host_mm.flush_tlb = flush_range;
	host_mm.dyn_base = HOST_DYN_BASE; /* the direct map never changes */
	write_cr3(host_mm.pt.root);
	return 0;
}

int host_map(uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level)
{
	return mm_map(&host_mm, va, pa, size, prot, level);
}

long host_unmap(uint64_t va, uint64_t size)
{
	return mm_unmap(&host_mm, va, size);
}

long host_protect(uint64_t va, uint64_t size, unsigned prot)
{
	return mm_protect(&host_mm, va, size, prot, false);
}

int host_split(uint64_t va, int level)
{
	return mm_split(&host_mm, va, level);
}

int host_lookup(uint64_t va, struct pt_walk *w)
{
	return mm_lookup(&host_mm, va, w);
}

int host_mapping_level(uint64_t va)
{
	struct pt_walk w;

	return mm_lookup(&host_mm, va, &w) ? 0 : w.level;
}
