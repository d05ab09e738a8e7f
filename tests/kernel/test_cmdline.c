/* Command-line parsing as the kernel sees it (host tests cover it in depth). */
#include "lib/cmdline.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/ktest.h"
#include "boot/options.h"

static const struct opt_def defs[] = {
	{ "tests", OPT_STRING, "tests=GLOB" },
	{ "quiet", OPT_FLAG, "quiet" },
	{ "mem", OPT_SIZE, "mem=N[K|M|G]" },
};

struct seen {
	int n;
	uint64_t mem;
};

static int record(void *ctx, const struct opt_def *def, const char *val, size_t len,
		  uint64_t num, char *err, size_t errlen)
{
	struct seen *s = ctx;

	(void)val, (void)len, (void)err, (void)errlen;
	s->n++;
	if (!strcmp(def->key, "mem"))
		s->mem = num;
	return 0;
}

KTEST(cmdline_good)
{
	struct seen s = { 0, 0 };
	char err[256];

	CHECK_EQ(cmdline_parse("  tests=a*,-b quiet   mem=64M ", defs, 3, record, &s, err,
			       sizeof(err)), 0);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.mem, 64ULL << 20);
	CHECK_EQ(cmdline_parse("", defs, 3, record, &s, err, sizeof(err)), 0);
}

KTEST(cmdline_bad)
{
	struct seen s = { 0, 0 };
	char err[512];

	CHECK_EQ(cmdline_parse("bogus=1", defs, 3, record, &s, err, sizeof(err)), 1);
	CHECK(strstr(err, "unknown option 'bogus=1'") && strstr(err, "valid keys: tests=GLOB"),
	      "message: %s", err);
	CHECK_EQ(cmdline_parse("quiet=yes mem=12Q tests=", defs, 3, record, &s, err, sizeof(err)),
		 3);
	CHECK(strstr(err, "takes no value") && strstr(err, "bad number") &&
	      strstr(err, "needs a value"), "message: %s", err);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(cmdline_parse("quiet mem=1M quiet", defs, 3, record, &s, err, sizeof(err)), 1);
	CHECK(strstr(err, "option 'quiet' given twice"), "message: %s", err);
}

KTEST(cmdline_boot_options)
{
	/* This very run was started with tests=...: the parser must have seen it. */
	CHECK(kopts.have_tests, "tests= not parsed from the boot command line");
}
