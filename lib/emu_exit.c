#include "lib/emu_exit.h"
#include "lib/printk.h"
#include "arch/x86/arch.h"

__noreturn void emu_exit(int status)
{
	emu_exit_as(status, status == 0);
}

__noreturn void emu_exit_as(int status, bool pass)
{
	/* The status line starts a line of its own and the log ends with a newline. */
	serial_end_line();
	printk("minihv: exit status %d (%s)\n", status, pass ? "pass" : "fail");
	serial_drain();
	/* QEMU: exits here with (status << 1) | 1; elsewhere the port is unused. */
	outb(QEMU_DEBUG_EXIT_PORT, (uint8_t)status);
	/* Bochs: pass breaks into the debugger, which quits (exit 0); fail is a panic (exit 1). */
	if (pass) {
		outb(BOCHS_SHUTDOWN_PORT, 'D');
	} else {
		for (const char *s = "Shutdown"; *s; s++)
			outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	}
	cpu_halt_forever();
}

bool emu_tsc_counts_instructions(void)
{
	return inb(BOCHS_E9_PORT) == BOCHS_E9_PORT;
}
