/*
 * The PC platform a multiboot1 guest finds (issue 23, virt/platform.h),
 * tested through a guest written as third-party ones are: guest/pc/
 * (entered in 32-bit mode, it turns on long mode itself, loads its own GDT
 * and IDT, then runs the check its command line names). Each test boots it
 * with another command line and reads its verdict from isa-debug-exit:
 * status 1 passed, (N << 1) | 1 means its check N failed (its COM1 line
 * "FAIL: ..." above names it). VMX runs a 32-bit entry with unrestricted
 * guest only: without it (Core 2), and wherever PC guests are refused
 * (-EOPNOTSUPP), the tests skip, named; so do the two-vCPU ones with one
 * CPU online.
 */
#include "tests/kernel/guest_util.h"
#include "boot/mb1.h"
#include "virt/platform.h"

extern const char _binary_pcguest_mb1_start[], _binary_pcguest_mb1_end[];

#define PC_RAM (8ULL << 20)
#define PC_MSR_UNKNOWN 0x12345678 /* guest/pc/pcguest.c's values */
#define PC_PORT_UNKNOWN 0x5a0
#define PC_PORT_ACCESSES 5        /* IN byte, word, dword, OUT byte, IN byte */

static size_t pcguest_len(void)
{
	return (size_t)(_binary_pcguest_mb1_end - _binary_pcguest_mb1_start);
}

/* Create the guest running @check with @ncpus vCPUs. False: skipped or failed. */
static bool pc_create(struct guest *g, const char *check, unsigned ncpus, bool strict_io)
{
	char cmd[96], err[300] = "";

	ksnprintf(cmd, sizeof(cmd), "%s ram=%llu cpus=%u", check, (unsigned long long)PC_RAM,
		  ncpus);
	int r = guest_create_pc(g, "pcguest", _binary_pcguest_mb1_start, pcguest_len(), PC_RAM,
				cmd, NULL, 0, ncpus, strict_io, err, sizeof(err));

	if (r == -ENODEV || r == -EOPNOTSUPP) {
		ktest_skip("%s", err);
		return false;
	}
	return CHECK(r == 0, "guest_create_pc: %s (%s)", err, errno_name(r));
}

static bool pc_passed(struct guest *g, enum vcpu_stop s)
{
	return CHECK(s == STOP_EXIT && g->pc.debug_exit && g->vcpu.exit_code == 1,
		     "guest stopped: %s (%s), status %ld: its check %ld failed",
		     vcpu_stop_name(s), g->vcpu.stop_reason, g->vcpu.exit_code,
		     g->vcpu.exit_code >> 1);
}

/* Run a one-vCPU guest's @check to its verdict. */
static void pc_check(const char *check)
{
	struct guest g;

	if (!pc_create(&g, check, 1, false))
		return;
	pc_passed(&g, guest_run(&g));
	guest_destroy(&g);
}

/* The accesses counted for @id in @c (@n entries), 0 if none. */
static uint64_t pc_counted(const struct pc_counter *c, unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (c[i].id == id)
			return c[i].n;
	return 0;
}

/*
 * vCPU 1 of a two-vCPU guest on another CPU, waiting for INIT and SIPI
 * (boot/run_guest.c's run_pc_guest() does the same for the module guest).
 */
static struct guest_vcpu pc_ap;

static bool pc_start_ap(struct guest *g)
{
	unsigned cpu;
	char err[200];

	if (!CHECK(smp_other_cpus(&cpu, 1) == 1, "no other CPU to run vCPU 1"))
		return false;
	int r = guest_start_vcpu(g, &pc_ap, 1, 2, cpu, 0, 0, 0, err, sizeof(err));

	if (!CHECK(r == 0, "guest_start_vcpu: %s (%s)", err, errno_name(r)))
		return false;
	if (!CHECK(!guest_wait_vcpu_ready(&pc_ap), "vCPU 1: %s (%s)", pc_ap.why, errno_name(pc_ap.err))) {
		guest_wait_vcpu(&pc_ap);
		return false;
	}
	return true;
}

/* vCPU 0 stopped: the AP stops too; it must not have failed. */
static void pc_stop_ap(struct guest *g)
{
	__atomic_store_n(&g->pc.over, true, __ATOMIC_RELEASE);
	smp_kick(pc_ap.cpu);
	guest_wait_vcpu(&pc_ap);
	CHECK(pc_ap.stop == STOP_EXIT || pc_ap.stop == STOP_INIT, "vCPU 1 stopped: %s (%s)",
	      vcpu_stop_name(pc_ap.stop), pc_ap.vcpu.stop_reason);
}

/* A guest of @ncpus vCPUs (1 or 2) running @check. */
static void pc_check_smp(const char *check, unsigned ncpus)
{
	struct guest g;

	if (!pc_create(&g, check, ncpus, false))
		return;
	if (ncpus == 1 || pc_start_ap(&g)) {
		pc_passed(&g, guest_run(&g));
		if (ncpus > 1)
			pc_stop_ap(&g);
	}
	guest_destroy(&g);
}

/* 32-bit entry: EAX, EBX's information (mem_upper, command line, mmap), CR0, segments. */
KTEST(pc_entry)
{
	pc_check("entry");
}

KTEST(pc_fwcfg)
{
	struct guest g;

	/* Two vCPUs said, one run: fw_cfg reports the count given, whatever runs. */
	if (!pc_create(&g, "fwcfg", 2, false))
		return;
	pc_passed(&g, guest_run(&g));
	guest_destroy(&g);
}

/* Unknown MSRs #GP (the guest's handler skips them) and are counted; EFER.SCE; LSTAR. */
KTEST(pc_msr_gp)
{
	struct guest g;

	if (!pc_create(&g, "msr_gp", 1, false))
		return;
	if (pc_passed(&g, guest_run(&g))) {
		CHECK_EQ(pc_counted(g.pc.msrs, g.pc.nmsrs, PC_MSR_UNKNOWN), 2);
		CHECK_EQ(pc_counted(g.pc.msrs, g.pc.nmsrs, MSR_LSTAR), 1);
		CHECK_EQ(g.pc.nmsrs, 2);
	}
	guest_destroy(&g);
}

/* All ones from a port nobody emulates, counted; strict_io stops the guest there instead. */
KTEST(pc_unknown_port)
{
	struct guest g;

	if (!pc_create(&g, "unknown_port", 1, false))
		return;
	if (pc_passed(&g, guest_run(&g))) {
		CHECK_EQ(pc_counted(g.pc.ports, g.pc.nports, PC_PORT_UNKNOWN), PC_PORT_ACCESSES);
		CHECK_EQ(g.pc.nports, 1);
	}
	guest_destroy(&g);
	if (!pc_create(&g, "unknown_port", 1, true))
		return;
	enum vcpu_stop s = guest_run(&g);

	CHECK(s == STOP_UNHANDLED && strstr(g.vcpu.stop_reason, "port 0x5a0"),
	      "strict_io: stopped %s (%s)", vcpu_stop_name(s), g.vcpu.stop_reason);
	CHECK_EQ(g.pc.nports, 0);
	guest_destroy(&g);
}

/* The hypervisor leaf's signature and TSC rate; x2APIC, TSC-deadline, hypervisor bits. */
KTEST(pc_cpuid)
{
	pc_check("cpuid");
}

/* xAPIC one-shot and periodic timers wake HLT; TSC-deadline in x2APIC mode. */
KTEST(pc_lapic_timer)
{
	pc_check("lapic_timer");
}

/* A self-IPI taken and EOIed; with two CPUs online, an IPI to vCPU 1 and its answer. */
KTEST(pc_ipi_self)
{
	if (nr_cpus_online < 2)
		printk("# pc_ipi_self: one CPU online: the self-IPI only, no IPI to another vCPU\n");
	pc_check_smp("ipi", nr_cpus_online < 2 ? 1 : 2);
}

/* INIT, SIPI, SIPI: vCPU 1 starts in real mode at the trampoline and reaches long mode. */
KTEST(pc_init_sipi)
{
	if (nr_cpus_online < 2) {
		ktest_skip("one CPU online: a second vCPU needs a CPU of its own");
		return;
	}
	pc_check_smp("init_sipi", 2);
}

/* HLT sleeps until the timer fires; with interrupts off and nothing armed, it stops the guest. */
KTEST(pc_hlt_sleep)
{
	struct guest g;

	if (!pc_create(&g, "hlt_sleep", 1, false))
		return;
	enum vcpu_stop s = guest_run(&g);

	CHECK(s == STOP_HLT && strstr(g.vcpu.stop_reason, "interrupts off"),
	      "guest stopped: %s (%s), status %ld", vcpu_stop_name(s), g.vcpu.stop_reason,
	      g.vcpu.exit_code);
	CHECK_EQ(g.vcpu.halts, 2);
	guest_destroy(&g);
}

/* `outb 5, 0xf4`: QEMU's exit status (5 << 1) | 1. */
KTEST(pc_debug_exit)
{
	struct guest g;

	if (!pc_create(&g, "debug_exit", 1, false))
		return;
	enum vcpu_stop s = guest_run(&g);

	CHECK(s == STOP_EXIT && g.pc.debug_exit, "guest stopped: %s (%s)", vcpu_stop_name(s),
	      g.vcpu.stop_reason);
	CHECK_EQ(g.vcpu.exit_code, (5 << 1) | 1);
	guest_destroy(&g);
}

/* guest_create_pc() refuses @img with -EINVAL and a message holding @want (any CPU). */
static void pc_refused(const void *img, size_t len, const char *want)
{
	struct guest g;
	char err[300] = "";
	int r = guest_create_pc(&g, "bad", img, len, PC_RAM, "", NULL, 0, 1, false, err,
				sizeof(err));

	if (r == 0)
		guest_destroy(&g);
	CHECK(r == -EINVAL && strstr(err, want), "want -EINVAL and '%s': %s (%s)", want, err,
	      errno_name(r));
}

/* Bad images, made from the good one: refused before anything needs VMX or SVM. */
KTEST(pc_bad_image)
{
	static uint8_t img[MB1_SEARCH];
	size_t len = MIN(pcguest_len(), sizeof(img));

	if (!CHECK(pcguest_len() > sizeof(img), "the guest is %zu bytes", pcguest_len()))
		return;
	memcpy(img, _binary_pcguest_mb1_start, len);
	img[4] = 2; /* EI_CLASS: ELFCLASS64 */
	pc_refused(img, len, "ELF class 2");
	img[4] = 1;
	/* Truncated: the header is there, the first segment's bytes are not. */
	pc_refused(img, len, "past the file");
	for (size_t off = 0; off + 4 <= len; off += 4) {
		uint32_t w;

		memcpy(&w, img + off, 4);
		if (w == MB1_HEADER_MAGIC)
			memset(img + off, 0, 4);
	}
	pc_refused(img, len, "no multiboot1 header");
}
