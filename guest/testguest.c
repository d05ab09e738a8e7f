/*
 * The guest of the VMX self-tests: one image, the command in RSI picks what
 * it does (tests/kernel/test_guest*.c). Return values other than 0 name the
 * check that failed.
 */
#include "guest/guest.h"
#include "guest/testguest.h"
#include "guest/testguest_abi.h"
#include "guest/testguest_shadow.h"

static long do_cpuid(void)
{
	static const char want[] = HV_SIGNATURE;
	struct cpuid_regs r = cpuid(HV_CPUID_LEAF);
	uint32_t sig[3] = { r.ebx, r.ecx, r.edx };

	for (int i = 0; i < 12; i++)
		if (((const char *)sig)[i] != want[i])
			return 1;
	if (r.eax < HV_CPUID_LEAF)
		return 4;
	r = cpuid(1);
	if (r.ecx & CPUID_1_ECX_VMX)
		return 2; /* VMX must be hidden */
	if (!(r.ecx & CPUID_1_ECX_HYPERVISOR))
		return 3; /* hypervisor bit must be set */
	return 0;
}

static long do_hypercalls(void)
{
	static char msg[] = "hypercall console works";
	static struct hc_stats st;

	if (hypercall(HC_WRITE, (uint64_t)msg, sizeof(msg) - 1) != sizeof(msg) - 1)
		return 1;
	if (hypercall(HC_WRITE, (uint64_t)"\n", 1) != 1)
		return 2;
	if (hypercall(HC_WRITE, 0xdead00000000ULL, 8) != HC_EFAULT)
		return 3;
	if (hypercall(HC_WRITE, (uint64_t)msg, HC_WRITE_MAX + 1) != HC_EINVAL)
		return 4;
	if (hypercall(999, 0, 0) != HC_ENOSYS)
		return 5;
	if (hypercall(HC_STATS, (uint64_t)&st, sizeof(st)) != sizeof(st))
		return 6;
	if (st.hypercalls < 5 || st.exits < 5)
		return 7;
	if (hypercall(HC_STATS, 0xdead00000000ULL, sizeof(st)) != HC_EFAULT)
		return 8;
	return 0;
}

static long do_pattern(uint64_t base, uint64_t size)
{
	volatile uint64_t *p = (volatile uint64_t *)base;
	uint64_t n = size / 8;

	for (uint64_t i = 0; i < n; i++)
		p[i] = TESTGUEST_PATTERN(base + i * 8);
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != TESTGUEST_PATTERN(base + i * 8))
			return 1;
	return 0;
}

/* TG_STRESS: vCPU @idx of @n; two words a page, so that Bochs gets through many rounds. */
static long stress(uint64_t arg, uint64_t size, uint64_t idx, uint64_t n)
{
	uint64_t base = arg & ~0xfffULL, gens = arg & 0xfff, per = n ? size / 4096 / n : 0;
	uint64_t first = base + idx * per * 4096;

	volatile uint64_t *stop = (volatile uint64_t *)base + TG_STRESS_STOP_WORD;
	bool stopping = false;

	for (uint64_t gen = 1;; gen++) {
		/* The last round only checks what the one before wrote. */
		bool last = stopping || (gens && gen > gens);

		for (uint64_t p = 0; p < per; p++) {
			uint64_t gpa = first + p * 4096;
			volatile uint64_t *w = (volatile uint64_t *)gpa;
			uint64_t want = TG_STRESS_PATTERN(gpa, gen - 1);

			for (int k = 0; k < 512; k += 511) {
				if (w[k] == TG_POISON)
					return (long)(gpa | TG_STRESS_POISON);
				if (gen > 1 && w[k] != want)
					return (long)(gpa | TG_STRESS_STALE);
				if (!last)
					w[k] = TG_STRESS_PATTERN(gpa, gen);
			}
		}
		if (last)
			return per ? 0 : -1;
		stopping = *stop == TG_STRESS_STOP;
	}
}

static long cpuid_bench(uint64_t n)
{
	if (!n)
		return -1;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpuid(0);
	return (long)((rdtsc() - t0) / n);
}

/*
 * The EPT-violation round trip: the second pass over the same pages costs
 * what the first did without the exits, so the difference is the exit,
 * the host's fault-in and the re-entry, whatever the loop itself costs.
 */
static long ept_bench(uint64_t base, uint64_t size)
{
	uint64_t n = size / 4096;

	if (!n)
		return -1;
	uint64_t t0 = rdtsc();
	for (uint64_t a = base; a < base + size; a += 4096)
		*(volatile uint8_t *)a = 1;
	uint64_t t1 = rdtsc();
	for (uint64_t a = base; a < base + size; a += 4096)
		*(volatile uint8_t *)a = 2;
	uint64_t t2 = rdtsc();
	return (long)(((t1 - t0) - (t2 - t1)) / n);
}

/* A consistent copy of the vCPU-info area (version even and unchanged). */
static void read_info(volatile struct hc_vcpu_info *vi, struct hc_vcpu_info *out)
{
	unsigned v;

	do {
		v = vi->version;
		__asm__ __volatile__("" ::: "memory");
		out->exits = vi->exits;
		out->last_exit_reason = vi->last_exit_reason;
		__asm__ __volatile__("" ::: "memory");
	} while ((v & 1) || v != vi->version);
	out->version = v;
}

/*
 * Register the vCPU-info area at @area, then forever: one CPUID exit, read
 * the area, yield the exit count it shows. The host's answer picks what next.
 */
static long info_loop(uint64_t area, uint64_t area2)
{
	struct hc_vcpu_info snap;

	/* Bad registrations get errors, not a crash. */
	if (hypercall(HC_VCPU_INFO, (area | 0xfff) - 7, 16) != HC_EINVAL)
		return 1; /* crosses a page */
	if (hypercall(HC_VCPU_INFO, 0xdead00000000ULL, 16) != HC_EFAULT)
		return 2; /* no memory there */
	if (hypercall(HC_VCPU_INFO, area, 8) != HC_EINVAL)
		return 3; /* too small */
	if (hypercall(HC_VCPU_INFO, area, sizeof(snap)) != 0)
		return 4;
	for (;;) {
		cpuid(0);
		read_info((volatile struct hc_vcpu_info *)area, &snap);
		long cmd = hypercall(HC_YIELD, snap.exits, 0);
		if (cmd == TG_INFO_DONE)
			return 0;
		if (cmd == TG_INFO_MOVE) {
			area = area2;
			if (hypercall(HC_VCPU_INFO, area, sizeof(snap)) != 0)
				return 5;
		}
	}
}

static long cpuid_spin(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		cpuid(0);
	return 0;
}

/* XSETBV needs CR4.OSXSAVE, which the guest owns (guest/ABI.md): it exits, not #UD. */
static long do_xsetbv(uint64_t xcr0)
{
	uint64_t cr4;

	__asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
	__asm__ __volatile__("mov %0, %%cr4" ::"r"(cr4 | X86_CR4_OSXSAVE));
	xsetbv(0, xcr0);
	return 1;
}

/* The command dispatcher: one case per test command, longer than 60 lines on purpose. */
long guest_main(uint64_t ram, uint64_t cmd, uint64_t arg, uint64_t arg2, uint64_t index,
		uint64_t count)
{
	switch (cmd) {
	case TG_STRESS:
		return stress(arg, arg2, index, count);
	case TG_CPUID:
		return do_cpuid();
	case TG_HLT:
		__asm__ __volatile__("hlt");
		return 100; /* not reached: the hypervisor stops a halted guest */
	case TG_HYPERCALLS:
		return do_hypercalls();
	case TG_SERIAL:
		serial_puts("serial console works\n");
		return 0;
	case TG_PATTERN:
		return do_pattern(arg, arg2);
	case TG_TOUCH:
		for (uint64_t a = arg; a < arg + arg2; a += 4096)
			*(volatile uint8_t *)a = 1;
		return 0;
	case TG_READ:
		return *(volatile uint8_t *)arg;
	case TG_WRITE:
		*(volatile uint8_t *)arg = 1;
		return 0;
	case TG_TRIPLE_FAULT:
		__asm__ __volatile__("ud2"); /* no IDT: #UD -> #DF -> triple fault */
		return 100;
	case TG_LOOP:
		for (;;)
			__asm__ __volatile__("" ::: "memory");
	case TG_INC_YIELD:
		for (;;) {
			hypercall(HC_YIELD, *(volatile uint64_t *)arg, 0);
			*(volatile uint64_t *)arg += 1;
		}
	case TG_TOUCH_YIELD:
		for (uint64_t round = 1;; round++) {
			for (uint64_t a = arg; a < arg + arg2; a += 4096)
				*(volatile uint8_t *)a = (uint8_t)round;
			hypercall(HC_YIELD, round, 0);
		}
	case TG_MWAIT: {
		static volatile uint64_t line;

		__asm__ __volatile__("monitor" ::"a"(&line), "c"(0), "d"(0));
		__asm__ __volatile__("mwait" ::"a"(0x60), "c"(0)); /* hint: C7 */
		return 0;
	}
	case TG_VCPU_INFO:
		return info_loop(arg, arg2);
	case TG_CPUID_BENCH:
		return cpuid_bench(arg);
	case TG_EPT_BENCH:
		return ept_bench(arg, arg2);
	case TG_MSR:
		return tg_msr();
	case TG_MSR_UNKNOWN:
		return tg_msr_unknown((uint32_t)arg, arg2);
	case TG_UART:
		return tg_uart();
	case TG_SSE:
		return tg_sse(arg2);
	case TG_PAGE_FAULT:
		return tg_page_fault(arg);
	case TG_EXCEPTIONS:
		return tg_exceptions();
	case TG_SHADOW_BENCH:
		return tg_shadow_bench(arg, arg2);
	case TG_SHADOW_PT:
		return tg_shadow_pt(arg, arg2);
	case TG_PT_FUZZ:
		return tg_pt_fuzz(arg, arg2, ram);
	case TG_CPUID_SPIN:
		return cpuid_spin(arg);
	case TG_XSETBV:
		return do_xsetbv(arg);
	case TG_INVD:
		__asm__ __volatile__("invd" ::: "memory");
		return 1;
	case TG_WBINVD:
		__asm__ __volatile__("wbinvd" ::: "memory");
		return 0;
	default:
		return 99;
	}
}
