/* Helpers for the tests that run the self-test guest (tests/kernel/test_guest_*.c). */
#ifndef MINIHV_TEST_GUEST_UTIL_H
#define MINIHV_TEST_GUEST_UTIL_H

#include "lib/guests.h"
#include "lib/kerrno.h"
#include "lib/kstring.h"
#include "lib/ktest.h"
#include "boot/loader.h"
#include "vmx/vmx.h"
#include "vmx/vmcs_defs.h"
#include "svm/svm.h"
#include "svm/svm_defs.h"
#include "guest/testguest.h"

#define TEST_RAM (4ULL << 20)
#define SZ_1G (1ULL << 30)
#define SZ_2M (2ULL << 20)

/*
 * Create the self-test guest with command @cmd. Returns false (test skipped
 * or failed) when it cannot run: only a CPU without VMX (-ENODEV, "no VMX: ...")
 * or with VMX but without EPT (-EOPNOTSUPP, "no EPT: ...") is a skip.
 */
/*
 * The exit code the guest's hypercall instruction (VMCALL, guest/guest.h)
 * raises on @v's backend: a VMCALL exit on VMX, #UD on SVM.
 */
static inline unsigned hypercall_exit_code(const struct vcpu *v)
{
	return v->be == &svm_backend ? SVM_EXIT_UD : EXIT_REASON_VMCALL;
}

static inline bool test_guest_create(struct guest *g, uint64_t cmd, uint64_t arg, uint64_t arg2)
{
	char err[200];
	int r = guest_create(g, "testguest", testguest_image.start,
			     (size_t)(testguest_image.end - testguest_image.start), TEST_RAM, cmd, arg,
			     arg2, err, sizeof(err));

	if (r == -ENODEV || (r == -EOPNOTSUPP && !strncmp(err, "no EPT:", 7))) {
		ktest_skip("%s", err);
		return false;
	}
	return CHECK(r == 0, "guest_create: %s (%s)", err, errno_name(r));
}

static inline bool test_guest_add_ram(struct guest *g, uint64_t gpa, uint64_t size, int level,
				      unsigned flags, uint64_t skew)
{
	char err[200];
	int r = vm_add_ram(&g->vm, gpa, size, level, flags, skew, err, sizeof(err));

	return CHECK(r == 0, "vm_add_ram: %s (%s)", err, errno_name(r));
}

/* Run until the next HC_YIELD; true if it yielded @want. */
static inline bool test_guest_run_to_yield(struct guest *g, long want)
{
	enum vcpu_stop s = guest_run(g);

	return CHECK(s == STOP_YIELD && g->vcpu.exit_code == want,
		     "expected a yield of %ld, got %s (%s) value %ld", want, vcpu_stop_name(s),
		     g->vcpu.stop_reason, g->vcpu.exit_code);
}

/* Run to the end; true if the guest exited through HC_EXIT with code 0. */
static inline bool test_guest_run_ok(struct guest *g)
{
	enum vcpu_stop s = guest_run(g);

	return CHECK(s == STOP_EXIT && g->vcpu.exit_code == 0, "guest stopped: %s (%s), code %ld",
		     vcpu_stop_name(s), g->vcpu.stop_reason, g->vcpu.exit_code);
}

#endif
