#ifndef MINIHV_SERIAL_H
#define MINIHV_SERIAL_H

#include "arch/x86/compiler.h"

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
/* End a partly written line, so whatever is printed next starts a line of its own. */
void serial_end_line(void);

#endif
