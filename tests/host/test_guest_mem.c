/*
 * Host unit tests for ept/guest_mem.c, minihv's own reads and writes of
 * guest RAM: bounds and rights, host pages faulted in, and issue 21's
 * holes 4 (an access while the host changes the page) and 15 (a write
 * into a guest page table under shadow paging).
 */
#include "tests/host/shadow_harness.h"
#include "ept/guest_mem.h"

#define RO_GPA (GPA0 + 64 * MiB)
#define RO_HVA (HVA0 + 64 * MiB)

static void test_bounds_and_rights(void)
{
	char err[160];
	uint8_t buf[3 * PAGE_SIZE], got[3 * PAGE_SIZE];

	dvm(PT_LEVEL_4K);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	/* Across two page boundaries. */
	T(vm_write_guest(&vm, GPA0 + PAGE_SIZE - 5, buf, sizeof(buf)) == 0);
	T(vm_read_guest(&vm, GPA0 + PAGE_SIZE - 5, got, sizeof(got)) == 0);
	T(memcmp(buf, got, sizeof(buf)) == 0);
	T(memcmp(hva_ptr(gpa_hva(GPA0 + PAGE_SIZE)) - 5, buf, 5) == 0);
	/* Outside RAM, across its end, wrapping around: -EFAULT. */
	T(vm_read_guest(&vm, GPA0 - 8, got, 8) == -EFAULT);
	T(vm_read_guest(&vm, GPA0 + SZ_2M - 4, got, 8) == -EFAULT);
	T(vm_write_guest(&vm, ~0ULL - 3, buf, 8) == -EFAULT);
	T(vm_read_guest(&vm, GPA0, got, 0) == 0);
	/* A read-only memslot: read yes, write no. */
	T(back(RO_HVA, SZ_2M, PT_LEVEL_4K) == 0);
	T(vm_memslot_add(&vm, RO_GPA, SZ_2M, RO_HVA, MEMSLOT_READONLY, err, sizeof(err)) == 0);
	T(vm_read_guest(&vm, RO_GPA, got, 16) == 0);
	T(vm_write_guest(&vm, RO_GPA, buf, 16) == -EFAULT);
	/* A host page the host keeps read-only: the same. */
	T(mm_protect(&mm, gpa_hva(GPA0), PAGE_SIZE, PT_PROT_R, false) == 1);
	T(vm_read_guest(&vm, GPA0, got, 8) == 0);
	T(vm_write_guest(&vm, GPA0, buf, 8) == -EFAULT);
	/* A host page unmapped is faulted in (the host's zero page) and written. */
	T(mm_unmap(&mm, gpa_hva(GPA0 + PAGE_SIZE), PAGE_SIZE) == 1);
	T(vm_write_guest(&vm, GPA0 + PAGE_SIZE + 8, buf, 8) == 0);
	T(vm_read_guest(&vm, GPA0 + PAGE_SIZE, got, 16) == 0);
	T(page_is(gpa_hva(GPA0 + PAGE_SIZE), 0) == false && memcmp(got + 8, buf, 8) == 0);
	T(coherent() && !vm.bugged);
}

/* An access run by the mm's step hook, at one step of a host change. */
struct step_access {
	enum mm_step at;
	uint64_t gpa;
	bool write;
	uint64_t val;
	int calls, result;
};

static void access_at_step(struct mm *m, enum mm_step at, const struct mmu_range *r, void *ctx)
{
	struct step_access *sa = ctx;

	(void)m, (void)r;
	if (at != sa->at || sa->calls++)
		return;
	sa->result = sa->write ? vm_write_guest(&vm, sa->gpa, &sa->val, 8)
			       : vm_read_guest(&vm, sa->gpa, &sa->val, 8);
}

/*
 * Hole 4: an access while a host migrate of the page is between start()
 * and end(). On another CPU the copy may be made at any moment: no byte
 * goes through (or comes from) the mapping being replaced. -EAGAIN; the
 * guest runs its instruction again after end(), on the new frame.
 */
static void test_hole4_access_during_change(void)
{
	static const bool writes[] = { false, true };

	for (unsigned k = 0; k < ARRAY_SIZE(writes); k++) {
		uint64_t new_pa, old_pa, v = 0x1234567890abcdefULL, got;
		struct step_access sa = { MM_STEP_STARTED, GPA0 + 0x48, writes[k], v, 0, 1 };

		dvm(PT_LEVEL_4K);
		T(frame_alloc(&fa, FRAME_ORDER_4K, &new_pa) == 0);
		uint64_t before = *(uint64_t *)(hva_ptr(gpa_hva(GPA0)) + 0x48);
		mm.step_hook = access_at_step;
		mm.step_hook_ctx = &sa;
		T(mm_migrate(&mm, gpa_hva(GPA0), new_pa, &old_pa) == 0);
		mm.step_hook = NULL;
		T(sa.calls == 1 && sa.result == -EAGAIN);
		T(*(uint64_t *)(hva_ptr(gpa_hva(GPA0)) + 0x48) == before && host_pa(GPA0) == new_pa);
		/* Again, after end(): the new frame. */
		T(vm_write_guest(&vm, GPA0 + 0x48, &v, 8) == 0 && vm_read_guest(&vm, GPA0 + 0x48,
									   &got, 8) == 0);
		T(got == v && *(uint64_t *)phys_to_virt(new_pa + 0x48) == v);
		T(coherent() && !vm.bugged);
	}
}

/*
 * Hole 15: under shadow paging minihv's own write over a live guest PTE
 * (an HC_STATS buffer placed there) drops the shadow entry built from it,
 * as a trapped guest write would: no flush point keeps the old frame.
 */
static void test_hole15_write_into_page_table(void)
{
	uint64_t pte = DATA(7) | G_P | G_W | G_U, pde = PT2 | TABLE;
	unsigned long w0 = warn_count;

	svm_fresh(false);
	T(pf(GVA(3), 0) == SHADOW_RESUME && cpu_maps(GVA(3), DATA(3)));
	T(vm_write_guest(&vm, PT + 3 * 8, &pte, 8) == 0);
	T(!cpu_leaf(GVA(3)) && shadow_coherent());
	T(pf(GVA(3), 0) == SHADOW_RESUME && cpu_maps(GVA(3), DATA(7)));
	/* An upper level: PD[2] now leads to PT2. */
	T(vm_write_guest(&vm, PD + 2 * 8, &pde, 8) == 0);
	T(!cpu_leaf(GVA(3)) && shadow_coherent());
	T(pf(GVA(3), 0) == SHADOW_RESUME && cpu_maps(GVA(3), DATA(35)));
	/* Written through a mapping of minihv's own (the vCPU-info gpc), then reported. */
	T(pf(GVA2(5), 0) == SHADOW_RESUME && cpu_maps(GVA2(5), DATA(37)));
	*gpte(PT2, 5) = DATA(9) | G_P | G_W | G_U;
	vm_guest_written(&vm, PT2 + 5 * 8, 16);
	T(!cpu_leaf(GVA2(5)) && shadow_coherent());
	T(pf(GVA2(5), 0) == SHADOW_RESUME && cpu_maps(GVA2(5), DATA(9)));
	T(shadow_coherent() && !vm.bugged && warn_count == w0);
	svm_done();
}

int main(void)
{
	RUN(test_bounds_and_rights);
	RUN(test_hole4_access_during_change);
	RUN(test_hole15_write_into_page_table);
	return tap_finish();
}
