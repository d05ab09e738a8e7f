/* Backtraces, symbols and the once-per-site warning. */
#include "lib/bug.h"
#include "lib/kstring.h"
#include "lib/ksyms.h"
#include "lib/ktest.h"

static __attribute__((noinline)) int bt_leaf(uint64_t *ret, int max)
{
	int n = backtrace_save((uint64_t)__builtin_frame_address(0), ret, max);

	barrier(); /* keep this a real call, not a tail call */
	return n;
}

static __attribute__((noinline)) int bt_middle(uint64_t *ret, int max)
{
	int n = bt_leaf(ret, max);

	barrier();
	return n;
}

static int depth_names(uint64_t *ret, int max)
{
	return bt_middle(ret, max);
}

static bool chain_has(const uint64_t *ret, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		uint64_t off;
		const char *s = ksym_lookup(ret[i] - 1, &off);

		size_t len = strlen(name);

		/* gcc clones keep the name before a suffix: bt_middle.constprop.0 */
		if (s && !strncmp(s, name, len) && (s[len] == '\0' || s[len] == '.'))
			return true;
	}
	return false;
}

KTEST(debug_backtrace_symbols)
{
	uint64_t ret[16], off;
	int n = depth_names(ret, 16);

	CHECK(n >= 3, "only %d frames", n);
	CHECK(chain_has(ret, n, "bt_middle"), "bt_middle missing from the call trace");
	CHECK(chain_has(ret, n, "ktest_run"), "ktest_run missing from the call trace");
	CHECK(chain_has(ret, n, "kmain"), "kmain missing from the call trace");
	const char *s = ksym_lookup(ksym_address("kmain") + 3, &off);
	CHECK(s && !strcmp(s, "kmain") && off == 3);
	CHECK(!ksym_lookup(0x10, &off), "address 0x10 resolved to a symbol");
}

static bool warn_site_a(bool c)
{
	return WARN_ON_ONCE(c);
}

static bool warn_site_b(bool c)
{
	return WARN_ON_ONCE(c);
}

KTEST(debug_warn_once_per_site)
{
	unsigned long w = warn_count;

	printk("# the two warnings below are deliberate\n");
	CHECK(warn_site_a(true));
	CHECK(warn_site_a(true));  /* condition still returned ... */
	CHECK_EQ(warn_count, w + 1); /* ... but printed once */
	CHECK(!warn_site_a(false));
	CHECK(warn_site_b(true));   /* another call site warns on its own */
	CHECK_EQ(warn_count, w + 2);
}
