#include "lib/ksyms.h"
#include "lib/kstring.h"
#include "lib/printk.h"
#include "arch/x86/arch.h"

/* Emitted into .ksyms by scripts/mksyms.sh, sorted by address. */
extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_name_offs[];
extern const char ksyms_names[];
extern const char _kernel_start[], _kernel_end[];

#define BACKTRACE_MAX 24

static long ksym_index(uint64_t addr)
{
	long lo = 0, hi = (long)ksyms_count - 1, best = -1;

	while (lo <= hi) {
		long mid = (lo + hi) / 2;

		if (ksyms_addrs[mid] <= addr) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

const char *ksym_lookup(uint64_t addr, uint64_t *off)
{
	long i = ksym_index(addr);

	/* Past the last symbol is outside the text, not inside it. */
	if (i < 0 || i + 1 >= (long)ksyms_count)
		return NULL;
	*off = addr - ksyms_addrs[i];
	return ksyms_names + ksyms_name_offs[i];
}

uint64_t ksym_address(const char *name)
{
	for (uint64_t i = 0; i < ksyms_count; i++)
		if (!strcmp(ksyms_names + ksyms_name_offs[i], name))
			return ksyms_addrs[i];
	return 0;
}

void print_symbol(uint64_t addr)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		printk("%s+%#llx", name, (unsigned long long)off);
	else
		printk("%#llx", (unsigned long long)addr);
}

static bool frame_ok(uint64_t rbp)
{
	uint64_t dummy;

	/* Stacks live in the kernel image (boot stack, IST stacks); read safely anyway. */
	return rbp && IS_ALIGNED(rbp, 8) && rbp >= (uint64_t)_kernel_start &&
	       rbp + 16 <= (uint64_t)_kernel_end && probe_read64((void *)rbp, &dummy) < 0;
}

int backtrace_save(uint64_t rbp, uint64_t *out, int max)
{
	int n = 0;

	while (n < max && frame_ok(rbp)) {
		const uint64_t *fp = (const uint64_t *)rbp;
		uint64_t next = fp[0], ret = fp[1];

		if (!ret)
			break;
		out[n++] = ret;
		if (next <= rbp)
			break; /* stacks grow down: a caller's frame is above ours */
		rbp = next;
	}
	return n;
}

void backtrace_from(uint64_t rip, uint64_t rbp)
{
	uint64_t ret[BACKTRACE_MAX];
	int n = backtrace_save(rbp, ret, BACKTRACE_MAX);

	printk("Call trace:\n  [<%016llx>] ", (unsigned long long)rip);
	print_symbol(rip);
	printk("\n");
	for (int i = 0; i < n; i++) {
		printk("  [<%016llx>] ", (unsigned long long)ret[i]);
		/* A return address points after the call: name the call itself. */
		print_symbol(ret[i] - 1);
		printk("\n");
	}
}

void dump_stack(void)
{
	const uint64_t *fp = __builtin_frame_address(0);

	/* fp[0] is the caller's frame pointer, fp[1] our return address. */
	backtrace_from(fp[1] - 1, fp[0]);
}
