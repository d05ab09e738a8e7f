/* printk: format into a line buffer and write it to the serial console. */
#include "lib/printk.h"
#include "arch/x86/arch.h"

bool console_quiet;

int vprintk(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;

	serial_write(buf, len);
	if ((size_t)n > len)
		serial_write("[...]\n", 6); /* say so rather than drop text silently */
	return n;
}

int pr_info(const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (console_quiet)
		return 0;
	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}
