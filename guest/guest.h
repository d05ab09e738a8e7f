/* What guest programs need: hypercalls, the serial port, CPUID (arch/x86/cpu.h). */
#ifndef MINIHV_GUEST_H
#define MINIHV_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "arch/x86/cpu.h" /* outb, inb, cpuid: the kernel's one-line wrappers */
#include "guest/hypercall.h"

/*
 * The entry (guest/start.asm calls it with the registers minihv set,
 * guest/ABI.md): RDI = RAM size, RSI/RDX/RCX = command and arguments, R8 =
 * this vCPU's index, R9 = the vCPU count (guest_vcpus=).
 */
long guest_main(uint64_t ram, uint64_t cmd, uint64_t arg, uint64_t arg2, uint64_t index,
		uint64_t count);

static inline long hypercall(long nr, uint64_t a0, uint64_t a1)
{
	long ret;

	__asm__ __volatile__("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	return ret;
}

static inline size_t g_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* The hypercall console. */
static inline long hc_puts(const char *s)
{
	return hypercall(HC_WRITE, (uint64_t)s, g_strlen(s));
}

/* The guest's own COM1, polled like real hardware. */
static inline void serial_puts(const char *s)
{
	for (; *s; s++) {
		while (!(inb(0x3fd) & 0x20))
			;
		outb(0x3f8, (uint8_t)*s);
	}
}

#endif
