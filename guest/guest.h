/* What guest programs need: hypercalls, the serial port, CPUID. */
#ifndef MINIHV_GUEST_H
#define MINIHV_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include "hypercall.h"

long guest_main(uint64_t ram, uint64_t cmd, uint64_t arg, uint64_t arg2);

static inline long hypercall(long nr, uint64_t a0, uint64_t a1)
{
	long ret;

	__asm__ __volatile__("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	return ret;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
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
