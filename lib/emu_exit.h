/* Leaving the emulator with a status (lib/emu_exit.c): QEMU isa-debug-exit, the Bochs shutdown port. Not a VM exit. */
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

#endif
