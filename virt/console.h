/* The guest console line (virt/console.c): COM1's transmitter and HC_WRITE end here. */
#ifndef MINIHV_CONSOLE_H
#define MINIHV_CONSOLE_H

#include "arch/x86/arch.h"

struct vcpu;

/* Append one guest byte to the vCPU's console line; '\n' prints the line. */
void vcpu_console_putc(struct vcpu *v, uint8_t c);
/* What byte @c becomes on the line: 0 to 4 characters in @out; returns how many. */
size_t console_escape(uint8_t c, char out[4]);

#endif
