/*
 * Host unit tests for lib/cmdline.c (cmdline_parse, parse_size), lib/strutil.c
 * (glob_match, kstrlcpy, errno_name) and lib/ktest_select.c (ktest_selected).
 */
#include <stdio.h>
#include <string.h>
#include "lib/cmdline.h"
#include "lib/glob.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/ktest.h"
#include "tests/host/hostshim.h"

static const struct opt_def defs[] = {
	{ "quiet", OPT_FLAG, "quiet" },
	{ "tests", OPT_STRING, "tests=GLOB[,-GLOB]" },
	{ "mem", OPT_SIZE, "mem=N[K|M|G]" },
	{ "name", OPT_STRING, "name=TEXT" },
	{ "count", OPT_NUMBER, "count=N" },
};

struct seen {
	int calls;
	bool quiet;
	char tests[64];
	uint64_t mem;
	char name[32];
};

static int record(void *ctx, const struct opt_def *def, const char *val, size_t len, uint64_t num,
		  char *err, size_t errlen)
{
	struct seen *s = ctx;

	s->calls++;
	if (!strcmp(def->key, "quiet")) {
		if (val)
			return 1; /* the parser must never pass a flag a value */
		s->quiet = true;
	} else if (!strcmp(def->key, "mem") || !strcmp(def->key, "count")) {
		s->mem = num;
	} else {
		char *dst = !strcmp(def->key, "tests") ? s->tests : s->name;
		size_t cap = !strcmp(def->key, "tests") ? sizeof(s->tests) : sizeof(s->name);

		if (len == 3 && !memcmp(val, "bad", 3)) {
			snprintf(err, errlen, "bad %s", def->key);
			return 1;
		}
		if (len == 6 && !memcmp(val, "silent", 6))
			return 1; /* rejected without a message */
		if (len >= cap)
			return 1;
		memcpy(dst, val, len);
		dst[len] = '\0';
	}
	return 0;
}

static char err[2048];

static int parse(const char *line, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	memset(err, 'Z', sizeof(err));
	int n = cmdline_parse(line, defs, ARRAY_SIZE(defs), record, s, err, sizeof(err));
	if (n)
		printf("# '%.60s' -> %d: %.300s\n", line, n, err);
	return n;
}

static int count_substr(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_cmdline_good(void)
{
	struct seen s;

	T(parse("quiet tests=pt_*,-pt_split mem=64M name=x", &s) == 0);
	T(err[0] == '\0');
	T(s.calls == 4);
	T(s.quiet);
	T(!strcmp(s.tests, "pt_*,-pt_split"));
	T(s.mem == 64ULL << 20);
	T(!strcmp(s.name, "x"));

	T(parse("  \tmem=0x1000\n  ", &s) == 0 && s.mem == 0x1000 && s.calls == 1);
	T(parse("mem=4k", &s) == 0 && s.mem == 4096);
	T(parse("mem=3G", &s) == 0 && s.mem == 3ULL << 30);
	T(parse("mem=0x10M", &s) == 0 && s.mem == 16ULL << 20);
	T(parse("mem=12345", &s) == 0 && s.mem == 12345);
	T(parse("", &s) == 0 && s.calls == 0 && err[0] == '\0');
	T(parse("   \t ", &s) == 0 && s.calls == 0);
	/* Values may contain '=': only the first splits key from value. */
	T(parse("name=a=b", &s) == 0 && !strcmp(s.name, "a=b"));
	/* No callback: only syntax is checked. */
	T(cmdline_parse("quiet mem=1M", defs, ARRAY_SIZE(defs), NULL, NULL, err, sizeof(err)) == 0);
}

static void test_cmdline_unknown_key(void)
{
	struct seen s;

	T(parse("bogus=1", &s) == 1);
	T(strstr(err, "unknown option 'bogus=1'") != NULL);
	T(strstr(err, "valid keys:") != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(defs); i++)
		T(strstr(err, defs[i].syntax) != NULL);
	T(s.calls == 0);
	/* A prefix or extension of a key is not that key. */
	T(parse("quie", &s) == 1 && strstr(err, "unknown option 'quie'"));
	T(parse("quiet2", &s) == 1 && strstr(err, "unknown option 'quiet2'"));
	T(parse("QUIET", &s) == 1);
	T(parse("=x", &s) == 1 && strstr(err, "unknown option '=x'"));
	T(s.calls == 0);
}

static void test_cmdline_bad_values(void)
{
	struct seen s;

	T(parse("quiet=1", &s) == 1 && strstr(err, "option 'quiet' takes no value (got '1')"));
	T(parse("quiet=", &s) == 1 && strstr(err, "takes no value"));
	T(!s.quiet && s.calls == 0);
	T(parse("tests", &s) == 1 && strstr(err, "option 'tests' needs a value"));
	T(strstr(err, "tests=GLOB[,-GLOB]") != NULL); /* the syntax is shown */
	T(parse("tests=", &s) == 1 && strstr(err, "needs a value"));
	T(parse("mem", &s) == 1 && strstr(err, "needs a value"));
	T(parse("mem=", &s) == 1 && strstr(err, "needs a value"));
	T(parse("mem=12Q", &s) == 1 && strstr(err, "bad number '12Q'"));
	T(strstr(err, "not N[K|M|G]") && strstr(err, "mem=N[K|M|G]"));
	T(parse("mem=0x", &s) == 1 && strstr(err, "bad number"));
	T(parse("mem=-1", &s) == 1 && strstr(err, "bad number"));
	T(parse("mem=18446744073709551616", &s) == 1 && strstr(err, "too large"));
	T(parse("mem=17179869184G", &s) == 1 && strstr(err, "too large"));
	/* A count: no size suffix, and its message does not offer one. */
	T(parse("count=x", &s) == 1 && strstr(err, "bad number 'x'") &&
	  strstr(err, "not a decimal or 0x hex number") && !strstr(err, "K|M|G"));
	T(parse("count=2K", &s) == 1 && strstr(err, "bad number '2K'"));
	T(parse("count=0x1g", &s) == 1);
	T(s.calls == 0);
	T(parse("count=0x1f", &s) == 0 && s.mem == 0x1f);
	T(parse("count=12", &s) == 0 && s.mem == 12);
}

static void test_cmdline_key_twice(void)
{
	struct seen s;

	/* Neither wins: the second is an error and never reaches the callback. */
	T(parse("mem=1K mem=2K", &s) == 1 && strstr(err, "option 'mem' given twice"));
	T(s.calls == 1 && s.mem == 1024);
	T(parse("quiet tests=a quiet", &s) == 1 && strstr(err, "option 'quiet' given twice"));
	T(parse("quiet quiet quiet", &s) == 2 && count_substr(err, "given twice") == 2);
	/* Errors in the first do not hide the repeat; other keys are unaffected. */
	T(parse("mem=bad mem=2K name=x", &s) == 2 && strstr(err, "bad number") &&
	  strstr(err, "option 'mem' given twice") && !strcmp(s.name, "x"));
}

static void test_cmdline_callback_reject(void)
{
	struct seen s;

	T(parse("name=bad", &s) == 1);
	T(strstr(err, "option 'name': bad name") != NULL);
	T(s.calls == 1);
	T(parse("tests=silent", &s) == 1);
	T(strstr(err, "option 'tests': rejected") != NULL);
}

static void test_cmdline_several_errors(void)
{
	struct seen s;

	T(parse("bogus quiet=1 mem=4K tests mem=x name=bad other", &s) == 6);
	T(s.mem == 4096); /* valid options between errors still apply */
	T(count_substr(err, "; ") >= 6 - 1);
	T(strstr(err, "unknown option 'bogus'") != NULL);
	T(strstr(err, "unknown option 'other'") != NULL);
	T(strstr(err, "'quiet' takes no value") != NULL);
	T(strstr(err, "'tests' needs a value") != NULL);
	T(strstr(err, "option 'mem' given twice") != NULL); /* reported before its value */
	T(strstr(err, "bad name") != NULL);
	/* Order of the messages follows the line. */
	T(strstr(err, "'bogus'") < strstr(err, "'quiet'"));
	T(strstr(err, "bad name") < strstr(err, "'other'"));
}

static void test_cmdline_small_err_buffer(void)
{
	char small[24];
	struct seen s;

	memset(small, 'Z', sizeof(small));
	T(cmdline_parse("bogus1 bogus2 bogus3", defs, ARRAY_SIZE(defs), record, &s, small,
			sizeof(small)) == 3);
	T(memchr(small, '\0', sizeof(small)) != NULL);
	T(!strncmp(small, "unknown option 'bogus1'", sizeof(small) - 1));
	/* No buffer at all: errors are still counted. */
	T(cmdline_parse("bogus quiet=2", defs, ARRAY_SIZE(defs), record, &s, NULL, 0) == 2);
	/* A huge token does not overflow the message buffers. */
	static char line[1500];
	memset(line, 'k', sizeof(line) - 1);
	T(parse(line, &s) == 1 && strstr(err, "unknown option 'kkkk"));
}

static void test_parse_size(void)
{
	uint64_t v;
#define PS(str, want_r, want_v)                                                     \
	do {                                                                        \
		v = 0xdeadULL;                                                      \
		int r_ = parse_size(str, strlen(str), &v);                          \
		if (!T(r_ == (want_r) && v == (r_ ? 0xdeadULL : (uint64_t)(want_v)))) \
			printf("# parse_size(\"%s\") = %d, %#llx\n", str, r_,        \
			       (unsigned long long)v);                              \
	} while (0)

	PS("0", 0, 0);
	PS("123", 0, 123);
	PS("0x1f", 0, 0x1f);
	PS("0X1F", 0, 0x1f);
	PS("0xabcDEF", 0, 0xabcdef);
	PS("64k", 0, 64 << 10);
	PS("64K", 0, 64 << 10);
	PS("64m", 0, 64 << 20);
	PS("2G", 0, 2ULL << 30);
	PS("0x10M", 0, 16 << 20);
	PS("007", 0, 7);
	PS("18446744073709551615", 0, ~0ULL);
	PS("0xffffffffffffffff", 0, ~0ULL);
	PS("17179869183G", 0, 17179869183ULL << 30);
	PS("18446744073709551616", -ERANGE, 0);
	PS("99999999999999999999999", -ERANGE, 0);
	PS("0x10000000000000000", -ERANGE, 0);
	PS("17179869184G", -ERANGE, 0);
	PS("", -EINVAL, 0);
	PS("0x", -EINVAL, 0);
	PS("0xK", -EINVAL, 0);
	PS("K", -EINVAL, 0);
	PS("M", -EINVAL, 0);
	PS("12KB", -EINVAL, 0);
	PS("1.5G", -EINVAL, 0);
	PS("-1", -EINVAL, 0);
	PS(" 1", -EINVAL, 0);
	PS("1 ", -EINVAL, 0);
	PS("12T", -EINVAL, 0);
	PS("0x1g2", -EINVAL, 0);
	PS("abc", -EINVAL, 0);
#undef PS
	/* Only @len bytes are looked at. */
	T(parse_size("123abc", 3, &v) == 0 && v == 123);
	T(parse_size("4Kxyz", 2, &v) == 0 && v == 4096);
	T(parse_size("5", 0, &v) == -EINVAL);
}

static void test_glob_match(void)
{
#define G(pat, s, want) T(glob_match(pat, strlen(pat), s) == (want))
	G("abc", "abc", true);
	G("abc", "abd", false);
	G("abc", "ab", false);
	G("ab", "abc", false);
	G("a*", "abc", true);
	G("a*", "a", true);
	G("*c", "abc", true);
	G("*c", "abcd", false);
	G("a?c", "abc", true);
	G("a?c", "ac", false);
	G("?", "", false);
	G("*", "", true);
	G("", "", true);
	G("", "a", false);
	G("**", "xyz", true);
	G("a*b*c", "aXXbYYc", true);
	G("a*b", "aXbYb", true); /* needs backtracking */
	G("a*b", "aXbY", false);
	G("*ab", "aab", true);
	G("*a*a*a", "aaa", true);
	G("*a*a*a", "aa", false);
	G("pt_*", "pt_map", true);
	G("pt_*", "pt", false);
	G("*_split", "pt_split", true);
	/* A '*' in the pattern is a wildcard even where the name has a '*'. */
	G("*", "*x", true);
	G("*x", "*x", true);
	G("a*", "a*b", true);
#undef G
	/* Only the first patlen bytes of the pattern count. */
	T(glob_match("abc,def", 3, "abc"));
	T(!glob_match("abc,def", 3, "abc,def"));
	T(glob_match("a*,zzz", 2, "abc"));
	T(glob_match("anything", 0, ""));
	T(!glob_match("anything", 0, "a"));
}

static void test_ktest_selected(void)
{
	T(!ktest_selected(NULL, "pt_map"));
	T(ktest_selected("*", "pt_map"));
	T(ktest_selected("pt_map", "pt_map"));
	T(!ktest_selected("pt_map", "pt_map2"));
	T(!ktest_selected("pt", "pt_map"));
	T(ktest_selected("pt_*", "pt_map"));
	T(!ktest_selected("pt_*", "frame_alloc"));
	T(ktest_selected("pt_*,frame_*", "frame_alloc"));
	T(!ktest_selected("pt_*,frame_*", "mb2_parse"));
	/* Excludes. */
	T(!ktest_selected("pt_*,-pt_split", "pt_split"));
	T(ktest_selected("pt_*,-pt_split", "pt_map"));
	T(!ktest_selected("-pt_split,pt_*", "pt_split")); /* order does not matter */
	T(!ktest_selected("pt_split,-pt_*", "pt_split")); /* an exclude wins */
	T(!ktest_selected("*,-*_split", "pt_split"));
	/* Only excludes: everything else runs. */
	T(ktest_selected("-pt_*", "frame_alloc"));
	T(!ktest_selected("-pt_*", "pt_map"));
	T(ktest_selected("-pt_*,-mb2_*", "frame_alloc"));
	T(!ktest_selected("-pt_*,-mb2_*", "mb2_parse"));
	/* Empty globs between commas are ignored. */
	T(ktest_selected("pt_map,,frame_alloc", "frame_alloc"));
	T(ktest_selected(",pt_map,", "pt_map"));
	T(!ktest_selected(",pt_map,", "frame_alloc"));
	T(!ktest_selected(",,pt_map,,", "mb2"));
	T(ktest_selected(",,-pt_map,,", "mb2"));
	T(!ktest_selected(",,-pt_map,,", "pt_map"));
	/* '?' in a selection. */
	T(ktest_selected("pt_?ap", "pt_map"));
	T(!ktest_selected("pt_?ap", "pt_maap"));
}

static const struct ktest fake_tests[] = {
	{ "pt_map", NULL }, { "pt_split", NULL }, { "frame_alloc", NULL },
	{ "gdb_fixture", NULL }, { "pt_walk", NULL },
};

static char unmatched_log[256];

static void log_unmatched(const char *glob, size_t len, void *ctx)
{
	size_t n = strlen(unmatched_log);

	(void)ctx;
	snprintf(unmatched_log + n, sizeof(unmatched_log) - n, "[%.*s]", (int)len, glob);
}

static unsigned unmatched(const char *spec)
{
	unmatched_log[0] = '\0';
	return ktest_unmatched(spec, fake_tests, ARRAY_SIZE(fake_tests), log_unmatched, NULL);
}

static void test_ktest_unmatched(void)
{
	T(unmatched("*") == 0 && !unmatched_log[0]);
	T(unmatched("pt_*,-pt_split") == 0);
	T(unmatched("") == 0 && unmatched(",,") == 0);
	T(unmatched(NULL) == 0);
	T(unmatched("nosuch") == 1 && !strcmp(unmatched_log, "[nosuch]"));
	/* Every bad glob is named, excludes too, without their '-'. */
	T(unmatched("pr_*,pt_map,-pt_splt,x?") == 3 &&
	  !strcmp(unmatched_log, "[pr_*][pt_splt][x?]"));
	T(ktest_unmatched("zz", fake_tests, ARRAY_SIZE(fake_tests), NULL, NULL) == 1);
}

static void test_ktest_closest(void)
{
	const char *best[KTEST_CLOSEST_MAX + 2];

	T(ktest_closest("pt_splt", 7, fake_tests, ARRAY_SIZE(fake_tests), best, 1) == 1 &&
	  !strcmp(best[0], "pt_split"));
	/* Wildcards are ignored: "pr_*" is one edit from every pt_ prefix; ties keep order. */
	T(ktest_closest("pr_*", 4, fake_tests, ARRAY_SIZE(fake_tests), best, 3) == 3 &&
	  !strcmp(best[0], "pt_map") && !strcmp(best[1], "pt_split") &&
	  !strcmp(best[2], "pt_walk"));
	T(ktest_closest("gdb_fixtur", 10, fake_tests, ARRAY_SIZE(fake_tests), best, 3) == 3 &&
	  !strcmp(best[0], "gdb_fixture"));
	/* Never more than there are tests, nor more than KTEST_CLOSEST_MAX. */
	T(ktest_closest("x", 1, fake_tests, ARRAY_SIZE(fake_tests), best, 10) ==
	  ARRAY_SIZE(fake_tests));
	T(ktest_closest("x", 1, fake_tests, 0, best, 3) == 0);
	/* A prefix is close (frame_alloc 1, pt_map 5): best first, even against table order. */
	T(ktest_closest("frame", 5, fake_tests, ARRAY_SIZE(fake_tests), best, 5) == 5 &&
	  !strcmp(best[0], "frame_alloc") && !strcmp(best[1], "pt_map"));
}

static void test_kstrlcpy_errno_name(void)
{
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	T(kstrlcpy(buf, "hello", sizeof(buf)) == 5 && !strcmp(buf, "hello"));
	memset(buf, 'Z', sizeof(buf));
	T(kstrlcpy(buf, "hello world", sizeof(buf)) == 11 && !strcmp(buf, "hello w"));
	memset(buf, 'Z', sizeof(buf));
	T(kstrlcpy(buf, "abc", 1) == 3 && buf[0] == '\0' && buf[1] == 'Z');
	memset(buf, 'Z', sizeof(buf));
	T(kstrlcpy(buf, "abc", 0) == 3 && buf[0] == 'Z');
	T(!strcmp(errno_name(0), "OK"));
	T(!strcmp(errno_name(-EINVAL), "EINVAL"));
	T(!strcmp(errno_name(EINVAL), "EINVAL"));
	T(!strcmp(errno_name(-ENOMEM), "ENOMEM"));
	T(!strcmp(errno_name(-EEXIST), "EEXIST"));
	T(!strcmp(errno_name(-ERANGE), "ERANGE"));
	T(!strcmp(errno_name(-9999), "E?"));
	T(EINVAL == 22 && ENOMEM == 12 && EEXIST == 17 && ENOENT == 2 && ERANGE == 34);
}

int main(void)
{
	RUN(test_cmdline_good);
	RUN(test_cmdline_unknown_key);
	RUN(test_cmdline_bad_values);
	RUN(test_cmdline_key_twice);
	RUN(test_cmdline_callback_reject);
	RUN(test_cmdline_several_errors);
	RUN(test_cmdline_small_err_buffer);
	RUN(test_parse_size);
	RUN(test_glob_match);
	RUN(test_ktest_selected);
	RUN(test_ktest_unmatched);
	RUN(test_ktest_closest);
	RUN(test_kstrlcpy_errno_name);
	return tap_finish();
}
