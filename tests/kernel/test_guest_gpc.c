/*
 * The gfn-to-pfn cache's real user: the vCPU-info area the hypervisor writes
 * on every exit (Bochs/KVM; skipped without VMX).
 */
#include "tests/kernel/guest_util.h"
#include "arch/x86/hal.h"
#include "mm/hostpt.h"
#include "guest/hypercall.h"

#define AREA (SZ_1G + 0x100)
#define AREA2 (SZ_1G + 0x5000)
#define POISON 0x5a5a5a5a5a5a5a5aULL

static bool info_guest(struct guest *g)
{
	if (!test_guest_create(g, TG_VCPU_INFO, AREA, AREA2))
		return false;
	if (!test_guest_add_ram(g, SZ_1G, SZ_2M, PT_LEVEL_4K, 0, 0))
		return false;
	enum vcpu_stop s = guest_run(g);
	return CHECK(s == STOP_YIELD, "guest stopped: %s (%s), code %ld", vcpu_stop_name(s),
		     g->vcpu.stop_reason, g->vcpu.exit_code);
}

/* Resume with @cmd; true if the guest yields again. */
static bool step(struct guest *g, uint64_t cmd)
{
	if (!vcpu_resume(&g->vcpu))
		return false;
	g->vcpu.regs.rax = cmd;
	enum vcpu_stop s = guest_run(g);
	return CHECK(s == STOP_YIELD, "guest stopped: %s (%s)", vcpu_stop_name(s),
		     g->vcpu.stop_reason);
}

static struct hc_vcpu_info *host_view(struct guest *g, uint64_t gpa)
{
	return vm_gpa_to_host(&g->vm, gpa, sizeof(struct hc_vcpu_info), true);
}

KTEST(gpc_vcpu_info)
{
	struct guest g;

	if (!info_guest(&g))
		goto out;
	struct hc_vcpu_info *vi = host_view(&g, AREA);
	/* The guest saw the count written at its CPUID exit; the yield exit came after. */
	CHECK(g.vcpu.exit_code > 0, "the guest read no exits");
	CHECK_EQ(vi->exits, g.vcpu.stats.exits_total);
	CHECK_EQ(vi->exits, (uint64_t)g.vcpu.exit_code + 1);
	CHECK_EQ(vi->last_exit_reason, hypercall_exit_code(&g.vcpu));
	CHECK_EQ(vi->version % 2, 0);
	CHECK_EQ(vi->version, 2 * g.vcpu.info_updates);
	if (step(&g, TG_INFO_CONTINUE))
		CHECK_EQ(vi->exits, (uint64_t)g.vcpu.exit_code + 1);
	/* Told to finish, the guest exits cleanly. */
	CHECK(vcpu_resume(&g.vcpu));
	g.vcpu.regs.rax = TG_INFO_DONE;
	CHECK(guest_run(&g) == STOP_EXIT && g.vcpu.exit_code == 0, "guest code %ld",
	      g.vcpu.exit_code);
out:
	guest_destroy(&g);
}

KTEST(gpc_migrate_area)
{
	struct guest g;
	uint64_t fresh, old;

	if (!info_guest(&g))
		goto out;
	uint64_t hva = ALIGN_DOWN((uint64_t)host_view(&g, AREA), PAGE_SIZE);
	if (!CHECK_EQ(frame_alloc(&phys_frames, FRAME_ORDER_4K, &fresh), 0))
		goto out;
	CHECK_EQ(mm_migrate(&host_mm, hva, fresh, &old), 0);
	CHECK(!g.vcpu.info.valid, "migration left the cache valid");
	volatile uint64_t *oldp = phys_to_virt(old);
	for (int i = 0; i < 512; i++)
		oldp[i] = POISON;
	for (int round = 0; round < 3; round++)
		if (!step(&g, TG_INFO_CONTINUE))
			break;
	/* Updates land in the new frame, none in the old one. */
	struct hc_vcpu_info *vi = (void *)((uint8_t *)phys_to_virt(fresh) + (AREA & 0xfff));
	CHECK_EQ(vi->exits, (uint64_t)g.vcpu.exit_code + 1);
	CHECK_EQ(g.vcpu.info.pa, fresh);
	uint64_t bad = 0;
	for (int i = 0; i < 512; i++)
		bad += oldp[i] != POISON;
	CHECK_EQ(bad, 0);
	frame_free(&phys_frames, old, FRAME_ORDER_4K);
out:
	guest_destroy(&g);
}

KTEST(gpc_unmapped_area)
{
	struct guest g;
	void *p;

	if (!info_guest(&g))
		goto out;
	uint64_t hva = ALIGN_DOWN((uint64_t)host_view(&g, AREA), PAGE_SIZE);
	CHECK_EQ(host_unmap(hva, PAGE_SIZE), 1);
	/* The cache reports invalid and cannot be refreshed: nothing is written. */
	CHECK(!g.vcpu.info.valid);
	CHECK_EQ(gpc_lock(&g.vcpu.info, sizeof(struct hc_vcpu_info), &p), -EFAULT);
	uint64_t skipped = g.vcpu.info_skipped;
	/* Resume: the CPUID exit's update is skipped; the guest's read then maps a fresh page. */
	if (step(&g, TG_INFO_CONTINUE)) {
		CHECK(g.vcpu.info_skipped > skipped, "the hypervisor wrote to an unmapped page");
		CHECK_EQ(g.vcpu.exit_code, 0); /* the fresh page holds zeros */
	}
	/* Mapped again: updates resume. */
	if (step(&g, TG_INFO_CONTINUE)) {
		CHECK(g.vcpu.exit_code > 0, "updates did not resume");
		CHECK_EQ(host_view(&g, AREA)->exits, (uint64_t)g.vcpu.exit_code + 1);
	}
out:
	guest_destroy(&g);
}

KTEST(gpc_reregister)
{
	struct guest g;

	if (!info_guest(&g))
		goto out;
	struct hc_vcpu_info *a1 = host_view(&g, AREA), *a2 = host_view(&g, AREA2);
	if (step(&g, TG_INFO_MOVE)) {
		uint64_t frozen = a1->exits;

		CHECK_EQ(g.vcpu.info.gpa, AREA2);
		if (step(&g, TG_INFO_CONTINUE)) {
			CHECK_EQ(a2->exits, (uint64_t)g.vcpu.exit_code + 1);
			CHECK_EQ(a1->exits, frozen); /* the old area is no longer written */
		}
	}
out:
	guest_destroy(&g);
}
