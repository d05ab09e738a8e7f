/*
 * Running the guest given to GRUB as a multiboot2 module named "guest"
 * (`module2 /boot/guest.bin guest` in grub.cfg), with guest_mem= of RAM.
 */
#include "boot/bootinfo.h"
#include "boot/options.h"
#include "boot/run_guest.h"
#include "boot/loader.h"
#include "vmx/vmx.h"
#include "lib/lib.h"

static struct guest module_guest;
static struct guest_vcpu module_vcpus[VM_MAX_VCPUS - 1];

const struct boot_module *find_guest_module(const struct boot_info *bi)
{
	for (unsigned i = 0; i < bi->nmodules; i++)
		if (!strcmp(bi->modules[i].name, "guest"))
			return &bi->modules[i];
	return NULL;
}

int run_guest_module(const struct boot_module *m)
{
	struct guest *g = &module_guest;
	char err[200];
	size_t len = (size_t)(m->end - m->start);

	printk("minihv: running guest module (%zu bytes) with %llu MiB of RAM\n", len,
	       (unsigned long long)kopts.guest_mem >> 20);
	unsigned n = kopts.guest_vcpus, started = 1, cpus[VM_MAX_VCPUS - 1];

	if (n > nr_cpus_online) {
		printk("minihv: cannot run the guest: guest_vcpus=%u, but %u CPU%s online "
		       "(one vCPU per CPU)\n", n, nr_cpus_online, nr_cpus_online == 1 ? " is" : "s are");
		return -EINVAL;
	}
	if (n * GUEST_VCPU_STACK + len + GUEST_LOAD > kopts.guest_mem) {
		printk("minihv: cannot run the guest: %u vCPU stacks of %llu KiB and the image do "
		       "not fit in guest_mem\n", n, (unsigned long long)GUEST_VCPU_STACK >> 10);
		return -E2BIG;
	}
	int r = guest_create(g, "guest", (const void *)m->start, len, kopts.guest_mem, 0, 0, 0, err,
			     sizeof(err));
	if (r) {
		printk("minihv: cannot run the guest: %s\n", err);
		return r;
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
	printk("minihv: guest stopped: %s\n", g->vcpu.stop_reason);
	bool others_ok = started == n;
	for (unsigned i = 1; i < started; i++) {
		struct guest_vcpu *gv = &module_vcpus[i - 1];

		guest_wait_vcpu(gv);
		others_ok &= gv->stop == STOP_EXIT && gv->vcpu.exit_code == 0;
	}
	guest_print_stats(g);
	long code = g->vcpu.exit_code;
	guest_destroy(g);
	return s == STOP_EXIT && code == 0 && others_ok ? 0 : -EIO;
}
