/*
 * The model of tests/host/test_smp.c: its sizes and rounds, the shared
 * state (guest pages, counters, the gpc), the helpers every thread uses
 * (fail(), rnd(), page_gpa/hva(), relax()) and the vCPU side: the vCPUs'
 * guest mode, their software TLBs filled by an EPT walk, the remote flush
 * installed as vm.flush, the fault path with its retry bound and the
 * vCPU threads' checked accesses. Included only by test_smp.c.
 */
#ifndef MINIHV_SMP_MODEL_H
#define MINIHV_SMP_MODEL_H

#include <sched.h>
#include "tests/host/hostvm.h"

#define NVCPU 2
#define NHOST 2
#define MAIN_PAGES 1024                   /* 4 MiB of 4K-backed RAM at GPA0 / HVA0 */
#define HUGE_GPA (GPA0 + 8 * MiB)          /* 2 MiB backed by one 2 MiB host page */
#define HUGE_HVA (HVA0 + 8 * MiB)
#define HUGE_PAGES 512
#define NPAGES (MAIN_PAGES + HUGE_PAGES)
#define HOT 64                            /* pages most operations pick from */
#define SPARE_GPA (2 * GiB)               /* the slot added and removed */
#define SPARE_HVA (HVA0 + 64 * MiB)
#define SPARE_SIZE (16 * PAGE_SIZE)
#define GPC_PAGE 1                        /* owned by no vCPU: the gpc's */
#define GPC_OFF 0x10
#define TLB_SIZE 8
#define POISON 0xdbdbdbdbdbdbdbdbULL
#define WORDS 8                           /* words of a page checked, 512 bytes apart */
#define WATCHDOG_S 20

/* Rounds: vCPU accesses + host operations + gpc rounds = 20000. */
#define VCPU_ROUNDS 6000
#define HOST_ROUNDS 3000
#define GPC_ROUNDS 2000

enum { OUTSIDE, IN_GUEST };

struct tlb_entry {
	uint64_t gfn, pa;
	bool valid, writable;
};

struct vcpu {
	unsigned id, cpu;
	uint64_t rng;
	int mode;               /* OUTSIDE / IN_GUEST, atomic */
	uint64_t flush_req;     /* flush requests posted (atomic) */
	uint64_t flush_done;    /* ... and acknowledged (atomic) */
	struct tlb_entry tlb[TLB_SIZE];
	unsigned tlb_next;
	uint64_t accesses, faults, retries, retry_max, prot_waits, tlb_drops; /* atomic reads */
	const char *phase;      /* for the watchdog */
};

/* Per guest page. exp/done_seen: the owner's; the counters: atomic. */
struct page {
	uint64_t exp;           /* the pattern the owner wrote last */
	uint64_t gen;
	uint64_t unmap_done_seen; /* unmap_done when the owner last accessed it */
	uint64_t unmap_begun, unmap_done;
	int hostlock;           /* host threads: one operation per page at a time */
};

static struct vcpu vcpus[NVCPU];
static struct page pages[NPAGES];
static struct gpc g;
static uint64_t seed;
static uint64_t op_epoch, op_inflight; /* host operations: begin/end events, in flight */
static uint64_t progress, failures, coherent_checks, remote_flushes, flush_waits;
static uint64_t gpc_ok, gpc_efault, gpc_reactivations, memslot_cycles, poisoned;
static uint64_t host_op_count[8], host_op_fail[8];
static int done_flag;
static const char *host_phase[NHOST], *gpc_phase;

#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define INC(x) __atomic_fetch_add(&(x), 1, __ATOMIC_SEQ_CST)
#define DEC(x) __atomic_fetch_sub(&(x), 1, __ATOMIC_SEQ_CST)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (INC(failures) >= 10)
		return; /* the first ten say enough */
	printf("# FAIL (seed %#llx): ", (unsigned long long)seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t rnd(uint64_t *s)
{
	/* splitmix64: small, seedable, good enough */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t page_gpa(unsigned k)
{
	return k < MAIN_PAGES ? GPA0 + (uint64_t)k * PAGE_SIZE
			      : HUGE_GPA + (uint64_t)(k - MAIN_PAGES) * PAGE_SIZE;
}

static uint64_t page_hva(unsigned k)
{
	return k < MAIN_PAGES ? HVA0 + (uint64_t)k * PAGE_SIZE
			      : HUGE_HVA + (uint64_t)(k - MAIN_PAGES) * PAGE_SIZE;
}

/* Spin politely: 7 threads share 2 cores, a spinner must let the awaited one run. */
static void relax(unsigned *n)
{
	if (++*n % 64)
		__builtin_ia32_pause();
	else
		sched_yield();
}

/* ---- vCPU side ---- */

/* A request pending: forget every translation, then say so. */
static void vcpu_check_requests(struct vcpu *v)
{
	uint64_t req = LD(v->flush_req);

	if (req != __atomic_load_n(&v->flush_done, __ATOMIC_RELAXED)) {
		memset(v->tlb, 0, sizeof(v->tlb));
		INC(v->tlb_drops);
		ST(v->flush_done, req);
	}
}

static void vcpu_enter(struct vcpu *v)
{
	/* Mode before requests, with a full barrier (KVM's vcpu_enter_guest()). */
	__atomic_store_n(&v->mode, IN_GUEST, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vcpu_check_requests(v);
}

static void vcpu_exit(struct vcpu *v)
{
	/* Release: this vCPU's accesses happen before a flusher sees it outside. */
	__atomic_store_n(&v->mode, OUTSIDE, __ATOMIC_SEQ_CST);
}

/* vm.flush: the remote flush. Called under mmu_lock by invalidations and faults. */
static void remote_flush(struct vm *v)
{
	uint64_t req[NVCPU];

	(void)v;
	INC(remote_flushes);
	for (unsigned i = 0; i < NVCPU; i++)
		req[i] = __atomic_add_fetch(&vcpus[i].flush_req, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < NVCPU; i++) {
		struct vcpu *c = &vcpus[i];
		unsigned n = 0;

		/* Outside guest mode it handles the request before it re-enters: no ack needed. */
		while (LD(c->flush_done) < req[i] &&
		       __atomic_load_n(&c->mode, __ATOMIC_SEQ_CST) == IN_GUEST) {
			if (!n)
				INC(flush_waits);
			relax(&n);
		}
	}
}

/* The CPU's EPT walk: fill the TLB, setting A (and D) with a locked cmpxchg. */
static bool vcpu_translate(struct vcpu *v, uint64_t gpa, bool write, uint64_t *pa)
{
	uint64_t gfn = gpa >> PAGE_SHIFT;

	for (unsigned i = 0; i < TLB_SIZE; i++) {
		struct tlb_entry *t = &v->tlb[i];

		if (t->valid && t->gfn == gfn && (t->writable || !write)) {
			*pa = t->pa;
			return true;
		}
	}
	int level;
	pte_t *entry = pt_find_leaf(&vm.ept, gpa, &level);
	if (!entry)
		return false;
	pte_t e = pte_read(entry);
	for (;;) {
		if (!pt_present(&ept_fmt, e) || (write && !(e & EPT_W)))
			return false;
		pte_t n = e | EPT_ACCESSED | (write ? EPT_DIRTY : 0);
		if (n == e || __atomic_compare_exchange_n(entry, &e, n, false, __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE))
			break;
	}
	uint64_t size = pt_level_size(level);
	*pa = pt_addr(&ept_fmt, e, level) + (ALIGN_DOWN(gpa, PAGE_SIZE) & (size - 1));
	for (unsigned i = 0; i < TLB_SIZE; i++)
		if (v->tlb[i].valid && v->tlb[i].gfn == gfn)
			v->tlb[i].valid = false;
	v->tlb[v->tlb_next++ % TLB_SIZE] = (struct tlb_entry){ gfn, *pa, true, !!(e & EPT_W) };
	return true;
}

/* Wait (outside guest mode) until a host operation begins or ends. */
static void wait_host_event(uint64_t since)
{
	unsigned n = 0;

	while (LD(op_epoch) == since && LD(op_inflight))
		relax(&n);
}

/*
 * In guest mode, make @gpa accessible through the TLB, exiting to
 * mmu_fault() on each miss. Retry bound, checked per access: a retry (a
 * fault handled with 0 after which the walk still misses) must be paid for
 * by a host event during that attempt: a host operation in flight when it
 * began (then the vCPU waits for that operation's next begin/end event
 * before retrying, so one operation cannot pay twice), or a begin/end
 * event, or a flush (map_over() on the other vCPU replacing a huge leaf).
 * So retries <= host events + flushes during the access; an unpaid retry
 * would be the fault path failing with nothing in its way (a livelock).
 */
static void fault_access(struct vcpu *v, uint64_t gpa, bool write, uint64_t *pa)
{
	uint64_t retries = 0, ev0 = LD(op_epoch), fl0 = LD(vm.stats.invept);
	uint64_t e0 = 0, in0 = 0, f0 = 0; /* at the start of the last attempt */
	bool faulted = false, retried = false;

	while (!vcpu_translate(v, gpa, write, pa)) {
		char why[200] = "";

		if (retried) {
			/* The last attempt handled the fault, yet the walk misses: a retry. */
			retries++;
			if (!in0 && LD(op_epoch) == e0 && LD(vm.stats.invept) == f0)
				fail("vCPU%u: fault at %#llx retried with no host event", v->id,
				     (unsigned long long)gpa);
		}
		vcpu_exit(v);
		/* Paid for by an operation still in flight: let it move on first. */
		if (retried && in0 && LD(op_epoch) == e0)
			wait_host_event(e0);
		v->phase = "mmu_fault";
		e0 = LD(op_epoch), in0 = LD(op_inflight), f0 = LD(vm.stats.invept);
		int r = mmu_fault(&vm, gpa, write ? PT_PROT_W : PT_PROT_R, why, sizeof(why));
		v->phase = "guest";
		faulted = true;
		retried = r == 0;
		if (r == -EPERM) {
			/* Host write-protected it: wait for the operation to give write back. */
			INC(v->prot_waits);
			wait_host_event(e0);
		} else if (r) {
			fail("vCPU%u: mmu_fault(%#llx) = %s: %s", v->id, (unsigned long long)gpa,
			     errno_name(r), why);
			vcpu_enter(v);
			return;
		}
		vcpu_enter(v);
	}
	if (!faulted)
		return;
	/* Each retry was paid for by a host event or flush during its attempt. */
	uint64_t events = LD(op_epoch) - ev0 + LD(vm.stats.invept) - fl0;
	if (retries > events)
		fail("vCPU%u: %llu retries at %#llx for %llu host events", v->id,
		     (unsigned long long)retries, (unsigned long long)gpa,
		     (unsigned long long)events);
	INC(v->faults);
	__atomic_fetch_add(&v->retries, retries, __ATOMIC_RELAXED);
	if (retries > v->retry_max)
		__atomic_store_n(&v->retry_max, retries, __ATOMIC_RELAXED);
}

static unsigned vcpu_pick(struct vcpu *v)
{
	uint64_t x = rnd(&v->rng);
	unsigned k;

	if (x % 10 < 5)
		k = (unsigned)(x >> 8) % HOT;
	else if (x % 10 < 8)
		k = MAIN_PAGES + (unsigned)(x >> 8) % HUGE_PAGES;
	else
		k = (unsigned)(x >> 8) % MAIN_PAGES;
	k = (k & ~1u) | v->id;
	return k == GPC_PAGE ? GPC_PAGE + 2 : k;
}

/* Read back what this vCPU wrote last (or zero after an unmap), write anew. */
static void vcpu_access(struct vcpu *v)
{
	unsigned k = vcpu_pick(v);
	struct page *pg = &pages[k];
	uint64_t gpa = page_gpa(k), pa = 0;
	bool write = rnd(&v->rng) % 4 != 0;

	fault_access(v, gpa, write, &pa);
	if (LD(failures))
		return;
	volatile uint64_t *w = phys_to_virt(pa);
	uint64_t got = w[0];
	bool same = true;
	for (unsigned i = 1; i < WORDS; i++)
		same &= w[i * 64] == got;
	if (got == POISON) {
		fail("vCPU%u: read POISON at gpa %#llx (frame %#llx): a stale translation",
		     v->id, (unsigned long long)gpa, (unsigned long long)pa);
	} else if (!same) {
		fail("vCPU%u: gpa %#llx torn: %#llx / %#llx", v->id, (unsigned long long)gpa,
		     (unsigned long long)got, (unsigned long long)w[64]);
	} else if (got != pg->exp) {
		/* Zero only if an unmap began since this vCPU last saw one done. */
		if (got || LD(pg->unmap_begun) <= pg->unmap_done_seen)
			fail("vCPU%u: LOST WRITE at gpa %#llx: read %#llx, wrote %#llx (gen %llu)",
			     v->id, (unsigned long long)gpa, (unsigned long long)got,
			     (unsigned long long)pg->exp, (unsigned long long)pg->gen);
		pg->exp = got;
	}
	/*
	 * An unmap cannot run while this access is in guest mode (its flush
	 * waits for our ack): what is done now was done before the read.
	 */
	pg->unmap_done_seen = LD(pg->unmap_done);
	if (write) {
		uint64_t val = (gpa << 16) ^ (++pg->gen << 1) ^ 0x4000000000000001ULL;

		for (unsigned i = 0; i < WORDS; i++)
			w[i * 64] = val;
		pg->exp = val;
	}
	INC(v->accesses);
	INC(progress);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	host_cpu_set_id(v->cpu);
	v->phase = "guest";
	vcpu_enter(v);
	for (unsigned i = 0; i < VCPU_ROUNDS && !LD(failures);) {
		/* A few accesses per entry; between them a kick: the requests are checked. */
		unsigned n = 1 + rnd(&v->rng) % 4;

		for (unsigned j = 0; j < n && i < VCPU_ROUNDS; j++, i++) {
			vcpu_access(v);
			vcpu_check_requests(v);
		}
		vcpu_exit(v);
		if (rnd(&v->rng) % 8 == 0)
			sched_yield();
		vcpu_enter(v);
	}
	vcpu_exit(v);
	v->phase = "done";
	return NULL;
}

#endif
