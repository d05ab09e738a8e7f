/*
 * The emulator minihv runs in (lib/emu_exit.c): leaving it with a status
 * (QEMU isa-debug-exit, the Bochs shutdown port; not a VM exit), and whether
 * its TSC is an instruction count.
 */
#ifndef MINIHV_EMU_EXIT_H
#define MINIHV_EMU_EXIT_H

#include "arch/x86/arch.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_PANIC 2

/*
 * Leave the emulator with @status. Prints "minihv: exit status N" first so the
 * status can be read from the serial log whatever the emulator reports.
 */
__noreturn void emu_exit(int status);
/*
 * The same, where @status alone does not say whether minihv passed: a
 * multiboot1 guest's status is (code << 1) | 1 (boot/run_guest.h), so 1 is
 * its pass. @pass picks Bochs' way out (the debugger for a pass).
 */
__noreturn void emu_exit_as(int status, bool pass);

/*
 * True under Bochs (found by its port 0xE9 hack, which scripts/emu.sh turns
 * on): there, with `clock: sync=none`, the TSC advances by one per
 * instruction retired, so a round trip in TSC ticks is a length in
 * instructions, the same on every run. Elsewhere ticks are time.
 */
bool emu_tsc_counts_instructions(void);

#endif
