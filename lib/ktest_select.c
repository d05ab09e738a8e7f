/* Test selection by the tests= option (pure, host-tested). */
#include "lib/glob.h"
#include "lib/ktest.h"
#include "lib/kstring.h"

/* Calls @fn for each non-empty glob of @spec, with its '-' (exclude) stripped. */
static bool for_each_glob(const char *spec, bool (*fn)(const char *g, size_t len, bool exclude,
						       void *ctx), void *ctx)
{
	for (const char *p = spec; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool exclude = len && p[0] == '-';

		if (len - exclude && !fn(p + exclude, len - exclude, exclude, ctx))
			return false;
		p += len + (end ? 1 : 0);
	}
	return true;
}

struct select_state {
	const char *name;
	bool any_positive, included;
};

static bool select_one(const char *g, size_t len, bool exclude, void *ctx)
{
	struct select_state *st = ctx;
	bool match = glob_match(g, len, st->name);

	if (exclude && match) {
		st->included = false;
		return false; /* an exclude wins, wherever it stands */
	}
	if (!exclude) {
		st->any_positive = true;
		st->included |= match;
	}
	return true;
}

bool ktest_selected(const char *spec, const char *name)
{
	struct select_state st = { name, false, false };

	if (!spec)
		return false;
	if (!for_each_glob(spec, select_one, &st))
		return false;
	return st.included || !st.any_positive;
}

/* Levenshtein distance, each string capped at 63 characters (test names are shorter). */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned row[64];

	la = MIN(la, (size_t)63);
	lb = MIN(lb, (size_t)63);
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			best = MIN(best, up + 1);
			best = MIN(best, row[j - 1] + 1);
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

size_t ktest_closest(const char *glob, size_t len, const struct ktest *tests, size_t n,
		     const char **out, size_t k)
{
	char lit[64];
	size_t ll = 0, found = 0;
	unsigned dist[KTEST_CLOSEST_MAX];

	/* Compare the glob's literal characters: "pr_*" should suggest "pt_map". */
	for (size_t i = 0; i < len && ll < sizeof(lit) - 1; i++)
		if (glob[i] != '*' && glob[i] != '?')
			lit[ll++] = glob[i];
	k = MIN(k, (size_t)KTEST_CLOSEST_MAX);
	for (size_t t = 0; t < n; t++) {
		const char *name = tests[t].name;
		size_t ln = strlen(name);
		/* A user types the start of a name ("frame" for frame_alloc): a prefix counts. */
		unsigned d = MIN(edit_distance(lit, ll, name, ln),
				 edit_distance(lit, ll, name, MIN(ln, ll)) + 1);
		size_t pos = found;

		/* Insertion sort into the k best, stable: ties keep table order. */
		while (pos > 0 && dist[pos - 1] > d)
			pos--;
		if (pos >= k)
			continue;
		for (size_t j = MIN(found, k - 1); j > pos; j--) {
			dist[j] = dist[j - 1];
			out[j] = out[j - 1];
		}
		dist[pos] = d;
		out[pos] = tests[t].name;
		found = MIN(found + 1, k);
	}
	return found;
}

struct unmatched_state {
	const struct ktest *tests;
	size_t n;
	void (*fn)(const char *glob, size_t len, void *ctx);
	void *ctx;
	unsigned count;
};

static bool check_one(const char *g, size_t len, bool exclude, void *ctx)
{
	struct unmatched_state *st = ctx;

	(void)exclude;
	for (size_t t = 0; t < st->n; t++)
		if (glob_match(g, len, st->tests[t].name))
			return true;
	st->count++;
	if (st->fn)
		st->fn(g, len, st->ctx);
	return true;
}

unsigned ktest_unmatched(const char *spec, const struct ktest *tests, size_t n,
			 void (*fn)(const char *glob, size_t len, void *ctx), void *ctx)
{
	struct unmatched_state st = { tests, n, fn, ctx, 0 };

	for_each_glob(spec, check_one, &st);
	return st.count;
}
