/*
 * SVM ASIDs (svm/asid.c; issue 21, hole 12): two live VMs alternating on one
 * CPU never run under the same ASID without a flush of all ASIDs between.
 * One ASID per VM id (ids count modulo 16, ept/vm.c) modulo the CPU's ASIDs
 * (QEMU: 15) gave VMs 0 and 15 the same one, and where the TLB keeps entries
 * across VMRUN (hardware; QEMU TCG flushes its own TLB at each VMRUN, so
 * only the ASIDs show it there) they saw each other's translations: each
 * guest here also reads back a word of its own RAM at the same GPA.
 */
#include "tests/kernel/guest_util.h"

#define WORD_GPA 0x200000ULL /* in TEST_RAM, above the image */

static struct guest a, b;

static bool create(struct guest *g, uint64_t value)
{
	if (!test_guest_create(g, TG_INC_YIELD, WORD_GPA, 0))
		return false;
	*(volatile uint64_t *)vm_gpa_to_host(&g->vm, WORD_GPA, 8, true) = value;
	return true;
}

/* The ASIDs two vCPUs last ran with on this CPU may be the same only across generations. */
static bool distinct(const struct vcpu *x, const struct vcpu *y)
{
	return x->hw.asid_generation != y->hw.asid_generation || x->hw.asid != y->hw.asid;
}

KTEST(guest_svm_asid_alternate)
{
	unsigned aliased = 0;
	long next_a = 1000;
	bool ok = false;

	/* A is VM id 0 ... */
	for (int tries = 0; tries < 16 && !ok; tries++) {
		if (!create(&a, 1000))
			return;
		ok = a.vm.id == 0;
		if (!ok)
			guest_destroy(&a);
	}
	if (!CHECK(ok, "no VM got id 0"))
		return;
	if (!test_guest_run_to_yield(&a, 1000))
		goto out;
	if (a.vcpu.be != &svm_backend) {
		ktest_skip("ASIDs are SVM's (the backend is %s)", a.vcpu.be->name);
		goto out;
	}
	/* ... and the Bs ids 1 to 15, each alternating with A (15 ASIDs: one generation ends). */
	for (unsigned i = 0; ok && i < 15; i++) {
		ok = create(&b, 5000 + i) && test_guest_run_to_yield(&b, 5000 + i);
		for (int round = 0; ok && round < 2; round++) {
			ok = vcpu_resume(&a.vcpu) && test_guest_run_to_yield(&a, ++next_a);
			aliased += !distinct(&a.vcpu, &b.vcpu);
			ok = ok && vcpu_resume(&b.vcpu) &&
			     test_guest_run_to_yield(&b, 5000 + i + round + 1);
			aliased += !distinct(&a.vcpu, &b.vcpu);
		}
		guest_destroy(&b);
	}
	CHECK(aliased == 0, "%u times two live VMs ran under one ASID of one generation",
	      aliased);
out:
	guest_destroy(&a);
}
