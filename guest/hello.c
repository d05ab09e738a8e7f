/*
 * The demo guest of `make run`: greets through both consoles, yields, touches
 * memory, exits. Its exit code says which step failed (0: none).
 */
#include "guest/guest.h"

#define TOUCH_BYTES (8u << 20) /* 8 MiB from 4 MiB up: a few thousand EPT faults */
#define TOUCH_BASE (4u << 20)

static char buf[96];

static char *fmt_u(char *p, unsigned long long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

long guest_main(uint64_t ram, uint64_t cmd, uint64_t arg, uint64_t arg2, uint64_t index,
		uint64_t count)
{
	struct hc_stats st;
	char sig[13];

	(void)cmd, (void)arg, (void)arg2;
	if (index) {
		/* vCPUs other than the first only say hello: vCPU 0 does the demo. */
		char line[48] = "Hello from vCPU ", *l = line + 16;

		l = fmt_u(l, index);
		*l++ = '/';
		l = fmt_u(l, count);
		*l++ = '\n';
		*l = 0;
		hc_puts(line);
		return 0;
	}
	struct cpuid_regs r = cpuid(HV_CPUID_LEAF);
	for (int i = 0; i < 4; i++) {
		sig[i] = (char)(r.ebx >> (8 * i));
		sig[4 + i] = (char)(r.ecx >> (8 * i));
		sig[8 + i] = (char)(r.edx >> (8 * i));
	}
	sig[12] = 0;
	hc_puts("Hello from a minihv guest (hypercall console)\n");
	serial_puts("Hello from a minihv guest (COM1), hypervisor signature: ");
	serial_puts(sig);
	serial_puts("\n");

	/* Given as the "guest" module, HC_YIELD only pauses: it returns 0 (guest/ABI.md). */
	for (uint64_t i = 1; i <= 3; i++)
		if (hypercall(HC_YIELD, i, 0) != 0)
			return 3;
	hc_puts("yielded 3 times, each returned 0\n");

	uint64_t end = TOUCH_BASE + TOUCH_BYTES <= ram ? TOUCH_BASE + TOUCH_BYTES : ram;
	volatile uint64_t *p;
	for (p = (volatile uint64_t *)TOUCH_BASE; (uint64_t)p < end; p += 512)
		*p = (uint64_t)p;
	for (p = (volatile uint64_t *)TOUCH_BASE; (uint64_t)p < end; p += 512)
		if (*p != (uint64_t)p)
			return 1;

	if (hypercall(HC_STATS, (uint64_t)&st, sizeof(st)) != sizeof(st))
		return 2;
	char *q = buf;
	const char *s = "touched memory; exits so far: ";
	while (*s)
		*q++ = *s++;
	q = fmt_u(q, st.exits);
	s = ", EPT violations: ";
	while (*s)
		*q++ = *s++;
	q = fmt_u(q, st.ept_violations);
	*q++ = '\n';
	*q = 0;
	hc_puts(buf);
	return 0;
}
