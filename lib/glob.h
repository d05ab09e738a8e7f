#ifndef MINIHV_GLOB_H
#define MINIHV_GLOB_H

#include "arch/x86/arch.h"

/* Match @s against the first @patlen bytes of @pat ('*' and '?'). */
bool glob_match(const char *pat, size_t patlen, const char *s);

#endif
