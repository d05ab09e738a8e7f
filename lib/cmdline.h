/*
 * Kernel command-line parser: whitespace-separated `key` or `key=value`
 * tokens checked against a table of known keys. Pure (host-tested).
 * Nothing is ignored silently: an unknown key, a key given twice, a flag
 * given a value, a value key given none or a malformed number is an error
 * (an unknown key's message lists the valid keys); parsing goes on past an
 * error so every mistake is reported. A table holds at most 64 keys.
 */
#ifndef MINIHV_CMDLINE_H
#define MINIHV_CMDLINE_H

#include "arch/x86/arch.h"

enum opt_type {
	OPT_FLAG,   /* `key` alone */
	OPT_STRING, /* `key=text` (non-empty) */
	OPT_SIZE,   /* `key=N[K|M|G]`, decimal or 0x hex */
	OPT_NUMBER, /* `key=N`, decimal or 0x hex: a count, no size suffix */
};

struct opt_def {
	const char *key;
	enum opt_type type;
	const char *syntax; /* shown in error messages, e.g. "tests=GLOB[,-GLOB...]" */
};

/*
 * Called once per valid option. @val/@len is the raw value (NULL for flags),
 * @num the parsed number for OPT_SIZE and OPT_NUMBER. Returning non-zero with a message in
 * @err (of @errlen bytes) rejects the value.
 */
typedef int (*opt_fn)(void *ctx, const struct opt_def *def, const char *val, size_t len,
		      uint64_t num, char *err, size_t errlen);

/*
 * Returns the number of errors found (0 on success). The messages, separated
 * by "; ", are written to @err.
 */
int cmdline_parse(const char *line, const struct opt_def *defs, size_t ndefs, opt_fn fn,
		  void *ctx, char *err, size_t errlen);

/* Parses "123", "0x1f", "64M"; returns -EINVAL or -ERANGE on bad input. */
int parse_size(const char *s, size_t len, uint64_t *out);

#endif
