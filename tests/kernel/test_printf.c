/* The formatter as the kernel build compiles it (host tests cover it in depth). */
#include "lib/kstring.h"
#include "lib/ktest.h"

static bool fmt_is(const char *want, const char *fmt, ...) __printf(2, 3);
static bool fmt_is(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return CHECK(!strcmp(buf, want), "'%s' gave '%s', want '%s'", fmt, buf, want);
}

KTEST(printf_formats)
{
	fmt_is("-42 42 4294967254", "%d %u %u", -42, 42u, (unsigned)-42);
	fmt_is("ff FF 0xff", "%x %X %#x", 255u, 255u, 255u);
	fmt_is("ffffffffffffffff", "%lx", ~0UL);
	fmt_is("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
	fmt_is("0x1000", "%p", (void *)0x1000);
	fmt_is("[abc] [x] [%]", "[%s] [%c] [%%]", "abc", 'x');
	fmt_is("[  7] [007] [7  ]", "[%3d] [%03d] [%-3d]", 7, 7, 7);
	fmt_is("[00000000deadbeef]", "[%016lx]", 0xdeadbeefUL);
	fmt_is("-9223372036854775808", "%lld", (long long)(-9223372036854775807LL - 1));
	const char *volatile none = NULL; /* hidden from gcc's format checker */
	fmt_is("(null)", "%s", none);
}

KTEST(printf_truncation)
{
	char buf[8];
	int n = ksnprintf(buf, sizeof(buf), "%s", "0123456789");

	CHECK_EQ(n, 10);
	CHECK(!strcmp(buf, "0123456"), "got '%s'", buf);
}
