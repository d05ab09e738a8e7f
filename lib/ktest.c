#include "lib/ktest.h"
#include "lib/bug.h"
#include "lib/kstring.h"
#include "arch/x86/arch.h"

extern const struct ktest __ktests_start[], __ktests_end[];

struct ktest_result ktest_results[KTEST_MAX];
unsigned ktest_nresults;
static const struct ktest *current;
static bool cur_failed, cur_skipped;
static char skip_reason[160];
static struct kjmp_buf abort_jmp;
static struct kjmp_buf *catch_jmp;     /* set inside ktest_catch() */
static struct trap_frame *catch_frame;

const char *ktest_current(void)
{
	return current ? current->name : NULL;
}

bool ktest_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	if (ok)
		return true;
	cur_failed = true;
	printk("# %s: FAIL %s:%d: %s", current ? current->name : "?", file, line, expr);
	if (fmt[0]) {
		va_list ap;

		printk(": ");
		va_start(ap, fmt);
		vprintk(fmt, ap);
		va_end(ap);
	}
	printk("\n");
	return false;
}

void ktest_skip(const char *fmt, ...)
{
	va_list ap;

	cur_skipped = true;
	va_start(ap, fmt);
	kvsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
}

/* An exception no probe expected, inside a test: report it and abandon the test. */
static void test_exception(struct trap_frame *f)
{
	if (catch_jmp) {
		struct kjmp_buf *j = catch_jmp;

		*catch_frame = *f;
		catch_jmp = NULL;
		trap_dump(f);
		klongjmp(j, 1);
	}
	if (!current)
		return; /* not in a test: the caller panics */
	printk("# %s: unexpected exception, test abandoned\n", current->name);
	trap_dump(f);
	cur_failed = true;
	klongjmp(&abort_jmp, 1);
}

bool ktest_catch(void (*fn)(void), struct trap_frame *f)
{
	struct kjmp_buf j;

	catch_frame = f;
	if (ksetjmp(&j) == 0) {
		catch_jmp = &j;
		fn();
		catch_jmp = NULL;
		return false;
	}
	return true;
}

static void report_unmatched(const char *glob, size_t len, void *ctx)
{
	const char *best[3];
	size_t n = ktest_closest(glob, len, __ktests_start,
				 (size_t)(__ktests_end - __ktests_start), best, ARRAY_SIZE(best));

	(void)ctx;
	printk("# tests_option: FAIL tests= glob '%.*s' matches no test; closest:", (int)len, glob);
	for (size_t i = 0; i < n; i++)
		printk("%s %s", i ? "," : "", best[i]);
	printk("\n");
}

struct ktest_summary ktest_run(const char *spec, unsigned pre_failures, const char *pre_msg,
			       void (*preamble)(void))
{
	struct ktest_summary s = { 0, 0, 0 };
	size_t ntests = (size_t)(__ktests_end - __ktests_start);
	unsigned unmatched = ktest_unmatched(spec, __ktests_start, ntests, NULL, NULL);
	unsigned n = 0, total = (pre_failures ? 1 : 0) + (unmatched ? 1 : 0);

	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		total += ktest_selected(spec, t->name);
	printk("TAP version 13\n1..%u\n", total);
	if (preamble)
		preamble(); /* comment lines the runner reads, after the plan */
	if (pre_failures) {
		printk("# boot_cmdline: FAIL bad command line: %s\nnot ok %u boot_cmdline\n", pre_msg,
		       ++n);
		s.failed++;
	}
	if (unmatched) {
		/* A typo in tests= would otherwise run nothing and pass. */
		ktest_unmatched(spec, __ktests_start, ntests, report_unmatched, NULL);
		printk("not ok %u tests_option\n", ++n);
		s.failed++;
	}
	trap_unexpected_hook = test_exception;
	for (const struct ktest *t = __ktests_start; t < __ktests_end; t++)
		if (ktest_selected(spec, t->name) && ktest_nresults < KTEST_MAX)
			ktest_results[ktest_nresults++].test = t;
	for (unsigned i = 0; i < ktest_nresults; i++) {
		const struct ktest *t = ktest_results[i].test;
		struct ktest_result *res = &ktest_results[i];

		res->state = KTEST_RUNNING;
		current = t;
		cur_failed = cur_skipped = false;
		uint64_t t0 = rdtsc();
		if (ksetjmp(&abort_jmp) == 0)
			t->fn();
		uint64_t ticks = rdtsc() - t0;
		serial_end_line(); /* a test's unfinished line must not swallow its result */
		n++;
		if (cur_failed) {
			printk("not ok %u %s\n", n, t->name);
			s.failed++;
			res->state = KTEST_FAIL;
		} else if (cur_skipped) {
			printk("ok %u %s # SKIP %s\n", n, t->name, skip_reason);
			s.skipped++;
			res->state = KTEST_SKIP;
		} else {
			printk("ok %u %s\n", n, t->name);
			s.passed++;
			res->state = KTEST_PASS;
		}
		/*
		 * Per-test cost, to see what a slow emulator run spends its time
		 * on (scripts/test.sh sorts them into LOG.times): under Bochs a
		 * tick is one instruction, under QEMU/KVM it follows host time.
		 */
		printk("# time: %s %llu\n", t->name, (unsigned long long)ticks);
		current = NULL;
	}
	trap_unexpected_hook = NULL;
	printk("%u passed, %u failed, %u skipped\n", s.passed, s.failed, s.skipped);
	return s;
}
