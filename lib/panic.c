/* panic() and the WARN slow path for the kernel build. */
#include "lib/bug.h"
#include "lib/emu_exit.h"
#include "lib/ksyms.h"
#include "lib/printk.h"
#include "arch/x86/arch.h"

unsigned long warn_count;
bool panic_halt;
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
	serial_end_line(); /* "PANIC" starts a line, where the runner looks for it */
	printk("PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintk(fmt, ap);
	va_end(ap);
	printk("\n");
	dump_stack();
	if (panic_halt) {
		/* Under `make debug`: keep the state for the debugger. */
		printk("minihv: halted after the panic. Attach with `make gdb` (GDB_PORT as for "
		       "`make debug`), then `bt`, `info registers`, hv-pt/hv-ept/hv-inval/hv-tests.\n");
		cpu_halt_forever();
	}
	emu_exit(EXIT_PANIC);
}
