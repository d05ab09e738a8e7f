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
	int r = guest_create(g, "guest", (const void *)m->start, len, kopts.guest_mem, 0, 0, 0, err,
			     sizeof(err));
	if (r) {
		printk("minihv: cannot run the guest: %s\n", err);
		return r;
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
	guest_print_stats(g);
	long code = g->vcpu.exit_code;
	guest_destroy(g);
	return s == STOP_EXIT && code == 0 ? 0 : -EIO;
}
