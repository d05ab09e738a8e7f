#ifndef MINIHV_SERIAL_H
#define MINIHV_SERIAL_H

#include "compiler.h"

void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);

#endif
