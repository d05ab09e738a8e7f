#include "hostpt.h"
#include "bug.h"
#include "cpu.h"
#include "kerrno.h"
#include "msr.h"
#include "printk.h"
#include "x86pt.h"

struct pt host_pt;

/* Flushing page by page beats a full flush only for small ranges. */
#define FLUSH_ALL_THRESHOLD (64 * PAGE_SIZE)

unsigned host_leaf_levels(void)
{
	unsigned levels = (1u << PT_LEVEL_4K) | (1u << PT_LEVEL_2M);

	if (cpuid(0x80000001).edx & CPUID_80000001_EDX_PDPE1GB)
		levels |= 1u << PT_LEVEL_1G;
	return levels;
}

static void flush_range(uint64_t va, uint64_t size)
{
	if (size > FLUSH_ALL_THRESHOLD) {
		write_cr3(read_cr3()); /* no global pages: this flushes everything */
		return;
	}
	for (uint64_t off = 0; off < size; off += PAGE_SIZE)
		invlpg(va + off);
}

int hostpt_init(uint64_t direct_map_end)
{
	x86_pt_nx = rdmsr(MSR_EFER) & EFER_NXE;
	int r = pt_init(&host_pt, &x86_pt_fmt, &phys_frames, host_leaf_levels());
	if (r)
		return r;
	/* The direct map is executable: it holds the kernel text. */
	r = pt_map_best(&host_pt, 0, 0, ALIGN_UP(direct_map_end, pt_level_size(PT_LEVEL_2M)),
			PT_PROT_RWX);
	if (r)
		return r;
	write_cr3(host_pt.root);
	return 0;
}

static bool in_direct_map(uint64_t va, uint64_t size)
{
	return va < HOST_DYN_BASE || va + size > (1ULL << PT_VA_BITS);
}

int host_map(uint64_t va, uint64_t pa, uint64_t size, unsigned prot, int level)
{
	if (in_direct_map(va, size))
		return -EINVAL;
	/* Nothing was mapped here, so no TLB entry can be stale. */
	return pt_map(&host_pt, va, pa, size, prot, level);
}

long host_unmap(uint64_t va, uint64_t size)
{
	if (in_direct_map(va, size))
		return -EINVAL;
	long r = pt_unmap(&host_pt, va, size);
	flush_range(va, size);
	return r;
}

long host_protect(uint64_t va, uint64_t size, unsigned prot)
{
	if (in_direct_map(va, size))
		return -EINVAL;
	long r = pt_protect(&host_pt, va, size, prot);
	flush_range(va, size);
	return r;
}

int host_split(uint64_t va, int level)
{
	if (in_direct_map(va, 1))
		return -EINVAL;
	int r = pt_split(&host_pt, va, level);
	/* Same translations, smaller pages: flush so no stale huge TLB entry mixes in. */
	if (!r)
		flush_range(ALIGN_DOWN(va, pt_level_size(level)), pt_level_size(level));
	return r;
}

int host_lookup(uint64_t va, struct pt_walk *w)
{
	return pt_lookup(&host_pt, va, w);
}

int host_mapping_level(uint64_t va)
{
	return pt_mapping_level(&host_pt, va);
}
