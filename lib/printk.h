/* Formatted output. kvsnprintf is pure (host-tested); printk goes to the console. */
#ifndef MINIHV_PRINTK_H
#define MINIHV_PRINTK_H

#include <stdarg.h>
#include "arch/x86/arch.h"

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Always printed: test results, warnings, panics. */
int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);
/* Informational: suppressed by the `quiet` command-line option. */
int pr_info(const char *fmt, ...) __printf(1, 2);

extern bool console_quiet;

/* "yes" or "no", for the "# probe: name=yes" lines scripts/test.sh reads. */
static inline const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

#endif
