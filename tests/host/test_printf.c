/* Host unit tests for lib/printf.c (kvsnprintf / ksnprintf). */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "lib/printk.h"
#include "tests/host/hostshim.h"

/* Format with ksnprintf into a 256-byte buffer and compare with @want. */
static char out[256];

static int vfmt_eq(const char *want, const char *fmt, va_list ap)
{
	int n;

	memset(out, 'Z', sizeof(out));
	n = kvsnprintf(out, sizeof(out), fmt, ap);
	if (strcmp(out, want) || n != (int)strlen(want)) {
		printf("# fmt \"%s\": got \"%s\" (%d), want \"%s\"\n", fmt, out, n, want);
		return 0;
	}
	return 1;
}

static int fmt_eq(const char *want, const char *fmt, ...) __printf(2, 3);
static int fmt_eq(const char *want, const char *fmt, ...)
{
	va_list ap;
	int ok;

	va_start(ap, fmt);
	ok = vfmt_eq(want, fmt, ap);
	va_end(ap);
	return ok;
}

/* Same format through both ours and libc's vsnprintf: they must agree. */
static int same_as_libc(const char *fmt, ...) __printf(1, 2);
static int same_as_libc(const char *fmt, ...)
{
	char a[256], b[256];
	va_list ap, ap2;
	int na, nb;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	na = kvsnprintf(a, sizeof(a), fmt, ap);
	nb = vsnprintf(b, sizeof(b), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (na != nb || strcmp(a, b)) {
		printf("# fmt \"%s\": ours \"%s\" (%d), libc \"%s\" (%d)\n", fmt, a, na, b, nb);
		return 0;
	}
	return 1;
}

/* No format attribute: these formats are deliberately malformed. */
static int odd_eq(const char *want, const char *fmt, ...)
{
	va_list ap;
	int ok;

	va_start(ap, fmt);
	ok = vfmt_eq(want, fmt, ap);
	va_end(ap);
	return ok;
}

static void test_integers(void)
{
	T(fmt_eq("42", "%d", 42));
	T(fmt_eq("-42", "%i", -42));
	T(fmt_eq("0", "%d", 0));
	T(fmt_eq("4294967295", "%u", 4294967295u));
	T(fmt_eq("deadbeef", "%x", 0xdeadbeefu));
	T(fmt_eq("DEADBEEF", "%X", 0xdeadbeefu));
	T(fmt_eq("ffffffffffffffff", "%lx", ~0UL));
	T(fmt_eq("123456789abcdef0", "%llx", 0x123456789abcdef0ULL));
	T(fmt_eq("-9000000000", "%ld", -9000000000L));
	T(fmt_eq("9000000000", "%lld", 9000000000LL));
	T(fmt_eq("18446744073709551615", "%zu", (size_t)-1));
	T(fmt_eq("18446744073709551615", "%llu", ~0ULL));
	T(fmt_eq("777", "%o", 0777u));
	T(fmt_eq("-1 255", "%hhd %hhu", 255, 255));
	T(fmt_eq("-1 65535", "%hd %hu", 65535, 65535));
}

static void test_extremes(void)
{
	T(fmt_eq("-2147483648", "%d", INT_MIN));
	T(fmt_eq("2147483647", "%d", INT_MAX));
	T(fmt_eq("-9223372036854775808", "%lld", LLONG_MIN));
	T(fmt_eq("9223372036854775807", "%lld", LLONG_MAX));
	T(fmt_eq("-9223372036854775808", "%ld", LONG_MIN));
	T(fmt_eq("[-9223372036854775808   ]", "[%-23lld]", LLONG_MIN));
	T(fmt_eq("1777777777777777777777", "%llo", ~0ULL));
}

static void test_char_string_percent(void)
{
	T(fmt_eq("x", "%c", 'x'));
	T(fmt_eq("[    x]", "[%5c]", 'x'));
	T(fmt_eq("[x    ]", "[%-5c]", 'x'));
	T(fmt_eq("hello", "%s", "hello"));
	T(fmt_eq("100%", "%d%%", 100));
	T(fmt_eq("%", "%%"));
	T(fmt_eq("a%b", "a%%b"));
	T(fmt_eq("", "%s", ""));
	T(fmt_eq("plain text", "plain text"));
}

static void test_null_string(void)
{
	const char *np = NULL;

	/* odd_eq: gcc knows passing NULL for %s is undefined in C. */
	T(odd_eq("(null)", "%s", np));
	T(odd_eq("[  (null)]", "[%8s]", np));
	T(odd_eq("[(null)  ]", "[%-8s]", np));
	T(odd_eq("(nu", "%.3s", np));
}

static void test_width_and_flags(void)
{
	T(fmt_eq("[   42]", "[%5d]", 42));
	T(fmt_eq("[00042]", "[%05d]", 42));
	T(fmt_eq("[42   ]", "[%-5d]", 42));
	T(odd_eq("[42   ]", "[%-05d]", 42)); /* '-' overrides '0' */
	T(fmt_eq("[-0042]", "[%05d]", -42));
	T(fmt_eq("[  -42]", "[%5d]", -42));
	T(fmt_eq("+42", "%+d", 42));
	T(fmt_eq("-42", "%+d", -42));
	T(fmt_eq("+0", "%+d", 0));
	T(fmt_eq(" 42", "% d", 42));
	T(fmt_eq("0xff", "%#x", 0xff));
	T(fmt_eq("0XFF", "%#X", 0xff));
	T(fmt_eq("[  0xff]", "[%#6x]", 0xff));
	T(fmt_eq("[0x00ff]", "[%#06x]", 0xff));
	T(fmt_eq("[0xff  ]", "[%-#6x]", 0xff));
	T(fmt_eq("[   ab]", "[%*s]", 5, "ab"));
	T(fmt_eq("[ab   ]", "[%*s]", -5, "ab")); /* negative '*' width left-aligns */
	T(fmt_eq("[ab   ]", "[%-5s]", "ab"));
	T(fmt_eq("[abcdef]", "[%3s]", "abcdef")); /* width never truncates */
	T(fmt_eq("12", "%1d", 12));
	T(fmt_eq("[0000000000000000000000000000012]", "[%031d]", 12));
	T(odd_eq("42", "%+u", 42u)); /* '+' means nothing for unsigned */
}

static void test_string_precision(void)
{
	T(fmt_eq("abc", "%.3s", "abcdef"));
	T(fmt_eq("ab", "%.3s", "ab"));
	T(fmt_eq("", "%.0s", "abc"));
	T(fmt_eq("ab", "%.*s", 2, "abcdef"));
	T(fmt_eq("abcdef", "%.*s", -1, "abcdef")); /* negative: no precision */
	T(fmt_eq("[  abc]", "[%5.3s]", "abcdef"));
	T(fmt_eq("[abc  ]", "[%-5.3s]", "abcdef"));
	/* Precision stops the read: the bytes after it need not be terminated. */
	char raw[4] = { 'w', 'x', 'y', 'z' };
	T(fmt_eq("wxyz", "%.4s", raw));
	T(fmt_eq("wx", "%.*s", 2, raw));
}

static void test_pointer(void)
{
	char want[64];

	T(fmt_eq("0x1000", "%p", (void *)0x1000));
	T(fmt_eq("0xffff800000000000", "%p", (void *)0xffff800000000000ULL));
	snprintf(want, sizeof(want), "%p", (void *)want);
	T(fmt_eq(want, "%p", (void *)want));
	T(fmt_eq("[0x10    ]", "[%-8p]", (void *)0x10));
	T(fmt_eq("[    0x10]", "[%8p]", (void *)0x10));
}

static void test_truncation(void)
{
	char buf[8];
	int n;

	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, sizeof(buf), "%s", "hello world");
	T(n == 11);
	T(!strcmp(buf, "hello w"));

	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, 5, "%d", 123456);
	T(n == 6);
	T(!strcmp(buf, "1234"));
	T(buf[5] == 'Z'); /* nothing written past size */

	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, 1, "abc");
	T(n == 3);
	T(buf[0] == '\0' && buf[1] == 'Z');

	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, 0, "abc%d", 12);
	T(n == 5);
	T(buf[0] == 'Z');
	T(ksnprintf(NULL, 0, "%s-%s", "ab", "cd") == 5);

	/* Exactly fitting: size == length + 1. */
	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, 4, "%3d", 7);
	T(n == 3);
	T(!strcmp(buf, "  7"));

	/* Padding counts in the returned length too. */
	memset(buf, 'Z', sizeof(buf));
	n = ksnprintf(buf, sizeof(buf), "%-20s|", "x");
	T(n == 21);
	T(!strcmp(buf, "x      "));
}

static void test_odd_formats(void)
{
	T(odd_eq("50%", "50%"));     /* lone '%' at the end */
	T(odd_eq("%q", "%q"));       /* unknown conversion printed verbatim */
	T(odd_eq("a%qb", "a%qb"));
	T(odd_eq("1%", "%d%l", 1));  /* length modifier then end of string */
	T(odd_eq("x%", "x%-"));      /* flag then end of string */
}

/* Formats where the kernel's formatter is meant to agree with C99. */
static void test_matches_libc(void)
{
	static const int ivals[] = { 0, 1, -1, 7, 42, -42, 1000, 65535, INT_MAX, INT_MIN };
	static const char *const ifmts[] = {
		"%d", "%i", "%5d", "%-5d", "%05d", "%+d", "% d", "%+5d", "%-+6d", "%012d",
		"%+08d", "% 07d", "%u", "%x", "%X", "%8x", "%-8X|", "%08x", "%o", "%3o",
		"%1d", "%*d",
	};
	static const long long lvals[] = { 0, 1, -1, LLONG_MIN, LLONG_MAX, 0x123456789LL,
					   -9876543210LL };
	static const char *const lfmts[] = { "%lld", "%ld", "%20lld", "%-22lld|", "%022lld",
					     "%+lld", "%llx", "%lX", "%llu", "%lo" };
	static const char *const svals[] = { "", "a", "hello", "hello, world" };
	static const char *const sfmts[] = { "%s", "%8s", "%-8s|", "%.3s", "%.0s", "%10.4s",
					     "%-10.2s|", "%.20s", "%2s" };

	for (size_t f = 0; f < sizeof(ifmts) / sizeof(ifmts[0]); f++)
		for (size_t v = 0; v < sizeof(ivals) / sizeof(ivals[0]); v++) {
			if (!strcmp(ifmts[f], "%*d"))
				T(same_as_libc("%*d", 9, ivals[v]));
			else
				T(same_as_libc(ifmts[f], ivals[v]));
		}
	for (size_t f = 0; f < sizeof(lfmts) / sizeof(lfmts[0]); f++)
		for (size_t v = 0; v < sizeof(lvals) / sizeof(lvals[0]); v++)
			T(same_as_libc(lfmts[f], lvals[v]));
	for (size_t f = 0; f < sizeof(sfmts) / sizeof(sfmts[0]); f++)
		for (size_t v = 0; v < sizeof(svals) / sizeof(svals[0]); v++)
			T(same_as_libc(sfmts[f], svals[v]));
	T(same_as_libc("%zu %zx", (size_t)12345, (size_t)0xabc));
	T(same_as_libc("%c%c%c|%3c|%-3c|", 'a', 'b', 'c', 'd', 'e'));
	T(same_as_libc("%%|%d%%", 3));
	T(same_as_libc("%#x %#X %#lx", 1u, 0xabcu, 0x1234UL));
	T(same_as_libc("%s=%d (%#x) %c", "key", -5, 255u, '!'));
}

int main(void)
{
	RUN(test_integers);
	RUN(test_extremes);
	RUN(test_char_string_percent);
	RUN(test_null_string);
	RUN(test_width_and_flags);
	RUN(test_string_precision);
	RUN(test_pointer);
	RUN(test_truncation);
	RUN(test_odd_formats);
	RUN(test_matches_libc);
	return tap_finish();
}
