#ifndef MINIHV_SERIAL_H
#define MINIHV_SERIAL_H

#include "arch/x86/compiler.h"

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
/* A byte the console's line received, or -1 when none is waiting (no wait). */
int serial_getc(void);
/* End a partly written line, so whatever is printed next starts a line of its own. */
void serial_end_line(void);
/* Wait until the UART has sent every byte (LSR.TEMT): before powering off. */
void serial_drain(void);

#endif
