/* The guest console line (virt/console.c): COM1's transmitter and HC_WRITE end here. */
#ifndef MINIHV_CONSOLE_H
#define MINIHV_CONSOLE_H

#include "arch/x86/arch.h"

struct vcpu;

#define CONSOLE_LINE 120

/* A line of guest output being collected. */
struct console_line {
	char buf[CONSOLE_LINE];
	unsigned len;
};

/*
 * Append one guest byte to the console line: the vCPU's own for a flat
 * guest, the PC's (shared by its vCPUs, under the platform lock) for a PC
 * guest; '\n' prints the line.
 */
void vcpu_console_putc(struct vcpu *v, uint8_t c);
/* What byte @c becomes on the line: 0 to 4 characters in @out; returns how many. */
size_t console_escape(uint8_t c, char out[4]);

#endif
