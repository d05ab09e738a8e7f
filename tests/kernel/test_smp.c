/*
 * Several CPUs: every CPU the firmware lists came up with its own per-CPU
 * data, a function runs on the others by IPI, and a host TLB shootdown
 * reaches every CPU (a CPU that kept a stale translation would read the old
 * page after the remap).
 */
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

#define SHOOT_VA (HOST_DYN_BASE + 0x7000000000ULL)

/* No libgcc in the kernel: count bits by hand. */
static unsigned weight(uint64_t m)
{
	unsigned n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

static uint64_t others(void)
{
	return cpu_online_mask & ~(1ULL << cpu_id());
}

KTEST(smp_cpus_online)
{
	unsigned n = weight(cpu_online_mask);

	printk("# smp: %u CPUs online\n", n);
	CHECK_EQ(n, nr_cpus_online);
	CHECK_EQ(cpu_id(), 0u);
	for (unsigned c = 0; c < NR_CPUS; c++) {
		bool online = cpu_online_mask & (1ULL << c);

		CHECK_EQ(cpu_locals[c].online, online);
		if (!online)
			continue;
		CHECK_EQ(cpu_locals[c].self, &cpu_locals[c]);
		CHECK_EQ(cpu_locals[c].id, c);
		for (unsigned d = 0; d < c; d++)
			if (cpu_online_mask & (1ULL << d))
				CHECK(cpu_locals[d].apic_id != cpu_locals[c].apic_id,
				      "CPUs %u and %u share APIC ID %u", d, c, cpu_locals[c].apic_id);
	}
}

struct who {
	unsigned cpu[NR_CPUS];
	uint32_t apic[NR_CPUS];
	int calls;
};

static void record_self(void *arg)
{
	struct who *w = arg;
	unsigned c = cpu_id();

	w->cpu[c] = c + 1;
	w->apic[c] = lapic_id();
	__atomic_add_fetch(&w->calls, 1, __ATOMIC_RELAXED);
}

KTEST(smp_call_function)
{
	struct who w = { 0 };
	uint64_t mask = others();

	if (!mask) {
		ktest_skip("one CPU online: nothing to call");
		return;
	}
	for (int round = 0; round < 50; round++)
		smp_call_many(mask, record_self, &w, true);
	/* Every call ran before smp_call_many() returned, each on its own CPU. */
	CHECK_EQ(w.calls, 50 * (int)weight(mask));
	CHECK_EQ(w.cpu[0], 0u); /* not on the caller */
	for (unsigned c = 1; c < NR_CPUS; c++) {
		if (!(mask & (1ULL << c)))
			continue;
		CHECK_EQ(w.cpu[c], c + 1);
		CHECK_EQ(w.apic[c], cpu_locals[c].apic_id);
	}
}

struct peek {
	uint64_t seen[NR_CPUS];
};

static void read_shoot_va(void *arg)
{
	struct peek *p = arg;

	p->seen[cpu_id()] = READ_ONCE(*(volatile uint64_t *)SHOOT_VA);
}

/*
 * Map page A, let every CPU read it (and cache the translation), move the
 * mapping to page B: every CPU must now read B. Without the shootdown, each
 * other CPU keeps its TLB entry for A.
 */
KTEST(smp_tlb_shootdown)
{
	uint64_t mask = others(), a, b;
	struct peek p;

	if (!mask) {
		ktest_skip("one CPU online: no remote TLB");
		return;
	}
	if (!CHECK_EQ(frame_alloc(&phys_frames, 0, &a), 0) ||
	    !CHECK_EQ(frame_alloc(&phys_frames, 0, &b), 0))
		return;
	*(volatile uint64_t *)phys_to_virt(a) = 0xaaaa;
	*(volatile uint64_t *)phys_to_virt(b) = 0xbbbb;
	for (int round = 0; round < 4; round++) {
		uint64_t from = round % 2 ? b : a, to = round % 2 ? a : b;

		CHECK_EQ(host_map(SHOOT_VA, from, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K), 0);
		smp_call_many(mask, read_shoot_va, &p, true);
		uint64_t flushes = 0;
		for (unsigned c = 0; c < NR_CPUS; c++)
			flushes += cpu_locals[c].tlb_flushes;
		CHECK_EQ(host_unmap(SHOOT_VA, PAGE_SIZE), 1);
		CHECK_EQ(host_map(SHOOT_VA, to, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K), 0);
		memset(&p, 0, sizeof(p));
		smp_call_many(mask, read_shoot_va, &p, true);
		for (unsigned c = 1; c < NR_CPUS; c++)
			if (mask & (1ULL << c))
				CHECK(p.seen[c] == *(uint64_t *)phys_to_virt(to),
				      "CPU %u read %#llx after the remap", c,
				      (unsigned long long)p.seen[c]);
		uint64_t after = 0;
		for (unsigned c = 0; c < NR_CPUS; c++)
			after += cpu_locals[c].tlb_flushes;
		/* One flush on each online CPU, the caller included. */
		CHECK_EQ(after - flushes, (uint64_t)weight(cpu_online_mask));
		CHECK_EQ(host_unmap(SHOOT_VA, PAGE_SIZE), 1);
	}
	frame_free(&phys_frames, a, 0);
	frame_free(&phys_frames, b, 0);
}
