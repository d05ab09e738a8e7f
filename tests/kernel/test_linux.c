/*
 * A stock Linux kernel as a guest (issue 24): Debian's cloud kernel and the
 * busybox initramfs of scripts/linux-guest.sh, given to this image as the
 * multiboot2 modules "linux" and "linux-initrd" (Makefile: the
 * minihv-linux-tests images; an image without them skips these tests, and
 * scripts/test.sh fails a skip in those that have them). The initramfs's
 * /init runs /etc/minihv/NAME.sh for minihv.run=NAME and powers off, which
 * stops vCPU 0 with exit code 0; the tests read the script's verdict on
 * the guest's console (pc->watch).
 *  - linux_boot_check: uname, /proc/cpuinfo, ls /proc ("minihv-check: ok").
 *  - linux_shell: busybox's shell answers a command line typed into COM1.
 *  - linux_smp: linux_boot_check with 2 vCPUs (ACPI MADT, INIT/SIPI, IPIs).
 *  - linux_e2e: the mission's end-to-end test. The guest forks and execs
 *    1000+ processes and writes, reads back and checksums a 64 MiB tmpfs
 *    file while another CPU runs the host's changes against its RAM
 *    (tests/kernel/linux_mix.c), each followed by the coherence check.
 * Every run is bounded in TSC time by a watcher on another CPU, which ends
 * the guest (pc->over) and fails the test.
 */
#include "tests/kernel/guest_util.h"
#include "tests/kernel/linux_mix.h"
#include "tests/kernel/mix_util.h"
#include "boot/run_guest.h"
#include "virt/platform.h"

#define LINUX_RAM (256ULL << 20)
#define LINUX_CMDLINE "console=ttyS0 panic=-1 reboot=k quiet minihv.run="
/*
 * Measured under QEMU TCG on 2 busy cores: check 4 s (shadow 7 s), e2e
 * 68-91 s with the mix (57 s without), 105-121 s on shadow paging.
 */
#define LINUX_CHECK_SECS 120
#define LINUX_E2E_SECS 300
/* The mix's pages: above the low 16 MiB (minihv's tables, the BIOS area), all of RAM. */
#define MIX_LO (16ULL << 20)
#define MIX_SEED 0x5eed0024ULL
/*
 * The mix's pace: a change (and its check) at most every MIX_PACE times
 * what the last one took, and MIX_GAP_MS apart. Flat out, the guest spent
 * its time retrying faults on pages the next change had already taken
 * (2.1 million retries, e2e 3.5 times slower under QEMU).
 */
#define MIX_PACE 4
#define MIX_GAP_MS 20 /* 10 ms: 770 changes and e2e 77-98 s (NPT) in make test; too dear */
/* The watcher's timer: about 1 ms at QEMU's 1 GHz APIC clock (its rate matters little). */
#define WATCHER_TICK 0x100000u
/* Kicks while the watcher ends a guest: every 10 ms. */
#define STOP_KICK_MS 10

struct linux_image {
	const void *kernel, *initrd;
	size_t kernel_len, initrd_len;
};

/* The guest and what runs beside it: one Linux guest at a time. */
static struct linux_run {
	struct guest g;
	struct guest_vcpu ap;
	struct linux_mix mix;
	bool mixing;            /* the watcher runs the mix too */
	uint64_t deadline;      /* host TSC */
	bool over;              /* vCPU 0 has stopped: the watcher returns */
	bool timed_out, mix_failed;
	uint64_t resumes;       /* runs resumed after a write to a page the mix froze */
} lr;

static bool linux_image(struct linux_image *li)
{
	const struct boot_module *k = boot_find_module(&boot_info, "linux");
	const struct boot_module *rd = boot_find_module(&boot_info, "linux-initrd");

	if (!k && !rd) {
		ktest_skip("no Linux kernel in this image: the modules 'linux' and 'linux-initrd' "
			   "come with minihv-linux-tests.iso (make test)");
		return false;
	}
	if (!CHECK(k && rd, "module '%s' given without '%s'", k ? "linux" : "linux-initrd",
		   k ? "linux-initrd" : "linux"))
		return false;
	*li = (struct linux_image){ (const void *)k->start, (const void *)rd->start,
				    (size_t)(k->end - k->start), (size_t)(rd->end - rd->start) };
	return true;
}

/* Create the guest running /etc/minihv/@script.sh with @ncpus vCPUs. */
static bool linux_create(const char *script, unsigned ncpus, const char *watch)
{
	struct linux_image li;
	char cmd[128], err[300] = "";

	if (!linux_image(&li))
		return false;
	memset(&lr, 0, sizeof(lr));
	ksnprintf(cmd, sizeof(cmd), LINUX_CMDLINE "%s", script);
	int r = guest_create_linux(&lr.g, "linux", li.kernel, li.kernel_len, LINUX_RAM, cmd,
				   li.initrd, li.initrd_len, ncpus, false, err, sizeof(err));
	if (r == -ENODEV || r == -EOPNOTSUPP) {
		ktest_skip("%s", err);
		return false;
	}
	if (!CHECK(r == 0, "guest_create_linux: %s (%s)", err, errno_name(r)))
		return false;
	/* Bounded by the watcher's deadline, not by exit counts or idle slices. */
	lr.g.vcpu.exits_left = ~0ULL;
	lr.g.vcpu.timer_slices_left = ~0ULL;
	lr.g.pc.watch = watch;
	return true;
}

/* End the guest from another CPU: vCPU 0 stops at its next entry (virt/pc.c). */
static void stop_guest(uint64_t *next_kick)
{
	if (rdtsc() < *next_kick)
		return;
	__atomic_store_n(&lr.g.pc.over, true, __ATOMIC_RELEASE);
	smp_kick(lr.g.vcpu.cpu);
	*next_kick = rdtsc() + tsc_khz * STOP_KICK_MS;
}

/*
 * The watcher, on a CPU of its own until vCPU 0 stopped: it ends a guest
 * that runs past its deadline, and with lr.mixing runs the mix, one change
 * at a time, ending the guest at the first incoherence.
 */
static void watcher(void *arg)
{
	uint64_t next_kick = 0, next_change = 0;
	bool stopping = false;

	(void)arg;
	/*
	 * Between changes it sleeps (an emulator's CPU thread then idles, for
	 * the runs beside it), woken by its own timer or by an IPI (a shootdown).
	 */
	lapic_timer_periodic(WATCHER_TICK);
	while (!__atomic_load_n(&lr.over, __ATOMIC_ACQUIRE)) {
		uint64_t now = rdtsc();

		smp_poll_calls(); /* a host TLB shootdown waits for every CPU */
		if (!stopping && now >= lr.deadline)
			stopping = lr.timed_out = true;
		if (!stopping && lr.mixing && now >= next_change) {
			if (!linux_mix_step(&lr.mix))
				stopping = lr.mix_failed = true;
			uint64_t busy = rdtsc() - now;
			next_change = now + MAX(busy * MIX_PACE, tsc_khz * MIX_GAP_MS);
		}
		if (stopping)
			stop_guest(&next_kick);
		cpu_wait_interrupt();
	}
	lapic_timer_periodic(0);
}

/*
 * Run vCPU 0 here to its stop, the watcher on @cpu (none: ~0u, the exit
 * budget bounds it then). A write the mix froze stops it
 * (STOP_MEMORY_FAULT) until the mix has undone that: it is resumed.
 */
static enum vcpu_stop linux_run(unsigned cpu, unsigned secs)
{
	enum vcpu_stop s;

	lr.deadline = rdtsc() + tsc_khz * 1000 * secs;
	if (cpu != ~0u && !CHECK(smp_run_on(cpu, watcher, NULL) == 0, "CPU %u is busy", cpu))
		return STOP_ENTRY_FAIL;
	if (cpu == ~0u)
		lr.g.vcpu.exits_left = 50ULL * 1000 * 1000;
	while ((s = guest_run(&lr.g)) == STOP_MEMORY_FAULT) {
		lr.resumes++;
		for (int i = 0; i < 1000; i++) {
			smp_poll_calls();
			hal_cpu_relax();
		}
		vcpu_resume(&lr.g.vcpu);
	}
	__atomic_store_n(&lr.over, true, __ATOMIC_RELEASE);
	if (cpu != ~0u)
		smp_work_wait(cpu);
	CHECK(!lr.timed_out, "the guest ran past %u s: stopped (its last console line is above)",
	      secs);
	return s;
}

/* vCPU 0 powered the guest off (exit code 0) and the script printed @want (a prefix). */
static bool linux_passed(enum vcpu_stop s, const char *want)
{
	bool ok = CHECK(s == STOP_EXIT && lr.g.vcpu.exit_code == 0 && !lr.timed_out,
			"guest stopped: %s (%s), code %ld", vcpu_stop_name(s),
			lr.g.vcpu.stop_reason, lr.g.vcpu.exit_code);

	return CHECK(lr.g.pc.watch_hits == 1 && !strncmp(lr.g.pc.watched, want, strlen(want)),
		     "the script printed %u '%s' lines, the last '%s'; expected '%s'",
		     lr.g.pc.watch_hits, lr.g.pc.watch, lr.g.pc.watched, want) && ok;
}

static void linux_print_stats(const char *test)
{
	const struct vm_stats *st = &lr.g.vm.stats;
	const struct vcpu *v = &lr.g.vcpu;

	/* (Not refaults_max: every local APIC access is a fault on one page.) */
	printk("# %s: %llu exits, %llu faults (%llu spurious), %llu retries (%llu unlocked); "
	       "%llu zaps in %llu invalidations, %llu flushes (INVEPT/ASID), %llu remote kicks, "
	       "%llu flushes on entry; %llu host fault-ins, %llu NUMA faults, %llu resumes after "
	       "frozen writes\n", test,
	       (unsigned long long)v->stats.exits_total, (unsigned long long)st->ept_violations,
	       (unsigned long long)st->ept_spurious, (unsigned long long)st->ept_retries,
	       (unsigned long long)st->ept_retries_unlocked, (unsigned long long)st->ept_zaps,
	       (unsigned long long)st->invalidations, (unsigned long long)st->invept,
	       (unsigned long long)st->remote_kicks, (unsigned long long)v->local_flushes,
	       (unsigned long long)st->host_faultins, (unsigned long long)st->numa_faults,
	       (unsigned long long)lr.resumes);
	if (lr.g.vm.shadow) {
		char prefix[48];

		ksnprintf(prefix, sizeof(prefix), "# %s: ", test);
		vm_print_shadow_stats(&lr.g.vm, prefix);
	}
}

/* The final check: every leaf maps the host's frame (with shadow paging, the auditor too). */
static void linux_coherent(void)
{
	char why[200];
	long bad = mix_incoherent(&lr.g.vm, why, sizeof(why));

	CHECK(bad == 0, "%ld leaves map another frame than the host: %s", bad, why);
}

static unsigned other_cpu(unsigned skip)
{
	unsigned cpus[2];
	unsigned n = smp_other_cpus(cpus, 2);

	return n > skip ? cpus[skip] : ~0u;
}

KTEST(linux_boot_check)
{
	if (!linux_create("check", 1, "minihv-check: "))
		return;
	enum vcpu_stop s = linux_run(other_cpu(0), LINUX_CHECK_SECS);

	linux_passed(s, "minihv-check: ok");
	linux_coherent();
	linux_print_stats("linux_boot_check");
	guest_destroy(&lr.g);
}

/*
 * The interactive shell (make run-linux): no script, so /init starts
 * busybox init and a shell on ttyS0; the test types a command line into
 * COM1 once the shell's banner is out (pc->input: what the host's serial
 * line would bring) and poweroff. Typed bytes reach the guest through the
 * UART's receive FIFO and IRQ 4; the answer comes back through the tty.
 */
KTEST(linux_shell)
{
	static const char typed[] =
		"echo \"minihv-shell: $((6 * 7)) $(uname -s) $(grep -c ^processor /proc/cpuinfo)"
		" $(ls /proc | grep -c ^meminfo)\"\npoweroff\n";

	if (!linux_create("shell", 1, "minihv-shell: "))
		return;
	lr.g.pc.input = typed;
	lr.g.pc.input_gate = "built-in shell (ash)";
	enum vcpu_stop s = linux_run(other_cpu(0), LINUX_CHECK_SECS);

	linux_passed(s, "minihv-shell: 42 Linux 1 1");
	CHECK(!*lr.g.pc.input, "%zu typed bytes not taken", strlen(lr.g.pc.input));
	linux_print_stats("linux_shell");
	guest_destroy(&lr.g);
}

/* Two vCPUs: vCPU 1 on another CPU waits for INIT and SIPI (boot/run_guest.c's way). */
KTEST(linux_smp)
{
	char err[200];
	unsigned ap_cpu = other_cpu(0);

	if (ap_cpu == ~0u) {
		ktest_skip("one CPU online: vCPU 1 needs a CPU of its own");
		return;
	}
	if (!linux_create("check", 2, "minihv-check: "))
		return;
	int r = guest_start_vcpu(&lr.g, &lr.ap, 1, 2, ap_cpu, 0, 0, 0, err, sizeof(err));
	if (!CHECK(r == 0, "guest_start_vcpu: %s (%s)", err, errno_name(r)))
		goto out;
	enum vcpu_stop s = guest_wait_vcpu_ready(&lr.ap) ? STOP_ENTRY_FAIL
						       : linux_run(other_cpu(1), LINUX_CHECK_SECS);
	CHECK(!lr.ap.err, "vCPU 1: %s", lr.ap.why);
	linux_passed(s, "minihv-check: ok");
	__atomic_store_n(&lr.g.pc.over, true, __ATOMIC_RELEASE);
	smp_kick(ap_cpu);
	guest_wait_vcpu(&lr.ap);
	CHECK(lr.ap.stop == STOP_EXIT || lr.ap.stop == STOP_INIT, "vCPU 1 stopped: %s (%s)",
	      vcpu_stop_name(lr.ap.stop), lr.ap.vcpu.stop_reason);
	linux_coherent();
	linux_print_stats("linux_smp");
out:
	guest_destroy(&lr.g);
}

KTEST(linux_e2e)
{
	unsigned cpu = other_cpu(0);
	char counts[300];

	if (cpu == ~0u) {
		ktest_skip("one CPU online: the host's changes need a CPU beside the guest's");
		return;
	}
	if (!linux_create("e2e", 1, "minihv-e2e: forks="))
		return;
	linux_mix_init(&lr.mix, &lr.g.vm, MIX_SEED, MIX_LO, LINUX_RAM);
	lr.mixing = true;
	printk("# linux_e2e: %s, the mix on CPU %u, seed %#llx\n",
	       lr.g.vm.shadow ? "shadow paging" : "EPT/NPT", cpu, (unsigned long long)MIX_SEED);
	uint64_t t0 = rdtsc();
	enum vcpu_stop s = linux_run(cpu, LINUX_E2E_SECS);
	uint64_t ms = (rdtsc() - t0) / tsc_khz;

	/* A FAIL line is not watched: it shows above, and no "forks=" line came. */
	linux_passed(s, "minihv-e2e: forks=");
	CHECK(strstr(lr.g.pc.watched, " ok") && !strstr(lr.g.pc.watched, "FAIL"),
	      "the script's verdict: '%s'", lr.g.pc.watched);
	CHECK(!lr.mix_failed, "after change %lu: %s", lr.mix.ops, lr.mix.why);
	CHECK(lr.mix.ops > 0, "the mix made no change");
	linux_coherent();
	linux_mix_counts(&lr.mix, counts, sizeof(counts));
	printk("# linux_e2e: %lu host changes in %llu ms (done/refused: %s; %lu picks found no "
	       "page), coherence checks %llu ms\n", lr.mix.ops, (unsigned long long)ms, counts,
	       lr.mix.no_page, (unsigned long long)(lr.mix.check_tsc / tsc_khz));
	linux_print_stats("linux_e2e");
	guest_destroy(&lr.g);
}
