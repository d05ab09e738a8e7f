/*
 * printk() over vprintk(), which each build provides: the serial console in
 * the kernel (lib/console.c), stdout in the host unit tests (tests/host/shim.c).
 */
#include "lib/printk.h"

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
