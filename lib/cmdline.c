#include "lib/cmdline.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/printk.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int parse_size(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	size_t i = 0;
	unsigned shift = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -EINVAL;
	size_t first = i; /* a suffix needs digits before it: "K" alone is no number */
	for (; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (i < len) {
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -EINVAL;
		}
		if (i + 1 != len || i == first)
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
	}
	*out = v << shift;
	return 0;
}

struct errbuf {
	char *buf;
	size_t size;
	size_t len;
	int count;
};

static void add_error(struct errbuf *e, const char *msg)
{
	if (e->size && e->len < e->size - 1)
		e->len += (size_t)ksnprintf(e->buf + e->len, e->size - e->len, "%s%s",
					    e->count ? "; " : "", msg);
	if (e->len >= e->size && e->size)
		e->len = e->size - 1;
	e->count++;
}

static void list_valid(char *msg, size_t size, const struct opt_def *defs, size_t ndefs)
{
	size_t n = strlen(msg);

	n += (size_t)ksnprintf(msg + n, n < size ? size - n : 0, "; valid keys:");
	for (size_t i = 0; i < ndefs && n < size; i++)
		n += (size_t)ksnprintf(msg + n, size - n, " %s", defs[i].syntax);
}

static const struct opt_def *find_def(const struct opt_def *defs, size_t ndefs, const char *key,
				      size_t keylen)
{
	for (size_t i = 0; i < ndefs; i++)
		if (strlen(defs[i].key) == keylen && !strncmp(defs[i].key, key, keylen))
			return &defs[i];
	return NULL;
}

/* 1 with the reason in @msg if @val cannot be @def's value; @num gets a size. */
static int check_value(const struct opt_def *def, const char *val, size_t vlen, bool dup,
		       uint64_t *num, char *msg, size_t size)
{
	int bad = 0;

	if (dup) {
		/* Which one should win is a guess: refuse both rather than pick. */
		ksnprintf(msg, size, "option '%s' given twice", def->key);
		bad = 1;
	} else if (def->type == OPT_FLAG && val) {
		ksnprintf(msg, size, "option '%s' takes no value (got '%.*s')",
			  def->key, (int)vlen, val);
		bad = 1;
	} else if (def->type != OPT_FLAG && (!val || vlen == 0)) {
		ksnprintf(msg, size, "option '%s' needs a value: %s", def->key,
			  def->syntax);
		bad = 1;
	} else if (def->type == OPT_SIZE || def->type == OPT_NUMBER) {
		int r = parse_size(val, vlen, num);
		/* A count takes no K/M/G (no hex digit is one): guest_vcpus=2K is a mistake. */
		if (!r && def->type == OPT_NUMBER && strchr("kKmMgG", val[vlen - 1]))
			r = -EINVAL;
		if (r) {
			ksnprintf(msg, size, "option '%s': bad number '%.*s' (%s): %s",
				  def->key, (int)vlen, val,
				  r == -ERANGE ? "too large" : def->type == OPT_SIZE ? "not N[K|M|G]" :
				  "not a decimal or 0x hex number", def->syntax);
			bad = 1;
		}
	}
	return bad;
}

int cmdline_parse(const char *line, const struct opt_def *defs, size_t ndefs, opt_fn fn,
		  void *ctx, char *err, size_t errlen)
{
	struct errbuf e = { .buf = err, .size = errlen, .len = 0, .count = 0 };
	uint64_t seen = 0; /* bit i: defs[i] given already (tables stay far below 64 keys) */
	char msg[512];

	if (errlen)
		err[0] = '\0';
	const char *p = line;
	while (*p) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		const char *tok = p;
		while (*p && !is_space(*p))
			p++;
		size_t toklen = (size_t)(p - tok);
		const char *eq = tok;
		while (eq < p && *eq != '=')
			eq++;
		size_t keylen = (size_t)(eq - tok);
		const char *val = eq < p ? eq + 1 : NULL;
		size_t vlen = val ? (size_t)(p - val) : 0;

		const struct opt_def *def = find_def(defs, ndefs, tok, keylen);
		if (!def) {
			ksnprintf(msg, sizeof(msg), "unknown option '%.*s'", (int)toklen, tok);
			list_valid(msg, sizeof(msg), defs, ndefs);
			add_error(&e, msg);
			continue;
		}

		uint64_t num = 0;
		uint64_t bit = 1ULL << ((size_t)(def - defs) % 64);
		int bad = check_value(def, val, vlen, seen & bit, &num, msg, sizeof(msg));
		if (!bad && fn) {
			char why[256] = "";
			if (fn(ctx, def, val, vlen, num, why, sizeof(why))) {
				ksnprintf(msg, sizeof(msg), "option '%s': %s", def->key,
					  why[0] ? why : "rejected");
				bad = 1;
			}
		}
		seen |= bit;
		if (bad)
			add_error(&e, msg);
	}
	return e.count;
}
