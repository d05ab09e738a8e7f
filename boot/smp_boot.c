/*
 * Bring up every CPU the ACPI MADT lists (boot/acpi.c): a stack each from
 * the frame allocator, then INIT-SIPI-SIPI (arch/x86/smp.c). A CPU that does
 * not answer is named and left out; the others carry on.
 */
#include "boot/acpi.h"
#include "boot/bootinfo.h"
#include "boot/smp_boot.h"
#include "mm/mm.h"
#include "lib/lib.h"
#include "arch/x86/arch.h"

#define AP_STACK_ORDER 2 /* 16 KiB, as the boot stack */

static struct acpi_cpus madt;

unsigned smp_boot(const struct boot_info *bi)
{
	char err[200];
	unsigned next = 1;

	smp_init_bsp();
	nr_cpus_online = 1;
	int r = acpi_find_cpus(bi->rsdp, &madt, err, sizeof(err));
	if (r) {
		printk("smp: %s; running on the boot CPU only\n", err);
		return nr_cpus_online;
	}
	uint32_t self = this_cpu_local()->apic_id;
	for (unsigned i = 0; i < madt.n; i++) {
		uint32_t id = madt.cpu[i].apic_id;
		uint64_t stack;

		if (id == self)
			continue;
		if (next >= NR_CPUS) {
			printk("smp: CPU with APIC ID %u left out: minihv runs at most %u CPUs\n",
			       id, NR_CPUS);
			continue;
		}
		if (id > XAPIC_MAX_ID) {
			printk("smp: CPU with APIC ID %u left out: it needs x2APIC\n", id);
			continue;
		}
		if (frame_alloc(&phys_frames, AP_STACK_ORDER, &stack)) {
			printk("smp: no memory for the stack of APIC ID %u\n", id);
			break;
		}
		if (!smp_start_ap(next, id, stack + (PAGE_SIZE << AP_STACK_ORDER))) {
			printk("smp: CPU %u (APIC ID %u) did not come up; going on without it\n",
			       next, id);
			frame_free(&phys_frames, stack, AP_STACK_ORDER);
			continue;
		}
		next++;
		nr_cpus_online++;
	}
	pr_info("smp: %u of %u CPUs online (MADT: %u disabled, %u over the limit)\n",
		nr_cpus_online, madt.n, madt.skipped_disabled, madt.dropped_over_max);
	return nr_cpus_online;
}
