/*
 * Host page-table changes under a running guest (Bochs/KVM; skipped without
 * VMX). The guest yields (HC_YIELD) between steps so the host can act on
 * its memory, then resumes: EPT must follow the host every time.
 */
#include "tests/kernel/guest_util.h"
#include "arch/x86/hal.h"
#include "mm/hostpt.h"
#include "lib/kstring.h"

#define POISON 0xdeaddeaddeaddeadULL

static bool coherent(struct guest *g)
{
	char why[200];
	long bad = ept_check_coherent(&g->vm, why, sizeof(why));

	return CHECK(bad == 0, "%ld incoherent EPT leaves: %s", bad, why);
}

static bool resume_to_yield(struct guest *g, long want)
{
	return vcpu_resume(&g->vcpu) && test_guest_run_to_yield(g, want);
}

/* A guest incrementing one word at GPA 1 GiB (4 KiB-backed slot). */
static bool inc_guest(struct guest *g, volatile uint64_t **word)
{
	if (!test_guest_create(g, TG_INC_YIELD, SZ_1G, 0))
		return false;
	if (!test_guest_add_ram(g, SZ_1G, SZ_2M, PT_LEVEL_4K, 0, 0))
		return false;
	*word = vm_gpa_to_host(&g->vm, SZ_1G, 8, true);
	**word = 100;
	return test_guest_run_to_yield(g, 100);
}

KTEST(guest_inval_migrate)
{
	struct guest g;
	volatile uint64_t *word;
	uint64_t fresh, old;
	struct pt_walk w;

	if (!inc_guest(&g, &word))
		goto out;
	uint64_t hva = (uint64_t)word;
	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh), 0))
		goto out;
	CHECK_EQ(mm_migrate(&host_mm, hva, fresh, &old), 0);
	coherent(&g);
	/* Poison the old frame: no guest write may land there any more. */
	volatile uint64_t *oldp = phys_to_virt(old);
	for (int i = 0; i < 512; i++)
		oldp[i] = POISON;
	CHECK_EQ(*word, 100); /* the copy */
	*word = 200;          /* the guest must now read the new frame */
	if (resume_to_yield(&g, 201) && resume_to_yield(&g, 202)) {
		CHECK(host_lookup(hva, &w) == 0 && w.pa == fresh, "host does not map the new frame");
		CHECK_EQ(*(volatile uint64_t *)phys_to_virt(fresh), 202);
		uint64_t bad = 0;
		for (int i = 0; i < 512; i++)
			bad += oldp[i] != POISON;
		CHECK_EQ(bad, 0);
	}
	coherent(&g);
	frame_free(&phys_frames, old, FRAME_ORDER_4K);
out:
	guest_destroy(&g);
}

KTEST(guest_inval_write_protect)
{
	struct guest g;
	volatile uint64_t *word;

	if (!inc_guest(&g, &word))
		goto out;
	uint64_t hva = ALIGN_DOWN((uint64_t)word, PAGE_SIZE);
	CHECK_EQ(host_protect(hva, PAGE_SIZE, PT_PROT_R), 1);
	coherent(&g);
	/* The guest's write exits to us and does not happen. */
	CHECK(vcpu_resume(&g.vcpu));
	CHECK_EQ(guest_run(&g), STOP_MEMORY_FAULT);
	CHECK(strstr(g.vcpu.stop_reason, "write-protected"), "reason: %s", g.vcpu.stop_reason);
	CHECK_EQ(*word, 100);
	/* A second try while still protected exits again. */
	CHECK(vcpu_resume(&g.vcpu));
	CHECK_EQ(guest_run(&g), STOP_MEMORY_FAULT);
	/* Restoring write access lets the guest finish the write. */
	CHECK_EQ(host_protect(hva, PAGE_SIZE, PT_PROT_RW), 1);
	if (resume_to_yield(&g, 101))
		CHECK_EQ(*word, 101);
	coherent(&g);
out:
	guest_destroy(&g);
}

KTEST(guest_inval_unmap_new_backing)
{
	struct guest g;
	volatile uint64_t *word;
	uint64_t fresh;

	if (!inc_guest(&g, &word))
		goto out;
	uint64_t hva = (uint64_t)word;
	uint64_t faults = g.vm.stats.ept_violations;
	CHECK_EQ(host_unmap(hva, PAGE_SIZE), 1);
	coherent(&g);
	/* New backing, with different contents, at the same host address. */
	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh), 0))
		goto out;
	memset(phys_to_virt(fresh), 0, PAGE_SIZE);
	*(uint64_t *)phys_to_virt(fresh) = 500;
	CHECK_EQ(host_map(hva, fresh, PAGE_SIZE, PT_PROT_RW, PT_LEVEL_4K), 0);
	if (resume_to_yield(&g, 501))
		CHECK(g.vm.stats.ept_violations > faults, "the guest did not fault the page in again");
	coherent(&g);
out:
	/* vm_destroy frees the frame now mapped there (the old one went with unmap). */
	guest_destroy(&g);
}

/* A guest touching a 2 MiB slot at 1 GiB, one yield per round. */
static bool touch_guest(struct guest *g, int backing)
{
	if (!test_guest_create(g, TG_TOUCH_YIELD, SZ_1G, SZ_2M))
		return false;
	if (!test_guest_add_ram(g, SZ_1G, SZ_2M, backing, 0, 0))
		return false;
	return test_guest_run_to_yield(g, 1);
}

KTEST(guest_inval_collapse)
{
	struct guest g;

	if (!touch_guest(&g, PT_LEVEL_4K))
		goto out;
	const struct memslot *s = &g.vm.slots.slot[1];
	/* Shadow leaves are 4 KiB whatever backs them: 512 faults again, no 2M leaf. */
	bool shadow = g.vm.shadow;
	CHECK_EQ(s->ept_violations, 512);
	CHECK_EQ(g.vm.stats.ept_installed[PT_LEVEL_2M], 0);
	CHECK_EQ(mm_collapse(&host_mm, s->hva), 0);
	CHECK_EQ(host_mapping_level(s->hva), PT_LEVEL_2M);
	coherent(&g);
	if (resume_to_yield(&g, 2)) {
		CHECK_EQ(s->ept_violations, (shadow ? 1024 : 513)); /* one more fault ... */
		CHECK_EQ(g.vm.stats.ept_installed[PT_LEVEL_2M], (shadow ? 0 : 1)); /* ... and a 2M leaf */
		CHECK_EQ(mmu_mapping_level(&g.vm, SZ_1G + 0x1000), (shadow ? PT_LEVEL_4K : PT_LEVEL_2M));
	}
	coherent(&g);
out:
	guest_destroy(&g);
}

KTEST(guest_inval_split)
{
	struct guest g;

	if (!touch_guest(&g, PT_LEVEL_2M))
		goto out;
	const struct memslot *s = &g.vm.slots.slot[1];
	/* Shadow leaves are 4 KiB whatever backs them: 512 from the start. */
	uint64_t first = g.vm.shadow ? 512 : 1;
	CHECK_EQ(s->ept_violations, first);
	CHECK_EQ(g.vm.stats.ept_installed[PT_LEVEL_2M], (g.vm.shadow ? 0 : 1));
	uint64_t inv = g.vm.stats.invept;
	CHECK_EQ(host_split(s->hva, PT_LEVEL_2M), 0);
	CHECK_EQ(g.vm.stats.invept, inv + 1); /* the zap of one present leaf: one flush */
	coherent(&g);
	if (resume_to_yield(&g, 2)) {
		CHECK_EQ(s->ept_violations, first + 512);
		CHECK_EQ(g.vm.stats.ept_installed[PT_LEVEL_4K] - g.vm.slots.slot[0].ept_violations,
			 (first == 1 ? 512 : 1024));
		CHECK_EQ(mmu_mapping_level(&g.vm, SZ_1G + 0x1000), PT_LEVEL_4K);
	}
	coherent(&g);
out:
	guest_destroy(&g);
}

KTEST(guest_inval_aging)
{
	struct guest g;

	if (!touch_guest(&g, PT_LEVEL_4K))
		goto out;
	uint64_t hva = g.vm.slots.slot[1].hva;
	/* The guest touched every page: young. Clearing then lets us watch it again. */
	CHECK(mm_test_young(&host_mm, hva, SZ_2M), "touched pages are not young");
	CHECK(mm_clear_young(&host_mm, hva, SZ_2M));
	CHECK(!mm_test_young(&host_mm, hva, SZ_2M), "still young right after clear_young");
	if (resume_to_yield(&g, 2))
		CHECK(mm_test_young(&host_mm, hva, SZ_2M), "pages the guest touched again are not "
		      "young (EPT A/D: %s)", yes_no(g.vm.ept_ad));
	coherent(&g);
out:
	guest_destroy(&g);
}
