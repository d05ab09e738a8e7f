/*
 * Running the guest given to GRUB as a multiboot2 module named "guest"
 * (`module2 /boot/guest.bin guest` in grub.cfg), with guest_mem= of RAM.
 */
#include "boot/bootinfo.h"
#include "boot/options.h"
#include "boot/run_guest.h"
#include "boot/loader.h"
#include "boot/mb1.h"
#include "lib/lib.h"

static struct guest module_guest;
static struct guest_vcpu module_vcpus[VM_MAX_VCPUS - 1];

const struct boot_module *boot_find_module(const struct boot_info *bi, const char *name)
{
	size_t n = strlen(name);

	for (unsigned i = 0; i < bi->nmodules; i++) {
		const char *s = bi->modules[i].name;

		if (!strncmp(s, name, n) && (s[n] == '\0' || s[n] == ' '))
			return &bi->modules[i];
	}
	return NULL;
}

const struct boot_module *find_guest_module(const struct boot_info *bi)
{
	return boot_find_module(bi, "guest");
}

/*
 * watchdog=: every vCPU of the module guest (virt/watchdog.c; about 4 ms a
 * slice). A multiboot1 guest has none unless asked: it is a kernel that
 * computes as long as it likes (kvm-unit-tests' sieve runs minutes without
 * an exit) and ends by port 0xf4.
 */
void guest_module_watchdog(struct vcpu *v)
{
	if (kopts.watchdog_off || (v->pc && !kopts.watchdog_secs)) {
		v->timer_slices_left = ~0ULL;
		v->exits_left = ~0ULL;
	} else if (kopts.watchdog_secs) {
		v->timer_slices_left = (uint64_t)kopts.watchdog_secs * 250;
	}
}

static struct guest_vcpu pc_aps[VM_MAX_VCPUS - 1];

/*
 * A multiboot1 kernel: the whole module string, "guest" first, is its
 * command line, as GRUB and QEMU give it (a kvm-unit-tests test reads its
 * arguments from argv[1] on); a "guest-env" module is its one module.
 */
static int create_mb1(struct guest *g, const struct boot_info *bi, const struct boot_module *m,
		      uint64_t ram, unsigned n, char *err, size_t errlen)
{
	const struct boot_module *env = boot_find_module(bi, "guest-env");
	struct mb1_module mod = { .string = "guest-env" };

	if (env) {
		mod.data = (const void *)env->start;
		mod.len = (size_t)(env->end - env->start);
	}
	printk("minihv: multiboot1 guest, command line '%s'%s, %u vCPU%s, %llu MiB\n", m->name,
	       env ? ", with its environment module" : "", n, n == 1 ? "" : "s",
	       (unsigned long long)ram >> 20);
	return guest_create_pc(g, "guest", (const void *)m->start, (size_t)(m->end - m->start), ram,
			       m->name, env ? &mod : NULL, env ? 1 : 0, n, kopts.strict_io, err,
			       errlen);
}

/*
 * A Linux bzImage: the module string past "guest" is the kernel's command
 * line; a "guest-initrd" module is its initrd.
 */
static int create_linux(struct guest *g, const struct boot_info *bi,
			const struct boot_module *m, uint64_t ram, unsigned n, char *err,
			size_t errlen)
{
	const struct boot_module *rd = boot_find_module(bi, "guest-initrd");
	const char *cmdline = m->name + strlen("guest");

	while (*cmdline == ' ')
		cmdline++;
	printk("minihv: Linux guest%s, %u vCPU%s, %llu MiB\n", rd ? " with an initrd" : "", n,
	       n == 1 ? "" : "s", (unsigned long long)ram >> 20);
	return guest_create_linux(g, "guest", (const void *)m->start, (size_t)(m->end - m->start),
				  ram, cmdline, rd ? (const void *)rd->start : NULL,
				  rd ? (size_t)(rd->end - rd->start) : 0, n, kopts.strict_io, err,
				  errlen);
}

/*
 * A guest on the PC platform (a multiboot1 kernel or Linux): vCPU 0 here,
 * the others each on a CPU of its own, waiting for INIT and SIPI.
 */
static int run_pc_guest(const struct boot_info *bi, const struct boot_module *m,
			enum guest_format fmt, bool *pass)
{
	struct guest *g = &module_guest;
	unsigned n = kopts.guest_vcpus, started = 0, cpus[VM_MAX_VCPUS - 1];
	uint64_t ram = kopts.guest_mem_given ? kopts.guest_mem
		     : fmt == GUEST_BZIMAGE ? LINUX_DEFAULT_RAM : PC_DEFAULT_RAM;
	char err[300];

	if (n > nr_cpus_online) {
		printk("minihv: cannot run the guest: guest_vcpus=%u, but %u CPU%s online "
		       "(one vCPU per CPU)\n", n, nr_cpus_online, nr_cpus_online == 1 ? " is" : "s are");
		return RUN_GUEST_PC_FAILED;
	}
	int r = fmt == GUEST_BZIMAGE ? create_linux(g, bi, m, ram, n, err, sizeof(err))
				     : create_mb1(g, bi, m, ram, n, err, sizeof(err));
	if (r) {
		printk("minihv: cannot run the guest: %s\n", err);
		return RUN_GUEST_PC_FAILED;
	}
	g->pc.console_raw = kopts.console_raw;
	g->pc.console_live = kopts.console_live;
	guest_module_watchdog(&g->vcpu);
	smp_other_cpus(cpus, n - 1);
	for (; started < n - 1; started++) {
		struct guest_vcpu *gv = &pc_aps[started];

		if (guest_start_vcpu(g, gv, started + 1, n, cpus[started], 0, 0, 0, err,
				     sizeof(err))) {
			printk("minihv: vCPU %u not started: %s\n", started + 1, err);
			break;
		}
		/*
		 * It is created as a PC's AP waits, in real mode (boot/smp_guest.c):
		 * a backend that cannot enter one says so now, not at the SIPI.
		 */
		if (guest_wait_vcpu_ready(gv)) {
			printk("minihv: cannot run the guest with %u vCPUs: vCPU %u, which starts "
			       "in real mode (INIT, SIPI): %s; guest_vcpus=1 runs it\n", n,
			       started + 1, gv->why);
			guest_wait_vcpu(gv); /* its CPU is done with it before the guest goes */
			break;
		}
	}
	if (started != n - 1)
		vcpu_stop(&g->vcpu, STOP_ENTRY_FAIL, "not run: vCPU %u did not start", started + 1);
	enum vcpu_stop s = started == n - 1 ? guest_run(g) : STOP_ENTRY_FAIL;
	/*
	 * Port 0xf4 set exit_code to (code << 1) | 1 already; HC_EXIT's code is
	 * given the same form. Any other stop is minihv's: status 2, which no
	 * guest code gives, so no runner reads it as the guest's verdict. A
	 * Linux guest's clean ends (poweroff, reset) are status 0, as a
	 * machine's shutdown is.
	 */
	bool is_linux = fmt == GUEST_BZIMAGE;
	long code = g->pc.debug_exit || is_linux ? g->vcpu.exit_code : (g->vcpu.exit_code << 1) | 1;
	int status = s == STOP_EXIT ? (int)(code & 0xff) : RUN_GUEST_PC_FAILED;
	bool passed = s == STOP_EXIT && code == (is_linux ? 0 : 1);

	printk("minihv: guest stopped: %s\n", g->vcpu.stop_reason);
	__atomic_store_n(&g->pc.over, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < started; i++) {
		smp_kick(pc_aps[i].cpu);
		guest_wait_vcpu(&pc_aps[i]);
		if (pc_aps[i].err || (pc_aps[i].stop != STOP_EXIT && pc_aps[i].stop != STOP_INIT)) {
			printk("minihv: vCPU %u failed: %s\n", i + 1,
			       pc_aps[i].err ? pc_aps[i].why : vcpu_stop_name(pc_aps[i].stop));
			status = RUN_GUEST_PC_FAILED;
			passed = false;
		}
	}
	guest_print_stats(g);
	pc_print_stats(&g->pc, g->vm.name);
	guest_destroy(g);
	*pass = passed;
	return status;
}

int run_guest_module(const struct boot_info *bi, const struct boot_module *m, bool *pass)
{
	*pass = false;
	enum guest_format fmt;
	char ferr[200];

	if (guest_image_format((const void *)m->start, (size_t)(m->end - m->start), &fmt, ferr,
			       sizeof(ferr))) {
		printk("minihv: cannot run the guest: %s\n", ferr);
		return EXIT_FAIL;
	}
	if (fmt != GUEST_FLAT)
		return run_pc_guest(bi, m, fmt, pass);

	struct guest *g = &module_guest;
	char err[200];
	size_t len = (size_t)(m->end - m->start);

	bool kib = kopts.guest_mem & ((1ULL << 20) - 1); /* guest_mem=4100K is not "4 MiB" */

	printk("minihv: running guest module (%zu bytes) with %llu %s of RAM\n", len,
	       (unsigned long long)kopts.guest_mem >> (kib ? 10 : 20), kib ? "KiB" : "MiB");
	unsigned n = kopts.guest_vcpus, started = 1, cpus[VM_MAX_VCPUS - 1];

	if (n > nr_cpus_online) {
		printk("minihv: cannot run the guest: guest_vcpus=%u, but %u CPU%s online "
		       "(one vCPU per CPU)\n", n, nr_cpus_online, nr_cpus_online == 1 ? " is" : "s are");
		return EXIT_FAIL;
	}
	if (n * GUEST_VCPU_STACK + len + GUEST_LOAD > kopts.guest_mem) {
		printk("minihv: cannot run the guest: %u vCPU stacks of %llu KiB and the image do "
		       "not fit in guest_mem\n", n, (unsigned long long)GUEST_VCPU_STACK >> 10);
		return EXIT_FAIL;
	}
	int r = guest_create(g, "guest", (const void *)m->start, len, kopts.guest_mem, 0, 0, 0, err,
			     sizeof(err));
	if (r) {
		printk("minihv: cannot run the guest: %s\n", err);
		return EXIT_FAIL;
	}
	g->vcpu.regs.r9 = n; /* vCPU 0 of n */
	/* n <= nr_cpus_online (checked above): a CPU for every other vCPU. */
	smp_other_cpus(cpus, n - 1);
	for (; started < n; started++) {
		if (guest_start_vcpu(g, &module_vcpus[started - 1], started, n, cpus[started - 1], 0,
				     0, 0, err, sizeof(err))) {
			printk("minihv: vCPU %u not started: %s\n", started, err);
			break;
		}
	}
	/*
	 * Nothing acts on a module guest's memory while it is paused, so
	 * HC_YIELD is only a pause: it returns 0 (set in RAX when it exited)
	 * and the guest runs on (guest/ABI.md).
	 */
	enum vcpu_stop s;
	while ((s = guest_run(g)) == STOP_YIELD)
		vcpu_resume(&g->vcpu);
	printk("minihv: %s stopped: %s\n", n > 1 ? "vCPU 0" : "guest", g->vcpu.stop_reason);
	/* -1: vCPU 0 and every vCPU started passed. */
	int failed = s == STOP_EXIT && g->vcpu.exit_code == 0 ? -1 : 0;
	char why[160];

	ksnprintf(why, sizeof(why), "%s", g->vcpu.stop_reason);

	for (unsigned i = 1; i < started; i++) {
		struct guest_vcpu *gv = &module_vcpus[i - 1];

		guest_wait_vcpu(gv);
		const char *reason = gv->err ? gv->why : gv->vcpu.stop_reason;
		bool ok = !gv->err && gv->stop == STOP_EXIT && gv->vcpu.exit_code == 0;

		printk("minihv: vCPU %u stopped: %s\n", i, reason);
		printk("VM[%s]   vCPU %u: %llu exits\n", g->vm.name, i,
		       (unsigned long long)gv->vcpu.stats.exits_total);
		if (!ok && failed < 0) {
			failed = (int)i;
			ksnprintf(why, sizeof(why), "%s", reason);
		}
	}
	guest_print_stats(g);
	guest_destroy(g);
	*pass = failed < 0 && started == n;
	/* The last line before the status names the vCPU that failed (the lowest number). */
	if (!*pass && n > 1 && failed >= 0)
		printk("minihv: the guest failed: vCPU %d: %s\n", failed, why);
	else if (!*pass && n > 1)
		printk("minihv: the guest failed: vCPU %u of %u not started\n", started, n);
	return *pass ? EXIT_PASS : EXIT_FAIL;
}
