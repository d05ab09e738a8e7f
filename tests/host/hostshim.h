/* Shared by the host unit tests: arena "physical memory" and TAP output. */
#ifndef MINIHV_HOSTSHIM_H
#define MINIHV_HOSTSHIM_H

#include <stdint.h>

extern uint8_t *arena;
extern uint64_t arena_size;
void arena_init(uint64_t size);

void tap_begin(const char *name);
void tap_end(void);
int tap_check(int ok, const char *file, int line, const char *expr);
int tap_finish(void);

#define T(cond) tap_check(!!(cond), __FILE__, __LINE__, #cond)
#define RUN(fn)             \
	do {                \
		tap_begin(#fn); \
		fn();       \
		tap_end();  \
	} while (0)

#endif
