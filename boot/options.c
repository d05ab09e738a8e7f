#include "options.h"
#include "cmdline.h"
#include "kstring.h"
#include "printk.h"

struct kernel_options kopts;

static const struct opt_def option_defs[] = {
	{ "tests", OPT_STRING, "tests=GLOB[,GLOB...][,-GLOB...]" },
	{ "quiet", OPT_FLAG, "quiet" },
	{ "guest_mem", OPT_SIZE, "guest_mem=N[K|M|G]" },
	{ "bench", OPT_FLAG, "bench" },
};

static int set_option(void *ctx, const struct opt_def *def, const char *val, size_t len,
		      uint64_t num, char *err, size_t errlen)
{
	struct kernel_options *o = ctx;

	(void)num;
	if (!strcmp(def->key, "tests")) {
		if (len >= sizeof(o->tests)) {
			ksnprintf(err, errlen, "value longer than %zu characters",
				  sizeof(o->tests) - 1);
			return 1;
		}
		memcpy(o->tests, val, len);
		o->tests[len] = '\0';
		o->have_tests = true;
	} else if (!strcmp(def->key, "quiet")) {
		o->quiet = true;
	} else if (!strcmp(def->key, "guest_mem")) {
		if (num < (2ULL << 20) || num > (4ULL << 30) || num % 4096) {
			ksnprintf(err, errlen, "%llu bytes: need a 4 KiB multiple in [2M, 4G]",
				  (unsigned long long)num);
			return 1;
		}
		o->guest_mem = num;
	} else if (!strcmp(def->key, "bench")) {
		o->bench = true;
	}
	return 0;
}

int options_parse(const char *line, char *err, size_t errlen)
{
	kopts.guest_mem = 32ULL << 20;
	/* GRUB may pass the kernel's path first: it is not an option. */
	while (*line == ' ')
		line++;
	if (*line == '/') {
		while (*line && *line != ' ')
			line++;
	}
	return cmdline_parse(line, option_defs, ARRAY_SIZE(option_defs), set_option, &kopts, err,
			     errlen);
}
