/*
 * Three tiers of trouble, as in KVM:
 *  - BUG_ON(): the impossible; the kernel panics (prints file:line, backtrace).
 *  - WARN_ON()/WARN_ON_ONCE(): recoverable; prints and returns the condition so
 *    the caller can bail out with an error code. _ONCE is once per call site.
 *  - VM_BUG_ON() (ept/vm.h, later): kill the guest, keep the host.
 * warn_slowpath()/panic_at() are provided by the kernel (lib/panic.c) and by
 * the host unit-test shim, so pure modules use the same macros in both builds.
 */
#ifndef MINIHV_BUG_H
#define MINIHV_BUG_H

#include "arch/x86/arch.h"

void warn_slowpath(const char *file, int line, const char *cond);
__noreturn void panic_at(const char *file, int line, const char *fmt, ...) __printf(3, 4);

#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

#define BUG_ON(cond)                                                      \
	do {                                                              \
		if (unlikely(cond))                                       \
			panic_at(__FILE__, __LINE__, "BUG_ON(%s)", #cond); \
	} while (0)

#define WARN_ON(cond)                                                     \
	({                                                                \
		bool __w = !!(cond);                                      \
		if (unlikely(__w))                                        \
			warn_slowpath(__FILE__, __LINE__, #cond);         \
		__w;                                                      \
	})

#define WARN_ON_ONCE(cond)                                                \
	({                                                                \
		static bool __warned;                                     \
		bool __w = !!(cond);                                      \
		if (unlikely(__w) && !__warned) {                         \
			__warned = true;                                  \
			warn_slowpath(__FILE__, __LINE__, #cond);         \
		}                                                         \
		__w;                                                      \
	})

/* Number of warnings printed so far (tests check that a warning fired). */
extern unsigned long warn_count;

/* After a panic: halt for a debugger (the on_panic=halt option) instead of leaving. */
extern bool panic_halt;

#endif
