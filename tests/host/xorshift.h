/* A small xorshift generator for the host tests and benchmarks: the same sequence from a seed on every run. */
#ifndef MINIHV_TEST_XORSHIFT_H
#define MINIHV_TEST_XORSHIFT_H

#include <stdint.h>

/* The next number of the sequence in *@state, below @n. */
static inline uint64_t xorshift_below(uint64_t *state, uint64_t n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state % n;
}

#endif
