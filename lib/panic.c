/* panic() and the WARN slow path for the kernel build. */
#include "bug.h"
#include "cpu.h"
#include "exit.h"
#include "ksyms.h"
#include "printk.h"

unsigned long warn_count;
static bool in_panic;

void warn_slowpath(const char *file, int line, const char *cond)
{
	warn_count++;
	printk("WARNING at %s:%d: %s\n", file, line, cond);
	dump_stack();
}

__noreturn void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (in_panic) /* a fault while panicking: stop, don't recurse */
		emu_exit(EXIT_PANIC);
	in_panic = true;
	printk("PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	dump_stack();
	emu_exit(EXIT_PANIC);
}
