/* printk: format into a line buffer and write it to the serial console. */
#include "lib/printk.h"
#include "lib/spinlock.h"
#include "arch/x86/arch.h"

bool console_quiet;

/* One printk's text stays together when several CPUs print at once. */
static struct spinlock console_lock = { .dep = { LOCK_RANK_CONSOLE, "console" } };

int vprintk(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	/* A fault or panic while this CPU prints still gets its message out. */
	bool lock = !spin_held_here(&console_lock);
	unsigned long flags = 0;

	if (lock)
		spin_lock_irqsave(&console_lock, flags);
	serial_write(buf, len);
	if ((size_t)n > len)
		serial_write("[...]\n", 6); /* say so rather than drop text silently */
	if (lock)
		spin_unlock_irqrestore(&console_lock, flags);
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
