/*
 * In-kernel self-tests. KTEST(name) registers a test in the .ktests linker
 * section; the harness (lib/ktest.c) runs those the `tests=` option selects
 * and prints KTAP/TAP lines: "ok N name", "not ok N name",
 * "ok N name # SKIP reason", then "N passed, N failed, N skipped".
 * An unexpected exception inside a test fails that test and the run goes on.
 */
#ifndef MINIHV_KTEST_H
#define MINIHV_KTEST_H

#include "lib/printk.h"
#include "arch/x86/arch.h"

struct ktest {
	const char *name;
	void (*fn)(void);
};

#define KTEST(n)                                                                   \
	static void ktest_fn_##n(void);                                            \
	static const struct ktest ktest_##n __used __section(".ktests." #n)          \
		__aligned(8) = { #n, ktest_fn_##n };                               \
	static void ktest_fn_##n(void)

/* Record a failed expectation; returns @ok so callers can bail out. */
bool ktest_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
	__printf(5, 6);
/* Mark the current test skipped with @reason (printed after "# SKIP"). */
void ktest_skip(const char *fmt, ...) __printf(1, 2);

#define CHECK(cond, ...) ktest_check(!!(cond), __FILE__, __LINE__, #cond, "" __VA_ARGS__)
#define CHECK_EQ(a, b)                                                                 \
	({                                                                             \
		unsigned long long __a = (unsigned long long)(a),                      \
				   __b = (unsigned long long)(b);                      \
		ktest_check(__a == __b, __FILE__, __LINE__, #a " == " #b,              \
			    "%#llx != %#llx", __a, __b);                               \
	})

/* Results so far, in run order, for gdb's hv-tests. */
enum ktest_state { KTEST_PENDING, KTEST_RUNNING, KTEST_PASS, KTEST_FAIL, KTEST_SKIP };
struct ktest_result {
	const struct ktest *test;
	enum ktest_state state;
};
#define KTEST_MAX 256
extern struct ktest_result ktest_results[KTEST_MAX];
extern unsigned ktest_nresults;

struct ktest_summary {
	unsigned passed, failed, skipped;
};

/*
 * Run the tests matching @spec ("GLOB[,GLOB...]", "-GLOB" excludes; NULL runs
 * none). @pre_failures are failures found before any test ran (a bad command
 * line), reported as a failed "boot_cmdline" test with @pre_msg. @preamble,
 * if set, prints comment lines right after the plan (kmain: the CPU probe).
 */
struct ktest_summary ktest_run(const char *spec, unsigned pre_failures, const char *pre_msg,
			       void (*preamble)(void));
/* Would the test named @name run under @spec? (pure; host-tested) */
bool ktest_selected(const char *spec, const char *name);
/*
 * Calls @fn for each glob of @spec (include or exclude, '-' stripped) that
 * matches none of the @n @tests: a typo, which must fail the run rather than
 * quietly run nothing (@fn may be NULL). Returns how many. (pure; host-tested)
 */
unsigned ktest_unmatched(const char *spec, const struct ktest *tests, size_t n,
			 void (*fn)(const char *glob, size_t len, void *ctx), void *ctx);
#define KTEST_CLOSEST_MAX 8
/*
 * The (at most @k, KTEST_CLOSEST_MAX) test names closest to @glob's literal
 * characters by edit distance, best first, into @out; returns how many.
 */
size_t ktest_closest(const char *glob, size_t len, const struct ktest *tests, size_t n,
		     const char **out, size_t k);
struct trap_frame;
/*
 * Run @fn; if it takes an exception no probe expected, copy the frame to @f
 * and return true (the harness's own recovery path, used by its tests).
 */
bool ktest_catch(void (*fn)(void), struct trap_frame *f);
/* Name of the running test, NULL outside tests. */
const char *ktest_current(void);

#endif
