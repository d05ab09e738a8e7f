/*
 * Symbol table built into the image (second link pass, see the Makefile) and
 * frame-pointer backtraces that use it.
 */
#ifndef MINIHV_KSYMS_H
#define MINIHV_KSYMS_H

#include "arch/x86/arch.h"

/* Name of the function containing @addr, NULL if unknown; *off gets the offset. */
const char *ksym_lookup(uint64_t addr, uint64_t *off);
/* Prints "name+0xoff/0xsize" or the bare address. */
void print_symbol(uint64_t addr);
/* Prints the call chain starting at @rip with frame pointer @rbp. */
void backtrace_from(uint64_t rip, uint64_t rbp);
void dump_stack(void);
/* Fills @out with up to @max return addresses; returns how many. */
int backtrace_save(uint64_t rbp, uint64_t *out, int max);
/* Address of the named function, 0 if none. */
uint64_t ksym_address(const char *name);

#endif
