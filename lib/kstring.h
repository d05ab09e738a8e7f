/*
 * String and memory functions. The kernel has its own (lib/string.c); the host
 * unit-test build gets libc's, whose prototypes are the same.
 */
#ifndef MINIHV_KSTRING_H
#define MINIHV_KSTRING_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);

/* Always the project's own (both builds): copy with truncation, always NUL-terminated. */
size_t kstrlcpy(char *dst, const char *src, size_t size);

/* A field of a firmware table or boot record, at any alignment (x86: little-endian). */
static inline uint32_t get_unaligned32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t get_unaligned64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
