/*
 * The invariant every test checks after an invalidation's end(): each
 * present EPT leaf maps, page for page, the frames the host page tables map
 * for its gfns, never with more access. Pure: host-tested.
 */
#include "ept/ept_fmt.h"
#include "ept/vm.h"
#include "lib/lib.h"

struct coherent_ctx {
	struct vm *vm;
	long bad;
	char *why;
	size_t len;
};

/* One host leaf under an EPT leaf: its part of the EPT leaf must map the same frames. */
struct host_span {
	const struct pt_fmt *fmt; /* the host page tables' format */
	uint64_t hva;    /* where the EPT leaf's pages are in host-virtual space */
	uint64_t epa;    /* the EPT leaf's first frame */
	bool writable;   /* the EPT leaf allows writes */
	uint64_t next;   /* next hva expected: the host must leave no hole */
	uint64_t bad_off; /* offset of the first page that differs, or ~0 */
};

static bool check_host_leaf(void *ctx, uint64_t lva, int level, pte_t *entry)
{
	struct host_span *h = ctx;
	const struct pt_fmt *fmt = h->fmt;
	pte_t e = READ_ONCE(*entry);
	uint64_t from = MAX(lva, h->next), off = from - h->hva;
	uint64_t hpa = pt_addr(fmt, e, level) + (from - lva);

	/* Same frames page for page (one comparison covers the run), never more access. */
	if (from != h->next || hpa != h->epa + off || (h->writable && !(fmt->prot(e) & PT_PROT_W))) {
		h->bad_off = h->next - h->hva;
		return false;
	}
	h->next = lva + pt_level_size(level);
	return true;
}

/*
 * Every 4 KiB page of the leaf is compared with the host page tables: a
 * sample would miss a huge leaf that still covers one changed page (a fault
 * installed over a page being removed). Walking host leaves rather than
 * pages keeps a 1 GiB leaf over a 1 GiB host page at one comparison.
 */
static bool check_leaf(void *ctx, uint64_t gpa, int level, pte_t *entry)
{
	struct coherent_ctx *c = ctx;
	struct vm *vm = c->vm;
	pte_t e = READ_ONCE(*entry);
	uint64_t size = pt_level_size(level), gfn = gpa >> PAGE_SHIFT;
	struct memslot *s = memslot_find(&vm->slots, gfn);
	bool writable = vm->ept.fmt->prot(e) & PT_PROT_W;
	struct host_span h = { vm->mm->pt.fmt, 0, pt_addr(vm->ept.fmt, e, level), writable, 0,
			       ~0ULL };
	const char *what = "no memslot";

	if (s && gfn + (size >> PAGE_SHIFT) <= s->base_gfn + s->npages) {
		h.hva = h.next = memslot_gfn_to_hva(s, gfn);
		pt_for_each_leaf(&vm->mm->pt, h.hva, size, check_host_leaf, &h);
		if (h.bad_off == ~0ULL && h.next >= h.hva + size)
			return true;
		if (h.bad_off == ~0ULL)
			h.bad_off = h.next - h.hva; /* the host maps nothing from there */
		what = "another frame, none, or no write access";
	} else {
		h.bad_off = 0;
		if (s)
			what = "a leaf that runs past the end of its memslot";
	}
	if (!c->bad++)
		ksnprintf(c->why, c->len, "EPT %s leaf at GPA %#llx maps %#llx%s, host has %s",
			  pt_level_name(level), (unsigned long long)(gpa + h.bad_off),
			  (unsigned long long)(h.epa + h.bad_off), writable ? " writable" : "",
			  what);
	return true;
}

int mmu_mapping_level(struct vm *vm, uint64_t gpa)
{
	if (vm->shadow) /* shadow leaves are 4 KiB */
		return shadow_gfn_mappings(vm, gpa >> PAGE_SHIFT, NULL) ? PT_LEVEL_4K : 0;
	return pt_mapping_level(&vm->ept, gpa);
}

long ept_check_coherent(struct vm *vm, char *why, size_t len)
{
	struct coherent_ctx c = { vm, 0, why, len };

	if (len)
		why[0] = '\0';
	if (vm->shadow)
		return shadow_check_coherent(vm, why, len);
	pt_for_each_leaf(&vm->ept, 0, 1ULL << PT_VA_BITS, check_leaf, &c);
	return c.bad;
}
