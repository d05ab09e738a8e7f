/*
 * Entry modes other than minihv's 64-bit one (virt/vcpu.h, issue 23): a
 * multiboot1 kernel's 32-bit protected mode with paging off, that turns on
 * long mode itself as kvm-unit-tests' cstart64.S does, and an AP's real
 * mode at its SIPI. The guest is guest/modeguest.asm; each part exits with
 * one bit per check that passed. VMX runs these modes with unrestricted
 * guest only: without it (Core 2) and under mmu=shadow they skip, named.
 * SVM runs them with nested paging, and under mmu=shadow too: paging off
 * on the shadow MMU's identity map, then the guest's own 4-level tables
 * (virt/shadow.c).
 */
#include "tests/kernel/guest_util.h"
#include "lib/kstring.h"

extern const char _binary_modeguest_bin_start[], _binary_modeguest_bin_end[];

/* guest/modeguest.asm's layout and values. */
#define MG_REAL_LEN 0x100     /* real16, at offset 0 */
#define MG_PAE32 0x80         /* pae32's offset */
#define MG_PAE32_RAN 0x9ae    /* its exit code where PAE paging without long mode runs */
#define MG_PROT32 0x100       /* prot32's offset */
#define MG_EBX 0x0badf00d
#define MB1_MAGIC 0x2badb002
#define MG_REAL_PAGE 0x8000   /* where real16 runs: SIPI vector 8 */
/* real16: CS << 16 | PE clear, IP 0 at entry, CS base = CS * 16. */
#define MG_REAL_OK(page) (((uint64_t)(page) >> 4) << 16 | 0x7)
/*
 * prot32: EAX, EBX, CR0 PE without PG at entry; CR0.PG reads back and
 * EFER.LMA set after MOV to CR0; 64-bit pushes and registers after the far
 * jump; LMA and PG clear again after paging off in compatibility mode.
 */
#define MG_P32_OK 0xff

static const char *const p32_checks[] = {
	"EAX = 0x2BADB002", "EBX", "CR0: PE without PG at entry", "CR0.PG reads back set",
	"EFER.LMA set by paging on", "64-bit pushes", "64-bit registers",
	"LMA and PG clear after paging off",
};

/*
 * A VM with TEST_RAM at GPA 0, the guest at 1 MiB and real16 at
 * MG_REAL_PAGE, and one vCPU entered as @e says. False: skipped or failed.
 */
static bool mode_guest_create(struct guest *g, const struct vcpu_entry *e)
{
	const struct vcpu_backend *be;
	struct mmu_caps mc;
	char err[200];
	size_t len = (size_t)(_binary_modeguest_bin_end - _binary_modeguest_bin_start);

	memset(g, 0, sizeof(*g));
	int r = hv_backend(&be, &mc, err, sizeof(err));
	if (r == -ENODEV || (r == -EOPNOTSUPP && !strncmp(err, "no EPT:", 7))) {
		ktest_skip("%s", err);
		return false;
	}
	if (!CHECK(r == 0, "hv_backend: %s (%s)", err, errno_name(r)))
		return false;
	r = vm_create(&g->vm, "modeguest", &mc, err, sizeof(err));
	if (!CHECK(r == 0, "vm_create: %s (%s)", err, errno_name(r)))
		return false;
	if (!test_guest_add_ram(g, 0, TEST_RAM, PT_LEVEL_4K, VM_RAM_LAZY, 0)) {
		vm_destroy(&g->vm);
		return false;
	}
	memcpy(vm_gpa_to_host(&g->vm, GUEST_LOAD, len, true), _binary_modeguest_bin_start, len);
	memcpy(vm_gpa_to_host(&g->vm, MG_REAL_PAGE, MG_REAL_LEN, true),
	       _binary_modeguest_bin_start, MG_REAL_LEN);
	r = vcpu_create(&g->vcpu, &g->vm, be, e, err, sizeof(err));
	/* No unrestricted guest (VMX without EPT, or with mmu=shadow): named skips. */
	if (r == -EOPNOTSUPP && (!strncmp(err, "no unrestricted guest", 21) || g->vm.shadow)) {
		ktest_skip("%s", err);
		vm_destroy(&g->vm);
		return false;
	}
	if (!CHECK(r == 0, "vcpu_create: %s (%s)", err, errno_name(r))) {
		vm_destroy(&g->vm);
		return false;
	}
	g->have_vcpu = true;
	return true;
}

static const struct vcpu_entry prot32_entry = {
	.mode = VCPU_ENTRY_PROT32, .rip = GUEST_LOAD + MG_PROT32, .rax = MB1_MAGIC, .rbx = MG_EBX,
};
static const struct vcpu_entry real_entry = { .mode = VCPU_ENTRY_REAL, .rip = MG_REAL_PAGE };

static const char *const real_checks[] = {
	"CR0.PE clear", "entered at IP 0", "CS base = CS * 16",
};

/* Run to HC_EXIT; true if the code is @want, else name each check that failed. */
static bool run_expect(struct guest *g, uint64_t want, const char *const *names, size_t n)
{
	enum vcpu_stop s = guest_run(g);

	if (!CHECK(s == STOP_EXIT, "guest stopped: %s (%s)", vcpu_stop_name(s),
		   g->vcpu.stop_reason))
		return false;
	uint64_t got = (uint64_t)g->vcpu.exit_code;

	for (size_t i = 0; i < n; i++)
		CHECK(((got >> i) & 1) || !((want >> i) & 1), "check %zu failed: %s (code %#llx)",
		      i, names[i], (unsigned long long)got);
	return CHECK_EQ(got, want);
}

static bool run_prot32(struct guest *g)
{
	return run_expect(g, MG_P32_OK, p32_checks, ARRAY_SIZE(p32_checks));
}

/* The code's high half is CS: the SIPI vector << 8. */
static bool run_real(struct guest *g)
{
	return run_expect(g, MG_REAL_OK(MG_REAL_PAGE), real_checks, ARRAY_SIZE(real_checks));
}

/* INIT+SIPI's reload (virt/vcpu.h), then run again: a stopped vCPU is runnable after it. */
static bool reset_to(struct guest *g, const struct vcpu_entry *e)
{
	char err[200];

	if (!CHECK(g->vcpu.be->reset, "the %s backend has no reset op", g->vcpu.be->name))
		return false;
	int r = g->vcpu.be->reset(&g->vcpu, e, err, sizeof(err));

	g->vcpu.stop = STOP_NONE;
	g->vcpu.stop_reason[0] = '\0';
	return CHECK(r == 0, "reset: %s (%s)", err, errno_name(r));
}

KTEST(guest_mode_prot32_to_long)
{
	struct guest g;

	if (!mode_guest_create(&g, &prot32_entry))
		return;
	run_prot32(&g);
	guest_destroy(&g);
}

KTEST(guest_mode_real)
{
	struct guest g;

	if (!mode_guest_create(&g, &real_entry))
		return;
	run_real(&g);
	guest_destroy(&g);
}

/*
 * One vCPU through both modes by reset: its state after long mode and an
 * exit (EFER, the IA-32e entry control, its launched VMCS) must not leak
 * into the next entry.
 */
KTEST(guest_mode_reset)
{
	struct guest g;

	if (!mode_guest_create(&g, &prot32_entry))
		return;
	if (run_prot32(&g) && reset_to(&g, &real_entry) && run_real(&g) &&
	    reset_to(&g, &prot32_entry))
		run_prot32(&g);
	guest_destroy(&g);
}

/*
 * 32-bit PAE paging without long mode: VMX with EPT would load the PDPTEs
 * from the VMCS on entry, which minihv does not emulate, so the vCPU stops
 * saying so; shadow paging does not build that mode and stops too. SVM
 * with nested paging runs it as a CPU does.
 */
KTEST(guest_mode_pae32)
{
	struct guest g;
	const struct vcpu_entry e = { .mode = VCPU_ENTRY_PROT32, .rip = GUEST_LOAD + MG_PAE32 };

	if (!mode_guest_create(&g, &e))
		return;
	enum vcpu_stop s = guest_run(&g);

	if (g.vcpu.be == &vmx_backend || g.vm.shadow) {
		CHECK_EQ(s, STOP_UNHANDLED);
		CHECK(strstr(g.vcpu.stop_reason, "PAE paging without long mode"), "reason: %s",
		      g.vcpu.stop_reason);
	} else {
		CHECK(s == STOP_EXIT && g.vcpu.exit_code == MG_PAE32_RAN,
		      "guest stopped: %s (%s), code %#lx", vcpu_stop_name(s), g.vcpu.stop_reason,
		      g.vcpu.exit_code);
	}
	guest_destroy(&g);
}
