/*
 * Host unit tests for ept/inval.c, the mmu_invalidate_* tracking (seeds 000
 * and 002, ../shared/DESIGN.md "The rules to reproduce"). Single-threaded: every
 * interleaving of an invalidation with a fault is played step by step.
 *
 * A fault is: seq = snapshot; ...host walk...; lock; retry_gfn(seq, gfn); unlock.
 * It must retry whenever its gfn lies in a range invalidated after the
 * snapshot (false positives are allowed, false negatives never).
 *
 * WARN_ON_ONCE state is static per call site and lives for the whole
 * process, so the order of the RUNs in main() matters: the test of the
 * seed-000 warning in end() runs first, and the tests that call without the
 * lock (lockdep warnings) run last. Every other test asserts that it warned
 * nothing at all.
 */
#include <stdio.h>
#include <string.h>
#include "lib/bug.h"
#include "ept/inval.h"
#include "lib/spinlock.h"
#include "tests/host/hostshim.h"

static struct spinlock lock;
static struct mmu_inval iv;

static void fresh(void)
{
	lock = (struct spinlock){ 0 };
	mmu_inval_init(&iv, &lock);
}

/* An invalidation of gfns [start, end) begins (and its range is added). */
static void inv_begin(uint64_t start, uint64_t end)
{
	spin_lock(&lock);
	mmu_invalidate_begin(&iv);
	mmu_invalidate_range_add(&iv, start, end);
	spin_unlock(&lock);
}

static bool inv_end(void)
{
	spin_lock(&lock);
	bool ok = mmu_invalidate_end(&iv);
	spin_unlock(&lock);
	return ok;
}

/* The locked check of the fault path. */
static bool fault_retry(uint64_t seq, uint64_t gfn)
{
	spin_lock(&lock);
	bool r = mmu_invalidate_retry_gfn(&iv, seq, gfn);
	spin_unlock(&lock);
	return r;
}

/* Must run first: the first end() with no range added in the process warns. */
static void test_seed000_end_without_range(void)
{
	unsigned long w0 = warn_count;

	fresh();
	/* A proper begin/range_add/end: no warning. */
	inv_begin(10, 20);
	T(inv_end() && warn_count == w0);
	/* A second invalidation with no range: begin (0 -> 1) reset the old range. */
	spin_lock(&lock);
	mmu_invalidate_begin(&iv);
	T(iv.range_start == INVALID_GPA && iv.range_end == INVALID_GPA);
	/* Checked on the range alone, though in_progress drops to 0 here. */
	T(mmu_invalidate_end(&iv) == true);
	T(warn_count == w0 + 1);
	T(iv.seq == 2 && iv.in_progress == 0);
	/* Once per site: the next such end() is quiet. */
	mmu_invalidate_begin(&iv);
	T(mmu_invalidate_end(&iv) && warn_count == w0 + 1 && iv.seq == 3);
	spin_unlock(&lock);

	/* end() without begin(): the count goes negative, the VM-bug signal. */
	fresh();
	spin_lock(&lock);
	T(mmu_invalidate_end(&iv) == false && iv.in_progress == -1);
	T(iv.seq == 1); /* seq still moves: no fault may trust its snapshot */
	T(mmu_invalidate_end(&iv) == false && iv.in_progress == -2);
	spin_unlock(&lock);
	T(warn_count == w0 + 1);
}

static void test_basics(void)
{
	unsigned long w0 = warn_count;

	fresh();
	T(iv.lock == &lock && iv.seq == 0 && iv.in_progress == 0);
	T(iv.range_start == INVALID_GPA && iv.range_end == INVALID_GPA);
	spin_lock(&lock);
	mmu_invalidate_begin(&iv);
	T(iv.in_progress == 1 && iv.seq == 0 && iv.range_start == INVALID_GPA);
	mmu_invalidate_range_add(&iv, 100, 200);
	T(iv.range_start == 100 && iv.range_end == 200);
	mmu_invalidate_range_add(&iv, 150, 300); /* widens the end */
	T(iv.range_start == 100 && iv.range_end == 300);
	mmu_invalidate_range_add(&iv, 50, 120); /* widens the start */
	T(iv.range_start == 50 && iv.range_end == 300);
	mmu_invalidate_range_add(&iv, 60, 70); /* inside: no change */
	T(iv.range_start == 50 && iv.range_end == 300);
	/* Nested begin (1 -> 2): the range is kept. */
	mmu_invalidate_begin(&iv);
	T(iv.in_progress == 2 && iv.range_start == 50 && iv.range_end == 300);
	mmu_invalidate_range_add(&iv, 400, 500);
	T(iv.range_start == 50 && iv.range_end == 500);
	T(iv.seq == 0);
	/* One seq step per end(). */
	T(mmu_invalidate_end(&iv) && iv.seq == 1 && iv.in_progress == 1);
	T(iv.range_start == 50 && iv.range_end == 500);
	T(mmu_invalidate_end(&iv) && iv.seq == 2 && iv.in_progress == 0);
	T(iv.range_start == 50 && iv.range_end == 500); /* end() leaves it */
	/* The next 0 -> 1 resets it. */
	mmu_invalidate_begin(&iv);
	T(iv.range_start == INVALID_GPA && iv.range_end == INVALID_GPA && iv.in_progress == 1);
	mmu_invalidate_range_add(&iv, 7, 8);
	T(iv.range_start == 7 && iv.range_end == 8);
	T(mmu_invalidate_end(&iv) && iv.seq == 3 && iv.in_progress == 0);
	spin_unlock(&lock);
	T(!spin_is_locked(&lock));
	T(warn_count == w0);
}

/*
 * Every order of snapshot (S), begin+range_add (B), end (E) and locked check
 * (C) with B before E and S before C; E after C means "not yet ended at the
 * check". An invalidation of [50, 150) that is not over by S and has begun by
 * C covers gfn 100: the fault must retry ("must"). Exact outcomes follow the
 * rules: retry_gfn = (in progress at C and gfn in range) or seq moved.
 * "SCBE": the zap comes after the install and removes it, no retry needed.
 */
static void test_fault_interleavings(void)
{
	static const char *const orders[] = { "BESC", "BSEC", "BSCE", "SBEC", "SBCE", "SCBE" };
	unsigned long w0 = warn_count;

	for (unsigned o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		const char *ord = orders[o];
		int pos[128] = { 0 };

		for (int i = 0; i < 4; i++)
			pos[(int)ord[i]] = i;
		bool in_prog = pos['B'] < pos['C'] && pos['C'] < pos['E'];
		bool seq_moved = pos['S'] < pos['E'] && pos['E'] < pos['C'];
		bool must = pos['E'] > pos['S'] && pos['B'] < pos['C'];
		uint64_t seq = 0;
		bool in = false, out = false, un_in = false, un_out = false, r = false;

		fresh();
		for (int i = 0; i < 4; i++) {
			switch (ord[i]) {
			case 'S': seq = mmu_invalidate_seq_snapshot(&iv); break;
			case 'B': inv_begin(50, 150); break;
			case 'E': T(inv_end()); break;
			case 'C':
				un_in = mmu_invalidate_retry_gfn_unsafe(&iv, seq, 100);
				un_out = mmu_invalidate_retry_gfn_unsafe(&iv, seq, 500);
				in = fault_retry(seq, 100);
				out = fault_retry(seq, 500);
				r = mmu_invalidate_retry(&iv, seq);
				break;
			}
		}
		if (!T(in == (in_prog || seq_moved)) | !T(!must || in) |
		    !T(out == seq_moved) | !T(un_in == in && un_out == out) |
		    !T(r == (in_prog || seq_moved)))
			printf("# order %s: retry in %d out %d unsafe %d %d retry() %d\n", ord, in,
			       out, un_in, un_out, r);
	}
	T(warn_count == w0);
}

/* The fault's gfn at the edges of an in-progress range, seq unchanged. */
struct mid_end {
	uint64_t seq, gfn;
	int calls;
	bool retry, retry_gfn, unsafe;
};

static void look_mid_end(struct mmu_inval *v, void *ctx)
{
	struct mid_end *m = ctx;

	/* What a fault on another CPU sees between end()'s two stores. */
	m->calls++;
	m->retry = mmu_invalidate_retry(v, m->seq);
	m->retry_gfn = mmu_invalidate_retry_gfn(v, m->seq, m->gfn);
	m->unsafe = mmu_invalidate_retry_gfn_unsafe(v, m->seq, m->gfn);
}

/*
 * Seed 000's order in end(): seq++ before in_progress--. In between, a fault
 * that snapshot seq before the invalidation must still retry: in_progress
 * says so before, seq after. The other order opens a window where neither
 * does.
 */
static void test_end_store_order(void)
{
	unsigned long w0 = warn_count;
	struct mid_end m = { 0 };

	fresh();
	m.seq = mmu_invalidate_seq_snapshot(&iv);
	m.gfn = 0x42;
	inv_begin(0x40, 0x50);
	iv.end_hook = look_mid_end;
	iv.end_hook_ctx = &m;
	T(inv_end());
	T(m.calls == 1 && m.retry && m.retry_gfn && m.unsafe);
	/* A fault outside the range also retries there: seq moved (a false positive). */
	m = (struct mid_end){ mmu_invalidate_seq_snapshot(&iv), 0x1000, 0, 0, 0, 0 };
	inv_begin(0x40, 0x50);
	T(inv_end() && m.calls == 1 && m.retry && m.retry_gfn);
	T(warn_count == w0);
}

static void test_range_edges(void)
{
	fresh();
	inv_begin(0x1000, 0x1200);
	uint64_t seq = mmu_invalidate_seq_snapshot(&iv);

	T(fault_retry(seq, 0x1000) && fault_retry(seq, 0x11ff) && fault_retry(seq, 0x1100));
	T(!fault_retry(seq, 0xfff) && !fault_retry(seq, 0x1200) && !fault_retry(seq, 0));
	T(!fault_retry(seq, INVALID_GPA - 1));
	T(mmu_invalidate_retry(&iv, seq)); /* the coarse check retries anyway */
	T(inv_end());
	T(fault_retry(seq, 0x1200) && fault_retry(seq, 0));  /* seq moved */
	seq = mmu_invalidate_seq_snapshot(&iv);
	T(seq == 1 && !fault_retry(seq, 0x1000) && !mmu_invalidate_retry(&iv, seq));
}

static void test_nested(void)
{
	const uint64_t A = 100, B = 400, BETWEEN = 300, OUT = 600;
	unsigned long w0 = warn_count;

	fresh();
	uint64_t s0 = mmu_invalidate_seq_snapshot(&iv);
	inv_begin(A - 50, A + 50);  /* [50, 150) */
	inv_begin(B - 50, B + 50);  /* [350, 450) */
	T(iv.in_progress == 2 && iv.range_start == 50 && iv.range_end == 450);
	uint64_t s1 = mmu_invalidate_seq_snapshot(&iv);
	T(s1 == s0);
	T(fault_retry(s1, A) && fault_retry(s1, B));
	T(fault_retry(s1, BETWEEN)); /* in the union: a permitted false positive */
	T(!fault_retry(s1, OUT) && !fault_retry(s1, 0));

	T(inv_end()); /* A ends, B still runs */
	T(fault_retry(s0, A) && fault_retry(s1, A) && fault_retry(s1, OUT)); /* seq moved */
	uint64_t s2 = mmu_invalidate_seq_snapshot(&iv);
	T(s2 == s1 + 1);
	/* A's gfns still retry until B ends too: the range is the union. */
	T(fault_retry(s2, A) && fault_retry(s2, B) && fault_retry(s2, BETWEEN));
	T(mmu_invalidate_retry_gfn_unsafe(&iv, s2, A));
	T(!fault_retry(s2, OUT) && !mmu_invalidate_retry_gfn_unsafe(&iv, s2, OUT));
	T(mmu_invalidate_retry(&iv, s2));

	T(inv_end()); /* both over */
	T(iv.in_progress == 0 && iv.seq == s0 + 2);
	T(fault_retry(s2, A) && fault_retry(s2, OUT));
	uint64_t s3 = mmu_invalidate_seq_snapshot(&iv);
	T(!fault_retry(s3, A) && !fault_retry(s3, B) && !fault_retry(s3, BETWEEN));
	T(!fault_retry(s3, OUT) && !mmu_invalidate_retry(&iv, s3));
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, s3, A));

	/* Overlapping in the other order: the later, wider one ends first. */
	inv_begin(200, 210);
	uint64_t s4 = mmu_invalidate_seq_snapshot(&iv);
	inv_begin(100, 300);
	T(iv.range_start == 100 && iv.range_end == 300);
	T(inv_end());
	T(fault_retry(s4, 250) && fault_retry(s4, 205));
	uint64_t s5 = mmu_invalidate_seq_snapshot(&iv);
	T(fault_retry(s5, 250) && fault_retry(s5, 205) && !fault_retry(s5, 300));
	T(inv_end());
	T(!fault_retry(mmu_invalidate_seq_snapshot(&iv), 205));
	T(warn_count == w0);
}

static void test_retry(void)
{
	fresh();
	uint64_t seq = mmu_invalidate_seq_snapshot(&iv);

	T(!mmu_invalidate_retry(&iv, seq));
	spin_lock(&lock);
	mmu_invalidate_begin(&iv);
	spin_unlock(&lock);
	T(mmu_invalidate_retry(&iv, seq)); /* in progress, even with no range yet */
	T(mmu_invalidate_retry(&iv, mmu_invalidate_seq_snapshot(&iv)));
	spin_lock(&lock);
	mmu_invalidate_range_add(&iv, 1, 2);
	mmu_invalidate_end(&iv);
	spin_unlock(&lock);
	T(mmu_invalidate_retry(&iv, seq));    /* seq moved */
	T(!mmu_invalidate_retry(&iv, seq + 1));
	T(mmu_invalidate_retry(&iv, seq + 2)); /* any difference counts */
}

static void test_unsafe(void)
{
	unsigned long w0 = warn_count;

	fresh();
	uint64_t seq = mmu_invalidate_seq_snapshot(&iv);
	/* Called without the lock throughout: never asserts it. */
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, seq, 5));
	spin_lock(&lock);
	mmu_invalidate_begin(&iv); /* no range yet: the pre-check cannot say */
	spin_unlock(&lock);
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, seq, 0));
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, seq, INVALID_GPA));
	spin_lock(&lock);
	mmu_invalidate_range_add(&iv, 10, 20);
	spin_unlock(&lock);
	T(mmu_invalidate_retry_gfn_unsafe(&iv, seq, 10) && mmu_invalidate_retry_gfn_unsafe(&iv, seq, 19));
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, seq, 9) && !mmu_invalidate_retry_gfn_unsafe(&iv, seq, 20));
	T(inv_end());
	T(mmu_invalidate_retry_gfn_unsafe(&iv, seq, 9));  /* seq moved */
	T(mmu_invalidate_retry_gfn_unsafe(&iv, seq, 15));
	seq = mmu_invalidate_seq_snapshot(&iv);
	T(!mmu_invalidate_retry_gfn_unsafe(&iv, seq, 15)); /* stale range, count 0 */
	T(!spin_is_locked(&lock) && warn_count == w0);
}

/* Once-per-site warnings for misuse under the lock. */
static void test_misuse_warnings(void)
{
	unsigned long w0 = warn_count;

	fresh();
	spin_lock(&lock);
	/* range_add() with nothing in progress. */
	mmu_invalidate_range_add(&iv, 1, 2);
	T(warn_count == w0 + 1);
	mmu_invalidate_range_add(&iv, 1, 2);
	T(warn_count == w0 + 1);
	spin_unlock(&lock);
	/* The locked check while in progress with no range: WARN and retry. */
	fresh();
	spin_lock(&lock);
	mmu_invalidate_begin(&iv);
	T(mmu_invalidate_retry_gfn(&iv, 0, 12345) && warn_count == w0 + 2);
	T(mmu_invalidate_retry_gfn(&iv, 0, 0) && warn_count == w0 + 2);
	mmu_invalidate_range_add(&iv, 3, 4);
	T(!mmu_invalidate_retry_gfn(&iv, 0, 12345) && warn_count == w0 + 2);
	T(mmu_invalidate_end(&iv));
	spin_unlock(&lock);
}

/* Must run last: lock assertions, once per call site. */
static void test_lockdep(void)
{
	unsigned long w0 = warn_count;

	fresh();
	T(!spin_is_locked(&lock));
	mmu_invalidate_begin(&iv);
	T(warn_count == w0 + 1 && iv.in_progress == 1); /* warns, still counts */
	mmu_invalidate_begin(&iv);
	T(warn_count == w0 + 1);
	mmu_invalidate_range_add(&iv, 1, 2);
	T(warn_count == w0 + 2);
	T(mmu_invalidate_retry_gfn(&iv, 0, 1) && warn_count == w0 + 3);
	T(mmu_invalidate_end(&iv) && warn_count == w0 + 4);
	/* Second time round: quiet. */
	mmu_invalidate_range_add(&iv, 1, 2);
	mmu_invalidate_retry_gfn(&iv, 0, 1);
	T(mmu_invalidate_end(&iv));
	mmu_invalidate_begin(&iv);
	mmu_invalidate_range_add(&iv, 1, 2);
	mmu_invalidate_end(&iv);
	T(warn_count == w0 + 4 && iv.in_progress == 0 && iv.seq == 3);
	/* Lockless readers never assert. */
	mmu_invalidate_retry(&iv, 0);
	mmu_invalidate_retry_gfn_unsafe(&iv, 0, 1);
	mmu_invalidate_seq_snapshot(&iv);
	T(warn_count == w0 + 4);
}

int main(void)
{
	RUN(test_seed000_end_without_range); /* first: see the comment at the top */
	RUN(test_basics);
	RUN(test_fault_interleavings);
	RUN(test_end_store_order);
	RUN(test_range_edges);
	RUN(test_nested);
	RUN(test_retry);
	RUN(test_unsafe);
	RUN(test_misuse_warnings);
	RUN(test_lockdep); /* last */
	return tap_finish();
}
