/* Compiler helpers shared by the kernel and the host unit-test build. */
#ifndef MINIHV_COMPILER_H
#define MINIHV_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * One untorn access to a field another CPU may change at the same time.
 * Relaxed atomics rather than volatile: the same single mov on x86, but
 * ThreadSanitizer (the host build of tests/host/test_smp.c) knows them for
 * deliberate lockless accesses and reports only real races. Scalars only.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define barrier() __asm__ __volatile__("" ::: "memory")

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __noreturn __attribute__((noreturn))
#define __used __attribute__((used))
#define __aligned(n) __attribute__((aligned(n)))
#define __packed __attribute__((packed))
#define __section(s) __attribute__((section(s)))
#define __unused __attribute__((unused))

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)
/* "file:line" of the caller, for lock records. */
#define THIS_SITE __FILE__ ":" __stringify(__LINE__)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
