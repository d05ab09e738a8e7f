/* Test selection by the tests= option (pure, host-tested). */
#include "glob.h"
#include "ktest.h"
#include "kstring.h"

bool ktest_selected(const char *spec, const char *name)
{
	bool any_positive = false, included = false;

	if (!spec)
		return false;
	for (const char *p = spec; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len && p[0] == '-') {
			if (glob_match(p + 1, len - 1, name))
				return false;
		} else if (len) {
			any_positive = true;
			if (glob_match(p, len, name))
				included = true;
		}
		p += len + (end ? 1 : 0);
	}
	return included || !any_positive;
}
